/* rt_bf16.h -- bfloat16 storage on the host: conversion from fp32 with round-to-nearest-even and
 * back, bit for bit what CUDA's __float2bfloat16_rn / __bfloat162float do (NaN becomes the
 * canonical quiet NaN 0x7FFF, overflow rounds to infinity). The CPU backend stores every bf16
 * tensor as uint16_t and computes in fp32, so it is the specification of the CUDA backend.
 * Header-only (static inline), C17 and C++ (the .cu files include it for host code).
 */
#ifndef LLMCAL_RT_BF16_H
#define LLMCAL_RT_BF16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* fp32 -> bf16, round to nearest, ties to even (IEEE 754 roundTiesToEven on the top 16 bits) */
static inline uint16_t rt_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) {
        return 0x7FFFu; /* NaN */
    }
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* bf16 -> fp32 (exact) */
static inline float rt_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* the value fp32 x takes when stored in bf16 */
static inline float rt_bf16_round(float x)
{
    return rt_bf16_to_f32(rt_f32_to_bf16(x));
}

#endif /* LLMCAL_RT_BF16_H */
