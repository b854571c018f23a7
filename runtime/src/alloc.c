/* alloc.c -- accounted device allocation: every buffer the runtime makes is charged to one of the
 * estimator's memory groups (est_mem_group), so a run reports its high-water mark and the
 * breakdown at that mark in the same names as est_memory().
 *
 * Out of memory is an answer: a refused allocation (over opt.capacity_bytes, or the device said no)
 * fills diag with what was being allocated, its size, the bytes in use and the capacity.
 */
#include "rt_internal.h"

size_t rt_align_bytes(size_t bytes)
{
    return (bytes + RT_ALIGN_BYTES - 1) / RT_ALIGN_BYTES * RT_ALIGN_BYTES;
}

est_status rt_alloc(rt_rank *r, est_mem_group g, size_t bytes, const char *what, void **out,
                    est_diag *diag)
{
    *out = NULL;
    uint64_t cap = r->opt->capacity_bytes;
    if (cap > 0 && r->cur_total + bytes > cap) {
        r->oom = true;
        return EST_FAIL(diag, EST_ENOMEM,
                        "out of memory on rank %d: allocating %s (%zu bytes, %s) with %llu bytes "
                        "in use of %llu capacity",
                        r->rank, what, bytes, est_mem_group_name(g),
                        (unsigned long long)r->cur_total, (unsigned long long)cap);
    }
    void *p = r->be->dev_alloc(r, bytes);
    if (!p) {
        r->oom = true;
        return EST_FAIL(diag, EST_ENOMEM,
                        "out of memory on rank %d: the %s backend refused %s (%zu bytes, %s) with "
                        "%llu bytes in use",
                        r->rank, r->be->name, what, bytes, est_mem_group_name(g),
                        (unsigned long long)r->cur_total);
    }
    r->cur[g] += bytes;
    r->cur_total += bytes;
    if (r->cur[g] > r->gpeak[g]) {
        r->gpeak[g] = r->cur[g];
    }
    if (r->cur_total > r->peak_total) {
        r->peak_total = r->cur_total;
        for (int i = 0; i < EST_MEM_GROUP_COUNT; i++) {
            r->at_peak[i] = r->cur[i];
        }
        if (r->be->driver_used) {
            r->driver_used = r->be->driver_used(r);
        }
    }
    *out = p;
    return EST_OK;
}

void rt_free(rt_rank *r, est_mem_group g, void *p, size_t bytes)
{
    if (!p) {
        return;
    }
    r->be->dev_free(r, p);
    r->cur[g] -= bytes;
    r->cur_total -= bytes;
}
