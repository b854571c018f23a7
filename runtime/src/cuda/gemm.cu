/* gemm.cu -- the runtime's GEMMs on cuBLASLt: A/B/C in the compute type (bf16 or fp32), fp32
 * accumulation (CUBLAS_COMPUTE_32F, so no TF32 on the fp32 path), a 32 MiB workspace, the
 * heuristic's first algorithm cached per (transposes, shape, types, epilogue, beta) together with
 * its descriptors; forward GEMMs fuse the bias (CUBLASLT_EPILOGUE_BIAS). Weight gradients are
 * accumulated straight into the fp32 main-grad buffer (beta = 1, D fp32 with bf16 A/B: Megatron's
 * gradient-accumulation fusion). Bias gradients: a column-sum kernel into fp32.
 *
 * Row-major llm.c shapes on column-major cuBLAS (as llm.c's matmul_forward/backward):
 *   out (N, OC) = inp (N, C) w (OC, C)^T   ->  D(OC x N) = op_T(w)(OC x C) . inp(C x N)
 *   dinp (N, C) = dout (N, OC) w (OC, C)   ->  D(C x N)  = w(C x OC) . dout(OC x N)
 *   dw (OC, C) += dout^T inp               ->  D(C x OC) += inp(C x N) . op_T(dout)(N x OC)
 */
#include "cuda/cu_common.cuh"

static cudaDataType_t cty(rt_dtype t)
{
    return t == RT_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

static bool same_key(const cu_gemm_key *a, const cu_gemm_key *b)
{
    return a->ta == b->ta && a->tb == b->tb && a->m == b->m && a->n == b->n && a->k == b->k &&
           a->ab == b->ab && a->cd == b->cd && a->epi == b->epi && a->beta == b->beta;
}

static void entry_destroy(cu_gemm_entry *e)
{
    if (e->op) {
        cublasLtMatmulDescDestroy(e->op);
    }
    if (e->la) {
        cublasLtMatrixLayoutDestroy(e->la);
    }
    if (e->lb) {
        cublasLtMatrixLayoutDestroy(e->lb);
    }
    if (e->lc) {
        cublasLtMatrixLayoutDestroy(e->lc);
    }
    memset(e, 0, sizeof *e);
}

int cu_gemm_init(cu_ctx *c)
{
    cublasStatus_t s = cublasLtCreate(&c->lt);
    if (s != CUBLAS_STATUS_SUCCESS) {
        return (int)s;
    }
    if (cudaMalloc(&c->workspace, CU_WORKSPACE_BYTES) != cudaSuccess) {
        cudaGetLastError();
        return (int)CUBLAS_STATUS_ALLOC_FAILED;
    }
    c->ncache = 0;
    return 0;
}

void cu_gemm_destroy(cu_ctx *c)
{
    for (int i = 0; i < c->ncache; i++) {
        entry_destroy(&c->cache[i]);
    }
    c->ncache = 0;
    if (c->workspace) {
        cudaFree(c->workspace);
        c->workspace = NULL;
    }
    if (c->lt) {
        cublasLtDestroy(c->lt);
        c->lt = NULL;
    }
}

#define LT(call)                                                                                   \
    do {                                                                                           \
        cublasStatus_t s_ = (call);                                                                \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                         \
            entry_destroy(e);                                                                      \
            return (int)s_;                                                                        \
        }                                                                                          \
    } while (0)

/* builds the descriptors and picks the algorithm for key k into e */
static int plan(cu_ctx *c, const cu_gemm_key *k, cu_gemm_entry *e)
{
    memset(e, 0, sizeof *e);
    e->key = *k;
    cublasOperation_t ta = k->ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t tb = k->tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    LT(cublasLtMatmulDescCreate(&e->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    LT(cublasLtMatmulDescSetAttribute(e->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT(cublasLtMatmulDescSetAttribute(e->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    cublasLtEpilogue_t epi = k->epi ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    LT(cublasLtMatmulDescSetAttribute(e->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (k->epi) {
        cudaDataType_t bt = cty((rt_dtype)k->cd);
        LT(cublasLtMatmulDescSetAttribute(e->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt,
                                          sizeof bt));
    }
    cudaDataType_t ab = cty((rt_dtype)k->ab);
    cudaDataType_t cd = cty((rt_dtype)k->cd);
    /* lda/ldb/ldd are the leading dimensions of the stored (untransposed) matrices */
    int arows = k->ta ? k->k : k->m;
    int acols = k->ta ? k->m : k->k;
    int brows = k->tb ? k->n : k->k;
    int bcols = k->tb ? k->k : k->n;
    LT(cublasLtMatrixLayoutCreate(&e->la, ab, (uint64_t)arows, (uint64_t)acols, arows));
    LT(cublasLtMatrixLayoutCreate(&e->lb, ab, (uint64_t)brows, (uint64_t)bcols, brows));
    LT(cublasLtMatrixLayoutCreate(&e->lc, cd, (uint64_t)k->m, (uint64_t)k->n, k->m));
    cublasLtMatmulPreference_t pref = NULL;
    LT(cublasLtMatmulPreferenceCreate(&pref));
    size_t ws = CU_WORKSPACE_BYTES;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                         sizeof ws);
    cublasLtMatmulHeuristicResult_t res;
    int nres = 0;
    cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(c->lt, e->op, e->la, e->lb, e->lc, e->lc,
                                                      pref, 1, &res, &nres);
    cublasLtMatmulPreferenceDestroy(pref);
    if (s == CUBLAS_STATUS_SUCCESS && nres > 0) {
        e->algo = res.algo;
        e->has_algo = 1;
    }
    return 0;
}

int cu_gemm_raw(cu_ctx *c, rt_dtype ab, rt_dtype cd, int ta, int tb, int m, int n, int k,
                const void *A, int lda, const void *B, int ldb, void *D, int ldd, float beta,
                const void *bias)
{
    cu_gemm_key key = {ta, tb, m, n, k, (int)ab, (int)cd, bias != NULL, beta};
    (void)lda;
    (void)ldb;
    (void)ldd; /* packed: leading dimensions equal the stored rows (checked by the callers) */
    cu_gemm_entry *e = NULL;
    for (int i = 0; i < c->ncache; i++) {
        if (same_key(&c->cache[i].key, &key)) {
            e = &c->cache[i];
            break;
        }
    }
    cu_gemm_entry tmp;
    bool cached = true;
    if (!e) {
        if (c->ncache < CU_GEMM_CACHE) {
            e = &c->cache[c->ncache];
        } else {
            e = &tmp; /* cache full: plan, run, destroy */
            cached = false;
        }
        int st = plan(c, &key, e);
        if (st != 0) {
            return st;
        }
        if (cached) {
            c->ncache++;
        }
    }
    if (bias) {
        cublasLtMatmulDescSetAttribute(e->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                       sizeof bias);
    }
    float alpha = 1.0f;
    cublasStatus_t s = cublasLtMatmul(c->lt, e->op, &alpha, A, e->la, B, e->lb, &beta, D, e->lc,
                                      D, e->lc, e->has_algo ? &e->algo : NULL, c->workspace,
                                      CU_WORKSPACE_BYTES, c->s);
    if (!cached) {
        entry_destroy(e);
    }
    return s == CUBLAS_STATUS_SUCCESS ? 0 : (int)s;
}

static void gemm(rt_rank *r, rt_dtype cd, int ta, int tb, int m, int n, int k, const void *A,
                 const void *B, void *D, float beta, const void *bias)
{
    cu_ctx *c = CX(r);
    int st = cu_gemm_raw(c, r->adt, cd, ta, tb, m, n, k, A, ta ? k : m, B, tb ? n : k, D, m, beta,
                         bias);
    if (st != 0 && c->status == 0) {
        c->status = 1000 + st; /* cuBLAS status, offset from CUDA errors */
    }
}

/* db (OC) += column sums of dout (N, OC): a thread per column, rows strided (coalesced) */
template <typename T>
__global__ void k_colsum(float *db, const T *dout, int N, int OC)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= OC) {
        return;
    }
    float s = 0.0f;
    for (int n = 0; n < N; n++) {
        s += ld(dout, (size_t)n * OC + j);
    }
    db[j] += s;
}

extern "C" void cu_matmul_fwd(rt_rank *r, void *out, const void *inp, const void *w,
                              const void *bias, int N, int C, int OC)
{
    gemm(r, r->adt, 1, 0, OC, N, C, w, inp, out, 0.0f, bias);
}

extern "C" void cu_bias_grad(rt_rank *r, float *db, const void *dout, int N, int OC)
{
    CU_DISPATCH(r->adt, (k_colsum<T><<<nblocks((size_t)OC), 256, 0, CX(r)->s>>>(
                            db, (const T *)dout, N, OC)));
    check_launch(r);
}

extern "C" void cu_matmul_bwd(rt_rank *r, void *dinp, float *dw, float *db, const void *dout,
                              const void *inp, const void *w, int N, int C, int OC)
{
    if (dinp) {
        gemm(r, r->adt, 0, 0, C, N, OC, w, dout, dinp, 0.0f, NULL);
    }
    gemm(r, RT_F32, 0, 1, C, OC, N, inp, dout, dw, 1.0f, NULL);
    if (db) {
        cu_bias_grad(r, db, dout, N, OC);
    }
}
