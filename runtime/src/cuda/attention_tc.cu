/* attention_tc.cu -- causal GQA flash attention on bf16 tensor cores (FlashAttention-2, Dao 2023,
 * arXiv:2307.08691, Algorithms 1 and 2), forward and backward, for sm_80 and later: mma.sync
 * m16n8k16 bf16 with fp32 accumulation, ldmatrix for shared -> register loads, cp.async double
 * buffering, causal tile skipping, online softmax in registers with exp2 and log2(e) folded into
 * the score scale. Same layouts and contracts as attention.cu's fp32-FMA kernels (cu_ops.h):
 * qkv rows (B*T, (nq + 2 nkv) d) = [Q heads | K heads | V heads], out (B*T, nq d), lse (B, nq, T)
 * fp32 natural-log log-sum-exp of the scaled scores s = q.k / sqrt(d); query head h reads kv head
 * h / (nq / nkv). Head dims d = 16, 32, 64, 80, 96, 128 (multiples of 16: one k16 step of the MMA
 * per 16 columns, ldmatrix.x4 moves 16 columns).
 *
 * Fragment layouts (PTX ISA, "Matrix fragments for mma.m16n8k16" with .bf16, and "ldmatrix").
 * lane = threadIdx.x % 32, g = lane >> 2 (group), t = lane & 3 (thread in group). A register
 * holds two bf16, the lower column (or k) index in the low 16 bits.
 *   A (16 x 16, row-major, 4 regs): a0 = A[g][2t, 2t+1], a1 = A[g+8][2t, 2t+1],
 *                                   a2 = A[g][2t+8, 2t+9], a3 = A[g+8][2t+8, 2t+9]
 *   B (16 x 8, k x n, 2 regs):      b0 = B[2t, 2t+1][g], b1 = B[2t+8, 2t+9][g]
 *   C (16 x 8, fp32, 4 regs):       c0, c1 = C[g][2t, 2t+1], c2, c3 = C[g+8][2t, 2t+1]
 *   ldmatrix.x4: lanes 8i..8i+7 give the row addresses (16 contiguous bytes each) of 8x8 matrix i,
 *     register ri of every lane gets matrix i's M[g][2t, 2t+1]; with .trans it gets M[2t, 2t+1][g].
 * Consequences used below (row-major tiles X in shared memory, rows of d + 8 elements):
 *   - A from X (rows = M, cols = K): lane address X[r0 + (lane & 15)][k0 + (lane >> 4) * 8]:
 *     matrices 0..3 = (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15,
 *     k 8-15) = a0..a3.
 *   - B = X^T from X (rows = N, cols = K; e.g. K for S = Q K^T), two n8 tiles per ldmatrix:
 *     lane address X[n0 + (lane & 7) + (lane >> 4) * 8][k0 + ((lane >> 3) & 1) * 8]: r0, r1 =
 *     b0, b1 of the tile n0..n0+7, r2, r3 = b0, b1 of the tile n0+8..n0+15.
 *   - B = X from X (rows = K, cols = N; e.g. V for O = P V), ldmatrix .trans: lane address
 *     X[k0 + (lane & 15)][n0 + (lane >> 4) * 8] (the A pattern): r0, r1 = b0, b1 of the tile
 *     n0..n0+7, r2, r3 = b0, b1 of the tile n0+8..n0+15 (matrix 1 holds k 8-15 of columns n0..).
 *   - C -> A without shuffles: the accumulators of two adjacent n8 tiles 2c, 2c+1 of a 16-row
 *     result, rounded to bf16, are the A fragment of the k16 chunk c of the next product:
 *     a0 = (C_2c c0, c1), a1 = (C_2c c2, c3), a2 = (C_2c+1 c0, c1), a3 = (C_2c+1 c2, c3).
 * Rows padded to d + 8 elements (2d + 16 bytes) keep the 8 row addresses of one ldmatrix matrix
 * on 8 distinct 16-byte bank groups (no bank conflicts) and 16-byte aligned for cp.async.
 *
 * Forward (k_tc_fwd): a block per (64-query tile, head, batch), 4 warps x 16 query rows, K/V
 * tiles of 64 keys double-buffered with cp.async, only the tiles at or before the diagonal.
 * Backward, no atomics and no scratch buffer (the launcher has none), deterministic:
 *   0. k_tc_dot: D_t = dO_t . O_t (fp32) parked in the first 4 bytes of dQ's slot of dqkv;
 *   1. k_tc_dkv: a block per (64-key tile, kv head, batch), 4 warps x 16 keys, looping over the
 *      group's query heads and 32-query tiles at or after the key tile: S^T = K Q^T,
 *      dP^T = V dO^T, P^T = exp(S^T - lse), dS^T = P^T (dP^T - D), dV += P^T dO, dK += dS^T Q;
 *   2. k_tc_dq: a block per (64-query tile, head, batch), 4 warps x 16 queries, 32-key tiles:
 *      S = Q K^T, dP = dO V^T, dS = P (dP - D), dQ += dS K; reads its rows' D before overwriting
 *      the same slots with dQ (each (b, t, h) slot belongs to exactly one block).
 *   FA2 computes dQ in the key-major pass with fp32 atomics into a dQ accumulator (5 MMA products
 *   instead of our 7); that needs a B*T*nq*d fp32 workspace outside the rank's allocator, which
 *   the launcher contract does not have, and makes dQ's summation order nondeterministic. The
 *   separate pass also sums dK/dV over the GQA group in registers (no expanded dK/dV buffers).
 */
#include <stdint.h>

#include "cuda/attention_tc.cuh"
#include "cuda/cu_common.cuh"

#define TC_THREADS 128 /* 4 warps */
#define FW_BR      64  /* forward: queries per block (16 per warp) */
#define FW_BC      64  /* forward: keys per shared-memory tile */
#define DQ_BR      64  /* dQ pass: queries per block */
#define DQ_BC      32  /* dQ pass: keys per tile */
#define KV_BC      64  /* dK/dV pass: keys per block (16 per warp) */
#define KV_BR      32  /* dK/dV pass: queries per tile */
#define LOG2E      1.4426950408889634f
#define LN2        0.6931471805599453f

// ---------------------------------------------------------------------------
// PTX wrappers

__device__ __forceinline__ uint32_t smem_u32(const void *p)
{
    return (uint32_t)__cvta_generic_to_shared(p);
}

/* 16 bytes global -> shared, bypassing L1; zero-filled when !ok (src must still be valid) */
__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src, bool ok)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
                 "r"(ok ? 16 : 0)
                 : "memory");
}

/* 4 bytes global -> shared; zero-filled when !ok */
__device__ __forceinline__ void cp_async4(uint32_t dst, const void *src, bool ok)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src),
                 "r"(ok ? 4 : 0)
                 : "memory");
}

__device__ __forceinline__ void cp_commit(void)
{
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}

/* wait until at most N committed groups of this thread are still in flight */
template <int N> __device__ __forceinline__ void cp_wait(void)
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void ldsm_x4(uint32_t r[4], uint32_t addr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

__device__ __forceinline__ void ldsm_x4_t(uint32_t r[4], uint32_t addr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

/* c (16 x 8 fp32) += a (16 x 16 bf16) b (16 x 8 bf16) */
__device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, "
        "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* two fp32 -> bf16x2 (round to nearest even), lo in the low 16 bits */
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi)
{
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}

/* 2^x (MUFU, ~2 ulp); 2^-inf = 0 */
__device__ __forceinline__ float ex2(float x)
{
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

/* the A fragment of the k16 chunk c from the fp32 accumulators of n8 tiles 2c, 2c+1 */
__device__ __forceinline__ void c_to_a(uint32_t a[4], const float lo[4], const float hi[4])
{
    a[0] = pack_bf16(lo[0], lo[1]);
    a[1] = pack_bf16(lo[2], lo[3]);
    a[2] = pack_bf16(hi[0], hi[1]);
    a[3] = pack_bf16(hi[2], hi[3]);
}

/* lane address offsets (elements) into a tile of row stride S, see the header comment */
template <int S> __device__ __forceinline__ int off_a(int lane)
{
    return (lane & 15) * S + (lane >> 4) * 8; /* A, and B via .trans */
}

template <int S> __device__ __forceinline__ int off_bt(int lane)
{
    return ((lane & 7) + (lane >> 4) * 8) * S + ((lane >> 3) & 1) * 8; /* B = X^T */
}

/* rows [r0, r0 + R) of a bf16 matrix (row stride ld elements, D columns) into shared rows of
   D + 8 elements; rows at or past T_ zero-filled; all threads of the block take part */
template <int D, int R>
__device__ __forceinline__ void load_rows(bf16 *sm, const bf16 *g, size_t ld, int r0, int T_)
{
    constexpr int CH = D / 8; /* 16-byte chunks per row */
    for (int c = threadIdx.x; c < R * CH; c += TC_THREADS) {
        int r = c / CH;
        int k = c - r * CH;
        int row = r0 + r;
        bool ok = row < T_;
        cp_async16(smem_u32(sm + r * (D + 8) + k * 8), g + (size_t)(ok ? row : 0) * ld + k * 8, ok);
    }
}

/* p[0], p[1] = lo, hi rounded to bf16 (one 4-byte store) */
__device__ __forceinline__ void st_pair(bf16 *p, float lo, float hi)
{
    *reinterpret_cast<uint32_t *>(p) = pack_bf16(lo, hi);
}

template <int N> __device__ __forceinline__ void zero(float (&x)[N][4])
{
#pragma unroll
    for (int i = 0; i < N; i++) {
        x[i][0] = x[i][1] = x[i][2] = x[i][3] = 0.0f;
    }
}

// ---------------------------------------------------------------------------
// forward

template <int D>
__global__ void __launch_bounds__(TC_THREADS)
    k_tc_fwd(bf16 *out, float *lse, const bf16 *qkv, int T_, int nq, int nkv, float sl2)
{
    constexpr int S = D + 8;
    constexpr int KD = D / 16; /* k16 steps over the head dim */
    constexpr int ND = D / 8;  /* n8 tiles over the head dim */
    constexpr int NC = FW_BC / 8;
    extern __shared__ __align__(16) unsigned char tc_smem[];
    bf16 *Qs = reinterpret_cast<bf16 *>(tc_smem); /* [FW_BR][S] */
    bf16 *Ks = Qs + FW_BR * S;                    /* [2][FW_BC][S] */
    bf16 *Vs = Ks + 2 * FW_BC * S;                /* [2][FW_BC][S] */
    const int b = blockIdx.z;
    const int h = blockIdx.y;
    const int kh = h / (nq / nkv);
    const int q0 = (int)(gridDim.x - 1 - blockIdx.x) * FW_BR; /* longest rows first */
    const int warp = threadIdx.x >> 5;
    const int lane = threadIdx.x & 31;
    const int g = lane >> 2;
    const int t4 = lane & 3;
    const int rw = q0 + warp * 16; /* the warp's first query row */
    const size_t ld = (size_t)(nq + 2 * nkv) * D;
    const bf16 *base = qkv + (size_t)b * T_ * ld;
    const bf16 *Kg = base + (size_t)(nq + kh) * D;
    const bf16 *Vg = base + (size_t)(nq + nkv + kh) * D;
    const int nkb = (min(q0 + FW_BR, T_) - 1) / FW_BC + 1; /* causal: tiles up to the diagonal */

    load_rows<D, FW_BR>(Qs, base + (size_t)h * D, ld, q0, T_);
    load_rows<D, FW_BC>(Ks, Kg, ld, 0, T_);
    load_rows<D, FW_BC>(Vs, Vg, ld, 0, T_);
    cp_commit();

    uint32_t qf[KD][4];
    float o[ND][4];
    zero(o);
    float m[2] = {-INFINITY, -INFINITY}; /* running max of s * scale * log2(e), rows g, g + 8 */
    float l[2] = {0.0f, 0.0f};           /* this thread's part of the running sum */

    for (int j = 0; j < nkb; j++) {
        const int j0 = j * FW_BC;
        if (j + 1 < nkb) {
            int nb = (j + 1) & 1;
            load_rows<D, FW_BC>(Ks + nb * FW_BC * S, Kg, ld, j0 + FW_BC, T_);
            load_rows<D, FW_BC>(Vs + nb * FW_BC * S, Vg, ld, j0 + FW_BC, T_);
            cp_commit();
            cp_wait<1>();
        } else {
            cp_wait<0>();
        }
        __syncthreads();
        if (j == 0) {
#pragma unroll
            for (int kk = 0; kk < KD; kk++) {
                ldsm_x4(qf[kk], smem_u32(Qs + warp * 16 * S + kk * 16 + off_a<S>(lane)));
            }
        }
        const bf16 *Kb = Ks + (j & 1) * FW_BC * S;
        const bf16 *Vb = Vs + (j & 1) * FW_BC * S;
        /* 16-key chunks holding a key <= the warp's last row (the others are fully masked) */
        const int npmax = min(FW_BC / 16, (rw + 15 - j0) / 16 + 1);
        if (npmax > 0) {
            float s[NC][4];
            zero(s);
            /* S (16 x 64) = Q K^T: B = K^T, K rows are the n index */
#pragma unroll
            for (int kk = 0; kk < KD; kk++) {
#pragma unroll
                for (int np = 0; np < FW_BC / 16; np++) {
                    if (np < npmax) {
                        uint32_t kb[4];
                        ldsm_x4(kb, smem_u32(Kb + np * 16 * S + kk * 16 + off_bt<S>(lane)));
                        mma16816(s[2 * np], qf[kk], kb[0], kb[1]);
                        mma16816(s[2 * np + 1], qf[kk], kb[2], kb[3]);
                    }
                }
            }
            if (j0 + FW_BC - 1 > rw || j0 + FW_BC > T_) {
#pragma unroll
                for (int nt = 0; nt < NC; nt++) {
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        int col = j0 + nt * 8 + 2 * t4 + (e & 1);
                        int row = rw + g + (e >> 1) * 8;
                        if (col > row || col >= T_) {
                            s[nt][e] = -INFINITY;
                        }
                    }
                }
            }
            /* online softmax: new row max over the quad (the 4 lanes sharing rows g, g + 8) */
            float mx[2] = {m[0], m[1]};
#pragma unroll
            for (int nt = 0; nt < NC; nt++) {
                mx[0] = fmaxf(mx[0], fmaxf(s[nt][0], s[nt][1]) * sl2);
                mx[1] = fmaxf(mx[1], fmaxf(s[nt][2], s[nt][3]) * sl2);
            }
            float mb[2];
            float corr[2];
#pragma unroll
            for (int i = 0; i < 2; i++) {
                mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
                mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
                mb[i] = mx[i] == -INFINITY ? 0.0f : mx[i]; /* a row with no key yet */
                corr[i] = ex2(m[i] - mb[i]);
                m[i] = mx[i];
                l[i] *= corr[i];
            }
#pragma unroll
            for (int nt = 0; nt < NC; nt++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    s[nt][e] = ex2(fmaf(s[nt][e], sl2, -mb[e >> 1]));
                    l[e >> 1] += s[nt][e];
                }
            }
#pragma unroll
            for (int i = 0; i < ND; i++) {
                o[i][0] *= corr[0];
                o[i][1] *= corr[0];
                o[i][2] *= corr[1];
                o[i][3] *= corr[1];
            }
            /* O (16 x D) += P V: A = P from the accumulators, B = V via ldmatrix.trans */
#pragma unroll
            for (int kc = 0; kc < FW_BC / 16; kc++) {
                if (kc < npmax) {
                    uint32_t pa[4];
                    c_to_a(pa, s[2 * kc], s[2 * kc + 1]);
#pragma unroll
                    for (int dp = 0; dp < D / 16; dp++) {
                        uint32_t vb[4];
                        ldsm_x4_t(vb, smem_u32(Vb + kc * 16 * S + dp * 16 + off_a<S>(lane)));
                        mma16816(o[2 * dp], pa, vb[0], vb[1]);
                        mma16816(o[2 * dp + 1], pa, vb[2], vb[3]);
                    }
                }
            }
        }
        __syncthreads(); /* the next iteration's cp.async overwrites this buffer */
    }

#pragma unroll
    for (int i = 0; i < 2; i++) {
        l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
        l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
        int row = rw + g + i * 8;
        if (row >= T_) {
            continue;
        }
        float inv = 1.0f / l[i];
        bf16 *orow = out + ((size_t)b * T_ + row) * (size_t)(nq * D) + (size_t)h * D + 2 * t4;
#pragma unroll
        for (int dt = 0; dt < ND; dt++) {
            st_pair(orow + dt * 8, o[dt][2 * i] * inv, o[dt][2 * i + 1] * inv);
        }
        if (t4 == 0) {
            lse[((size_t)b * nq + h) * T_ + row] = m[i] * LN2 + logf(l[i]);
        }
    }
}

// ---------------------------------------------------------------------------
// backward, step 0: D_t = dO_t . O_t into the first 4 bytes of dQ's slot (overwritten by step 2)

template <int D>
__global__ void k_tc_dot(bf16 *dqkv, const bf16 *dout, const bf16 *out, size_t BT, int nq, int nkv)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= BT * (size_t)nq) {
        return;
    }
    size_t row = i / (size_t)nq;
    int h = (int)(i - row * (size_t)nq);
    size_t off = row * (size_t)(nq * D) + (size_t)h * D;
    const uint4 *a = reinterpret_cast<const uint4 *>(dout + off);
    const uint4 *c = reinterpret_cast<const uint4 *>(out + off);
    float s = 0.0f;
#pragma unroll
    for (int k = 0; k < D / 8; k++) {
        uint4 x = a[k];
        uint4 y = c[k];
        uint32_t xs[4] = {x.x, x.y, x.z, x.w};
        uint32_t ys[4] = {y.x, y.y, y.z, y.w};
#pragma unroll
        for (int e = 0; e < 4; e++) {
            s += __uint_as_float(xs[e] << 16) * __uint_as_float(ys[e] << 16);
            s += __uint_as_float(xs[e] & 0xffff0000u) * __uint_as_float(ys[e] & 0xffff0000u);
        }
    }
    *reinterpret_cast<float *>(dqkv + row * (size_t)((nq + 2 * nkv) * D) + (size_t)h * D) = s;
}

// ---------------------------------------------------------------------------
// backward, step 1: dK, dV (key-major, summed over the group's query heads in registers)

template <int D>
__global__ void __launch_bounds__(TC_THREADS)
    k_tc_dkv(bf16 *dqkv, const bf16 *dout, const bf16 *qkv, const float *lse, int T_, int nq,
             int nkv, float sl2, float scale)
{
    constexpr int S = D + 8;
    constexpr int KD = D / 16;
    constexpr int ND = D / 8;
    constexpr int NC = KV_BR / 8;
    extern __shared__ __align__(16) unsigned char tc_smem[];
    bf16 *Ks = reinterpret_cast<bf16 *>(tc_smem);              /* [KV_BC][S] */
    bf16 *Vs = Ks + KV_BC * S;                                 /* [KV_BC][S] */
    bf16 *Qs = Vs + KV_BC * S;                                 /* [2][KV_BR][S] */
    bf16 *Os = Qs + 2 * KV_BR * S;                             /* dO: [2][KV_BR][S] */
    float *Ls = reinterpret_cast<float *>(Os + 2 * KV_BR * S); /* [2][KV_BR] lse */
    float *Ds = Ls + 2 * KV_BR;                                /* [2][KV_BR] D */
    const int b = blockIdx.z;
    const int kh = blockIdx.y;
    const int grp = nq / nkv;
    const int j0 = blockIdx.x * KV_BC; /* block 0 has the most query tiles: first */
    const int warp = threadIdx.x >> 5;
    const int lane = threadIdx.x & 31;
    const int g = lane >> 2;
    const int t4 = lane & 3;
    const int kw = j0 + warp * 16; /* the warp's first key */
    const size_t ld = (size_t)(nq + 2 * nkv) * D;
    const size_t ldo = (size_t)nq * D;
    const bf16 *base = qkv + (size_t)b * T_ * ld;
    const bf16 *obase = dout + (size_t)b * T_ * ldo;
    const bf16 *dbase = dqkv + (size_t)b * T_ * ld;
    const int ntile = (T_ - j0 + KV_BR - 1) / KV_BR; /* query tiles from j0 on, per head */
    const int total = grp * ntile;

    load_rows<D, KV_BC>(Ks, base + (size_t)(nq + kh) * D, ld, j0, T_);
    load_rows<D, KV_BC>(Vs, base + (size_t)(nq + nkv + kh) * D, ld, j0, T_);
    auto load_tile = [&](int it, int buf) {
        int h = kh * grp + it / ntile;
        int q0 = j0 + (it % ntile) * KV_BR;
        load_rows<D, KV_BR>(Qs + buf * KV_BR * S, base + (size_t)h * D, ld, q0, T_);
        load_rows<D, KV_BR>(Os + buf * KV_BR * S, obase + (size_t)h * D, ldo, q0, T_);
        int i = threadIdx.x & (KV_BR - 1);
        int q = q0 + i;
        bool ok = q < T_;
        if (threadIdx.x < KV_BR) {
            cp_async4(smem_u32(Ls + buf * KV_BR + i),
                      lse + ((size_t)b * nq + h) * T_ + (ok ? q : 0), ok);
        } else if (threadIdx.x < 2 * KV_BR) {
            cp_async4(smem_u32(Ds + buf * KV_BR + i), dbase + (size_t)(ok ? q : 0) * ld + h * D,
                      ok);
        }
    };
    load_tile(0, 0);
    cp_commit();

    float dk[ND][4];
    float dv[ND][4];
    zero(dk);
    zero(dv);
    for (int it = 0; it < total; it++) {
        if (it + 1 < total) {
            load_tile(it + 1, (it + 1) & 1);
            cp_commit();
            cp_wait<1>();
        } else {
            cp_wait<0>();
        }
        __syncthreads();
        const int buf = it & 1;
        const int q0 = j0 + (it % ntile) * KV_BR;
        const bf16 *Qb = Qs + buf * KV_BR * S;
        const bf16 *Ob = Os + buf * KV_BR * S;
        if (q0 + KV_BR - 1 >= kw) { /* else every query of the tile precedes the warp's keys */
            float st[NC][4];
            float dp[NC][4];
            zero(st);
            zero(dp);
            /* S^T (16 keys x 32 queries) = K Q^T, dP^T = V dO^T: A = the warp's K / V rows,
               B = Q^T / dO^T (query rows are the n index) */
#pragma unroll
            for (int kk = 0; kk < KD; kk++) {
                uint32_t ka[4];
                uint32_t va[4];
                ldsm_x4(ka, smem_u32(Ks + warp * 16 * S + kk * 16 + off_a<S>(lane)));
                ldsm_x4(va, smem_u32(Vs + warp * 16 * S + kk * 16 + off_a<S>(lane)));
#pragma unroll
                for (int np = 0; np < KV_BR / 16; np++) {
                    uint32_t qb[4];
                    uint32_t ob[4];
                    ldsm_x4(qb, smem_u32(Qb + np * 16 * S + kk * 16 + off_bt<S>(lane)));
                    ldsm_x4(ob, smem_u32(Ob + np * 16 * S + kk * 16 + off_bt<S>(lane)));
                    mma16816(st[2 * np], ka, qb[0], qb[1]);
                    mma16816(st[2 * np + 1], ka, qb[2], qb[3]);
                    mma16816(dp[2 * np], va, ob[0], ob[1]);
                    mma16816(dp[2 * np + 1], va, ob[2], ob[3]);
                }
            }
            /* P^T = exp(S^T scale - lse[query]); dS^T = P^T (dP^T - D[query]) */
            const bool mask = q0 < kw + 15 || q0 + KV_BR > T_;
            const float *Lb = Ls + buf * KV_BR;
            const float *Db = Ds + buf * KV_BR;
#pragma unroll
            for (int nt = 0; nt < NC; nt++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    int c = nt * 8 + 2 * t4 + (e & 1);
                    int key = kw + g + (e >> 1) * 8;
                    float p = ex2(fmaf(st[nt][e], sl2, -Lb[c] * LOG2E));
                    if (mask && (q0 + c < key || q0 + c >= T_)) {
                        p = 0.0f;
                    }
                    st[nt][e] = p;
                    dp[nt][e] = p * (dp[nt][e] - Db[c]);
                }
            }
            /* dV += P^T dO, dK += dS^T Q: A from the accumulators (k = query), B = dO / Q via
               ldmatrix.trans (query rows are the k index) */
#pragma unroll
            for (int kc = 0; kc < KV_BR / 16; kc++) {
                uint32_t pa[4];
                uint32_t sa[4];
                c_to_a(pa, st[2 * kc], st[2 * kc + 1]);
                c_to_a(sa, dp[2 * kc], dp[2 * kc + 1]);
#pragma unroll
                for (int dd = 0; dd < D / 16; dd++) {
                    uint32_t ob[4];
                    uint32_t qb[4];
                    ldsm_x4_t(ob, smem_u32(Ob + kc * 16 * S + dd * 16 + off_a<S>(lane)));
                    ldsm_x4_t(qb, smem_u32(Qb + kc * 16 * S + dd * 16 + off_a<S>(lane)));
                    mma16816(dv[2 * dd], pa, ob[0], ob[1]);
                    mma16816(dv[2 * dd + 1], pa, ob[2], ob[3]);
                    mma16816(dk[2 * dd], sa, qb[0], qb[1]);
                    mma16816(dk[2 * dd + 1], sa, qb[2], qb[3]);
                }
            }
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 2; i++) {
        int key = kw + g + i * 8;
        if (key >= T_) {
            continue;
        }
        bf16 *r = dqkv + ((size_t)b * T_ + key) * ld + 2 * t4;
#pragma unroll
        for (int dt = 0; dt < ND; dt++) {
            st_pair(r + (size_t)(nq + kh) * D + dt * 8, dk[dt][2 * i] * scale,
                    dk[dt][2 * i + 1] * scale);
            st_pair(r + (size_t)(nq + nkv + kh) * D + dt * 8, dv[dt][2 * i], dv[dt][2 * i + 1]);
        }
    }
}

// ---------------------------------------------------------------------------
// backward, step 2: dQ (query-major)

template <int D>
__global__ void __launch_bounds__(TC_THREADS)
    k_tc_dq(bf16 *dqkv, const bf16 *dout, const bf16 *qkv, const float *lse, int T_, int nq,
            int nkv, float sl2, float scale)
{
    constexpr int S = D + 8;
    constexpr int KD = D / 16;
    constexpr int ND = D / 8;
    constexpr int NC = DQ_BC / 8;
    extern __shared__ __align__(16) unsigned char tc_smem[];
    bf16 *Qs = reinterpret_cast<bf16 *>(tc_smem); /* [DQ_BR][S] */
    bf16 *Os = Qs + DQ_BR * S;                    /* dO: [DQ_BR][S] */
    bf16 *Ks = Os + DQ_BR * S;                    /* [2][DQ_BC][S] */
    bf16 *Vs = Ks + 2 * DQ_BC * S;                /* [2][DQ_BC][S] */
    const int b = blockIdx.z;
    const int h = blockIdx.y;
    const int kh = h / (nq / nkv);
    const int q0 = (int)(gridDim.x - 1 - blockIdx.x) * DQ_BR;
    const int warp = threadIdx.x >> 5;
    const int lane = threadIdx.x & 31;
    const int g = lane >> 2;
    const int t4 = lane & 3;
    const int rw = q0 + warp * 16;
    const size_t ld = (size_t)(nq + 2 * nkv) * D;
    const size_t ldo = (size_t)nq * D;
    const bf16 *base = qkv + (size_t)b * T_ * ld;
    const bf16 *Kg = base + (size_t)(nq + kh) * D;
    const bf16 *Vg = base + (size_t)(nq + nkv + kh) * D;
    const int nkb = (min(q0 + DQ_BR, T_) - 1) / DQ_BC + 1;

    load_rows<D, DQ_BR>(Qs, base + (size_t)h * D, ld, q0, T_);
    load_rows<D, DQ_BR>(Os, dout + (size_t)b * T_ * ldo + (size_t)h * D, ldo, q0, T_);
    load_rows<D, DQ_BC>(Ks, Kg, ld, 0, T_);
    load_rows<D, DQ_BC>(Vs, Vg, ld, 0, T_);
    cp_commit();

    /* this thread's rows g, g + 8: lse in log2 units, and D (step 0 parked it in dQ's slot, which
       only this block overwrites, after the loop's barriers) */
    float L2[2];
    float Dr[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        int row = rw + g + i * 8;
        bool ok = row < T_;
        size_t r = (size_t)b * T_ + (ok ? row : 0);
        L2[i] = ok ? lse[((size_t)b * nq + h) * T_ + row] * LOG2E : 0.0f;
        Dr[i] = ok ? *reinterpret_cast<const float *>(dqkv + r * ld + (size_t)h * D) : 0.0f;
    }
    uint32_t qf[KD][4];
    uint32_t of[KD][4];
    float dq[ND][4];
    zero(dq);
    for (int j = 0; j < nkb; j++) {
        const int j0 = j * DQ_BC;
        if (j + 1 < nkb) {
            int nb = (j + 1) & 1;
            load_rows<D, DQ_BC>(Ks + nb * DQ_BC * S, Kg, ld, j0 + DQ_BC, T_);
            load_rows<D, DQ_BC>(Vs + nb * DQ_BC * S, Vg, ld, j0 + DQ_BC, T_);
            cp_commit();
            cp_wait<1>();
        } else {
            cp_wait<0>();
        }
        __syncthreads();
        if (j == 0) {
#pragma unroll
            for (int kk = 0; kk < KD; kk++) {
                ldsm_x4(qf[kk], smem_u32(Qs + warp * 16 * S + kk * 16 + off_a<S>(lane)));
                ldsm_x4(of[kk], smem_u32(Os + warp * 16 * S + kk * 16 + off_a<S>(lane)));
            }
        }
        const bf16 *Kb = Ks + (j & 1) * DQ_BC * S;
        const bf16 *Vb = Vs + (j & 1) * DQ_BC * S;
        if (j0 <= rw + 15) { /* else every key of the tile follows the warp's rows */
            float s[NC][4];
            float dp[NC][4];
            zero(s);
            zero(dp);
            /* S = Q K^T, dP = dO V^T: B = K^T / V^T (key rows are the n index) */
#pragma unroll
            for (int kk = 0; kk < KD; kk++) {
#pragma unroll
                for (int np = 0; np < DQ_BC / 16; np++) {
                    uint32_t kb[4];
                    uint32_t vb[4];
                    ldsm_x4(kb, smem_u32(Kb + np * 16 * S + kk * 16 + off_bt<S>(lane)));
                    ldsm_x4(vb, smem_u32(Vb + np * 16 * S + kk * 16 + off_bt<S>(lane)));
                    mma16816(s[2 * np], qf[kk], kb[0], kb[1]);
                    mma16816(s[2 * np + 1], qf[kk], kb[2], kb[3]);
                    mma16816(dp[2 * np], of[kk], vb[0], vb[1]);
                    mma16816(dp[2 * np + 1], of[kk], vb[2], vb[3]);
                }
            }
            const bool mask = j0 + DQ_BC - 1 > rw || j0 + DQ_BC > T_;
#pragma unroll
            for (int nt = 0; nt < NC; nt++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    int col = j0 + nt * 8 + 2 * t4 + (e & 1);
                    int row = rw + g + (e >> 1) * 8;
                    float p = ex2(fmaf(s[nt][e], sl2, -L2[e >> 1]));
                    if (mask && (col > row || col >= T_)) {
                        p = 0.0f;
                    }
                    dp[nt][e] = p * (dp[nt][e] - Dr[e >> 1]);
                }
            }
            /* dQ += dS K: A = dS from the accumulators (k = key), B = K via ldmatrix.trans */
#pragma unroll
            for (int kc = 0; kc < DQ_BC / 16; kc++) {
                uint32_t sa[4];
                c_to_a(sa, dp[2 * kc], dp[2 * kc + 1]);
#pragma unroll
                for (int dd = 0; dd < D / 16; dd++) {
                    uint32_t kb[4];
                    ldsm_x4_t(kb, smem_u32(Kb + kc * 16 * S + dd * 16 + off_a<S>(lane)));
                    mma16816(dq[2 * dd], sa, kb[0], kb[1]);
                    mma16816(dq[2 * dd + 1], sa, kb[2], kb[3]);
                }
            }
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 2; i++) {
        int row = rw + g + i * 8;
        if (row >= T_) {
            continue;
        }
        bf16 *r = dqkv + ((size_t)b * T_ + row) * ld + (size_t)h * D + 2 * t4;
#pragma unroll
        for (int dt = 0; dt < ND; dt++) {
            st_pair(r + dt * 8, dq[dt][2 * i] * scale, dq[dt][2 * i + 1] * scale);
        }
    }
}

// ---------------------------------------------------------------------------
// launchers

#define TC_HEAD_DIMS(X) X(16) X(32) X(64) X(80) X(96) X(128)

#define TC_MAX_DEV 64 /* devices whose opt-in is remembered (more: set at every launch) */

/* dynamic shared memory above 48 KiB needs the opt-in, per kernel and per device; done once per
   (kernel, device); the flags are atomic (rank threads may share a device in shard mode).
   <D, W> names the kernel (W: 0 forward, 1 dK/dV, 2 dQ; the pointer types alone coincide). */
template <int D, int W, typename K> static cudaError_t smem_optin(K kernel, size_t bytes)
{
    static int done[TC_MAX_DEV];
    int dev = 0;
    if (bytes <= 48u * 1024u) {
        return cudaSuccess;
    }
    cudaError_t e = cudaGetDevice(&dev);
    if (e == cudaSuccess && dev >= 0 && dev < TC_MAX_DEV &&
        __atomic_load_n(&done[dev], __ATOMIC_ACQUIRE)) {
        return cudaSuccess;
    }
    e = e != cudaSuccess
            ? e
            : cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    if (e == cudaSuccess && dev >= 0 && dev < TC_MAX_DEV) {
        __atomic_store_n(&done[dev], 1, __ATOMIC_RELEASE);
    }
    return e;
}

template <int D>
static int tc_fwd(cudaStream_t s, bf16 *out, float *lse, const bf16 *qkv, int B, int T_, int nq,
                  int nkv)
{
    size_t smem = (size_t)(FW_BR + 4 * FW_BC) * (D + 8) * sizeof(bf16);
    cudaError_t e = smem_optin<D, 0>(k_tc_fwd<D>, smem);
    if (e != cudaSuccess) {
        return (int)e;
    }
    float sl2 = LOG2E / sqrtf((float)D);
    dim3 grid((unsigned)((T_ + FW_BR - 1) / FW_BR), (unsigned)nq, (unsigned)B);
    k_tc_fwd<D><<<grid, TC_THREADS, smem, s>>>(out, lse, qkv, T_, nq, nkv, sl2);
    return (int)cudaGetLastError();
}

template <int D>
static int tc_bwd(cudaStream_t s, bf16 *dqkv, const bf16 *dout, const bf16 *qkv, const bf16 *out,
                  const float *lse, int B, int T_, int nq, int nkv)
{
    size_t skv = (size_t)(2 * KV_BC + 4 * KV_BR) * (D + 8) * sizeof(bf16) + 4 * KV_BR * 4;
    size_t sq = (size_t)(2 * DQ_BR + 4 * DQ_BC) * (D + 8) * sizeof(bf16);
    cudaError_t e = smem_optin<D, 1>(k_tc_dkv<D>, skv);
    if (e == cudaSuccess) {
        e = smem_optin<D, 2>(k_tc_dq<D>, sq);
    }
    if (e != cudaSuccess) {
        return (int)e;
    }
    float scale = 1.0f / sqrtf((float)D);
    float sl2 = scale * LOG2E;
    size_t rows = (size_t)B * T_ * nq;
    k_tc_dot<D><<<nblocks(rows), 256, 0, s>>>(dqkv, dout, out, (size_t)B * T_, nq, nkv);
    dim3 gk((unsigned)((T_ + KV_BC - 1) / KV_BC), (unsigned)nkv, (unsigned)B);
    k_tc_dkv<D><<<gk, TC_THREADS, skv, s>>>(dqkv, dout, qkv, lse, T_, nq, nkv, sl2, scale);
    dim3 gq((unsigned)((T_ + DQ_BR - 1) / DQ_BR), (unsigned)nq, (unsigned)B);
    k_tc_dq<D><<<gq, TC_THREADS, sq, s>>>(dqkv, dout, qkv, lse, T_, nq, nkv, sl2, scale);
    return (int)cudaGetLastError();
}

extern "C" int cu_attn_tc_supported(int d)
{
    switch (d) {
#define CASE(DD) case DD:
        TC_HEAD_DIMS(CASE)
#undef CASE
        return 1;
    default: return 0;
    }
}

extern "C" int cu_attn_tc_fwd(cudaStream_t s, void *out, float *lse, const void *qkv, int B, int T,
                              int nq, int nkv, int d)
{
    if (B <= 0 || T <= 0) {
        return 0;
    }
    switch (d) {
#define CASE(DD)                                                                                   \
    case DD: return tc_fwd<DD>(s, (bf16 *)out, lse, (const bf16 *)qkv, B, T, nq, nkv);
        TC_HEAD_DIMS(CASE)
#undef CASE
    default: return (int)cudaErrorInvalidValue;
    }
}

extern "C" int cu_attn_tc_bwd(cudaStream_t s, void *dqkv, const void *dout, const void *qkv,
                              const void *out, const float *lse, int B, int T, int nq, int nkv,
                              int d)
{
    if (B <= 0 || T <= 0) {
        return 0;
    }
    switch (d) {
#define CASE(DD)                                                                                   \
    case DD:                                                                                       \
        return tc_bwd<DD>(s, (bf16 *)dqkv, (const bf16 *)dout, (const bf16 *)qkv,                  \
                          (const bf16 *)out, lse, B, T, nq, nkv);
        TC_HEAD_DIMS(CASE)
#undef CASE
    default: return (int)cudaErrorInvalidValue;
    }
}
