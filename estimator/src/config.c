/* config.c -- defaults, validation and resolution of the estimator's configuration, parameter
 * counts of a model, and the pipeline stage split.
 *
 * Validation names the field and the reason, because that line is what a user sees.
 * Parameter counts follow the Hugging Face module definitions (modeling_llama.py, modeling_gpt2.py,
 * modeling_mixtral.py, modeling_qwen2_moe.py); docs/formulas.md#parameters derives them.
 */
#include "est/config.h"

#include <math.h>
#include <string.h>

// ---------------------------------------------------------------------------
// names

static const char *const precision_names[] = {"fp32", "bf16-mixed", "fp16-mixed", "bf16",
                                              "fp8-mixed"};
static const char *const framework_names[] = {"megatron", "deepspeed", "fsdp", "pytorch"};
static const char *const recompute_names[] = {"none", "selective", "full"};
static const char *const attention_names[] = {"flash", "standard"};
static const char *const optimizer_names[] = {"adamw", "adam", "sgd", "adafactor", "adam8bit"};
static const char *const optimizer_impl_names[] = {"foreach", "fused", "forloop"};
static const char *const finetune_names[] = {"full", "lora", "qlora"};
static const char *const fsdp_names[] = {"none", "full", "hybrid", "grad-op"};

static const char *name_of(const char *const *names, int n, int v)
{
    return (v >= 0 && v < n) ? names[v] : "?";
}

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        char cb = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;
        if (ca == '_') {
            ca = '-';
        }
        if (cb == '_') {
            cb = '-';
        }
        if (ca != cb) {
            return 0;
        }
    }
    return *a == *b;
}

static int parse_of(const char *const *names, int n, const char *s)
{
    if (s == NULL) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (ieq(names[i], s)) {
            return i;
        }
    }
    return -1;
}

#define NAMES_N(arr) ((int)(sizeof(arr) / sizeof((arr)[0])))

const char *est_precision_name(est_precision p)
{
    return name_of(precision_names, NAMES_N(precision_names), (int)p);
}
const char *est_framework_name(est_framework f)
{
    return name_of(framework_names, NAMES_N(framework_names), (int)f);
}
const char *est_recompute_name(est_recompute r)
{
    return name_of(recompute_names, NAMES_N(recompute_names), (int)r);
}
const char *est_attention_name(est_attention a)
{
    return name_of(attention_names, NAMES_N(attention_names), (int)a);
}
const char *est_optimizer_name(est_optimizer o)
{
    return name_of(optimizer_names, NAMES_N(optimizer_names), (int)o);
}
const char *est_optimizer_impl_name(est_optimizer_impl o)
{
    return name_of(optimizer_impl_names, NAMES_N(optimizer_impl_names), (int)o);
}
const char *est_finetune_name(est_finetune f)
{
    return name_of(finetune_names, NAMES_N(finetune_names), (int)f);
}
const char *est_fsdp_name(est_fsdp f)
{
    return name_of(fsdp_names, NAMES_N(fsdp_names), (int)f);
}
int est_precision_parse(const char *s)
{
    return parse_of(precision_names, NAMES_N(precision_names), s);
}
int est_framework_parse(const char *s)
{
    return parse_of(framework_names, NAMES_N(framework_names), s);
}
int est_recompute_parse(const char *s)
{
    return parse_of(recompute_names, NAMES_N(recompute_names), s);
}
int est_attention_parse(const char *s)
{
    return parse_of(attention_names, NAMES_N(attention_names), s);
}
int est_optimizer_parse(const char *s)
{
    return parse_of(optimizer_names, NAMES_N(optimizer_names), s);
}
int est_optimizer_impl_parse(const char *s)
{
    return parse_of(optimizer_impl_names, NAMES_N(optimizer_impl_names), s);
}
int est_finetune_parse(const char *s)
{
    return parse_of(finetune_names, NAMES_N(finetune_names), s);
}
int est_fsdp_parse(const char *s)
{
    return parse_of(fsdp_names, NAMES_N(fsdp_names), s);
}

// ---------------------------------------------------------------------------
// defaults

est_parallel est_parallel_default(void)
{
    est_parallel p;
    memset(&p, 0, sizeof p);
    p.gpus = 8;
    p.tp = 1;
    p.pp = 1;
    p.vpp = 1;
    p.cp = 1;
    p.ep = 1;
    p.dp = 0;
    p.zero = 0;
    p.fsdp = EST_FSDP_NONE;
    p.mbs = 1;
    p.gbs = 0;
    p.seq = 2048;
    p.recompute = EST_RECOMPUTE_NONE;
    p.attention = EST_ATTN_FLASH;
    p.precision = EST_PREC_BF16_MIXED;
    p.framework = EST_FW_MEGATRON;
    p.optimizer = EST_OPT_ADAMW;
    p.optimizer_impl = EST_OPTIMPL_FOREACH;
    p.finetune = EST_FT_FULL;
    p.lora_rank = 16;
    p.lora_targets = EST_LORA_Q | EST_LORA_K | EST_LORA_V | EST_LORA_O;
    p.overlap_grad_reduce = true;
    p.overlap_param_gather = true;
    p.dropout = -1;
    return p;
}

est_cluster est_cluster_for_gpu(const est_gpu *gpu)
{
    est_cluster c;
    memset(&c, 0, sizeof c);
    memcpy(c.name, "default", sizeof "default");
    size_t n = strnlen(gpu->name, sizeof c.gpu - 1);
    memcpy(c.gpu, gpu->name, n);
    c.gpu[n] = '\0';
    c.gpus_per_node = 8;
    c.nodes = 0;
    c.intra_bytes_per_s = isnan(gpu->nvlink_bytes_per_s) || gpu->nvlink_bytes_per_s <= 0
                              ? gpu->pcie_bytes_per_s
                              : gpu->nvlink_bytes_per_s;
    c.intra_latency_s = 3e-6; /* NCCL intra-node step latency, order of nccl-tests small sizes */
    c.nics_per_node = 8;
    c.nic_bytes_per_s = 50e9;   /* 400 Gb/s InfiniBand NDR per NIC */
    c.inter_bytes_per_s = 50e9; /* one NIC per GPU */
    c.inter_latency_s = 10e-6;
    return c;
}

// ---------------------------------------------------------------------------
// parameter counts

static int64_t norm_params(const est_model *m)
{
    return m->norm == EST_NORM_LAYERNORM ? 2 * m->hidden : m->hidden;
}

static int64_t mlp_params(const est_model *m, int64_t f, bool bias)
{
    bool gated = m->act != EST_ACT_GELU;
    int64_t w = (gated ? 3 : 2) * m->hidden * f;
    int64_t b = bias ? (gated ? 2 * f + m->hidden : f + m->hidden) : 0;
    return w + b;
}

/* number of i in [lo, hi) that are MoE layers: i >= first_dense and (i + 1) % every == 0 */
static int64_t moe_layers_in(const est_model *m, int64_t lo, int64_t hi)
{
    if (m->experts <= 0 || hi <= lo) {
        return 0;
    }
    int64_t every = m->moe_every > 0 ? m->moe_every : 1;
    int64_t a = lo > m->moe_first_dense ? lo : m->moe_first_dense;
    if (a >= hi) {
        return 0;
    }
    return hi / every - a / every;
}

void est_model_params(const est_model *m, est_param_counts *out)
{
    memset(out, 0, sizeof *out);
    int64_t h = m->hidden;
    int64_t qd = m->heads * m->head_dim;
    int64_t kvd = m->kv_heads * m->head_dim;
    out->embedding = m->vocab * h + (m->pos == EST_POS_LEARNED ? m->max_positions * h : 0);
    out->lm_head = m->tied_embeddings ? 0 : m->vocab * h;
    out->final_norm = norm_params(m);
    out->attn_per_layer = h * qd + 2 * h * kvd + qd * h + (m->qkv_bias ? qd + 2 * kvd : 0) +
                          (m->out_bias ? h : 0) + (m->qk_norm ? 2 * m->head_dim : 0);
    out->norm_per_layer = 2 * norm_params(m);
    out->dense_mlp = mlp_params(m, m->ffn, m->mlp_bias);
    if (m->experts > 0) {
        out->expert = mlp_params(m, m->moe_ffn, m->mlp_bias);
        int64_t shared = m->shared_experts * mlp_params(m, m->shared_ffn, m->mlp_bias) +
                         (m->shared_expert_gate ? h : 0);
        int64_t router = h * m->experts;
        out->moe_mlp = router + m->experts * out->expert + shared;
        out->moe_active_mlp = router + m->top_k * out->expert + shared;
    }
    out->moe_layers = moe_layers_in(m, 0, m->layers);
    out->dense_layers = m->layers - out->moe_layers;
    int64_t per_layer_common = out->attn_per_layer + out->norm_per_layer;
    int64_t body = m->layers * per_layer_common + out->dense_layers * out->dense_mlp +
                   out->moe_layers * out->moe_mlp;
    int64_t body_active = m->layers * per_layer_common + out->dense_layers * out->dense_mlp +
                          out->moe_layers * out->moe_active_mlp;
    out->total = out->embedding + out->lm_head + out->final_norm + body;
    out->active = out->embedding + out->lm_head + out->final_norm + body_active;
    out->non_embedding = out->total - out->embedding - out->lm_head;
}

int64_t est_lora_params_per_layer(const est_model *m, int64_t r, unsigned tg)
{
    int64_t h = m->hidden;
    int64_t qd = m->heads * m->head_dim;
    int64_t kvd = m->kv_heads * m->head_dim;
    int64_t f = m->ffn;
    int64_t l = 0;
    l += (tg & EST_LORA_Q) ? r * (h + qd) : 0;
    l += (tg & EST_LORA_K) ? r * (h + kvd) : 0;
    l += (tg & EST_LORA_V) ? r * (h + kvd) : 0;
    l += (tg & EST_LORA_O) ? r * (qd + h) : 0;
    l += ((tg & EST_LORA_GATE) && m->act != EST_ACT_GELU) ? r * (h + f) : 0;
    l += (tg & EST_LORA_UP) ? r * (h + f) : 0;
    l += (tg & EST_LORA_DOWN) ? r * (f + h) : 0;
    return l;
}

static void llama_shape(est_model *m, int64_t h, int64_t layers)
{
    memset(m, 0, sizeof *m);
    m->hidden = h;
    m->layers = layers;
    m->head_dim = 128;
    m->heads = h / 128;
    m->kv_heads = 8;
    while (m->heads % m->kv_heads != 0) { /* the largest of 8, 4, 2, 1 dividing the heads */
        m->kv_heads /= 2;
    }
    m->ffn = ((h * 7 / 2) + 255) / 256 * 256;
    m->vocab = 128256;
    m->norm = EST_NORM_RMSNORM;
    m->act = EST_ACT_SWIGLU;
    m->pos = EST_POS_ROPE;
}

est_status est_model_scaled(double params, est_model *out, est_diag *diag)
{
    if (!(params >= 1e8) || !(params <= 5e13)) {
        return EST_FAIL(diag, EST_ERANGE, "params: %g outside the planned range 1e8..5e13", params);
    }
    double best_err = -1.0;
    est_model best;
    memset(&best, 0, sizeof best);
    for (int64_t h = 512; h <= 65536; h += 512) {
        est_model m;
        llama_shape(&m, h, 1);
        est_param_counts one;
        est_model_params(&m, &one);
        llama_shape(&m, h, 2);
        est_param_counts two;
        est_model_params(&m, &two);
        double per_layer = (double)(two.total - one.total);
        double base = (double)one.total - per_layer;
        double layers = floor((params - base) / per_layer + 0.5);
        if (layers < 2.0 || layers > 100000.0) {
            continue;
        }
        /* keep near the Llama aspect of about 128 hidden units per layer (small models are
           deeper: GPT-2 small has 64) */
        double aspect = (double)h / layers;
        if (aspect < 48.0 || aspect > 512.0) {
            continue;
        }
        double err =
            fabs(base + layers * per_layer - params) / params + 0.02 * fabs(log(aspect / 128.0));
        if (best_err < 0.0 || err < best_err) {
            best_err = err;
            llama_shape(&best, h, (int64_t)layers);
        }
    }
    if (best_err < 0.0) {
        return EST_FAIL(diag, EST_ERANGE, "params: no Llama-style shape of %g parameters", params);
    }
    *out = best;
    memcpy(out->name, "planned-llama", sizeof "planned-llama");
    out->params_stated = 0.0;
    return EST_OK;
}

// ---------------------------------------------------------------------------
// validation

/* a positive field within [1, max] */
static est_status check_range(const char *field, int64_t v, int64_t max, est_diag *diag)
{
    if (v <= 0) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %lld must be positive", field, (long long)v);
    }
    if (v > max) {
        return EST_FAIL(diag, EST_ERANGE, "%s: %lld is beyond the modelled range (max %lld)", field,
                        (long long)v, (long long)max);
    }
    return EST_OK;
}

est_status est_model_validate(const est_model *m, est_diag *diag)
{
    /* ranges: far beyond any published model, small enough that every byte product in the
       memory model fits in 64 bits (checked there too) */
    EST_TRY(check_range("model.hidden", m->hidden, 1 << 20, diag));
    EST_TRY(check_range("model.layers", m->layers, 100000, diag));
    EST_TRY(check_range("model.heads", m->heads, 1 << 16, diag));
    EST_TRY(check_range("model.kv_heads", m->kv_heads, 1 << 16, diag));
    EST_TRY(check_range("model.head_dim", m->head_dim, 1 << 16, diag));
    EST_TRY(check_range("model.ffn", m->ffn, 1 << 24, diag));
    EST_TRY(check_range("model.vocab", m->vocab, 1 << 26, diag));
    if (m->heads % m->kv_heads != 0) {
        return EST_FAIL(diag, EST_EINVAL, "model.kv_heads: %lld does not divide heads=%lld",
                        (long long)m->kv_heads, (long long)m->heads);
    }
    if (m->pos == EST_POS_LEARNED) {
        EST_TRY(check_range("model.max_positions", m->max_positions, 1 << 24, diag));
    } else if (m->max_positions < 0) {
        return EST_FAIL(diag, EST_EINVAL, "model.max_positions: %lld must not be negative",
                        (long long)m->max_positions);
    }
    if (m->experts < 0 || m->top_k < 0 || m->moe_ffn < 0 || m->shared_experts < 0 ||
        m->shared_ffn < 0 || m->moe_first_dense < 0 || m->moe_every < 0) {
        return EST_FAIL(diag, EST_EINVAL, "model: MoE fields must not be negative");
    }
    if (m->experts > 0) {
        EST_TRY(check_range("model.experts", m->experts, 1 << 16, diag));
        EST_TRY(check_range("model.top_k", m->top_k, m->experts, diag));
        EST_TRY(check_range("model.moe_ffn", m->moe_ffn, 1 << 24, diag));
        if (m->shared_experts > 0) {
            EST_TRY(check_range("model.shared_ffn", m->shared_ffn, 1 << 24, diag));
        }
        if (m->moe_first_dense >= m->layers) {
            return EST_FAIL(diag, EST_EINVAL,
                            "model.moe_first_dense: %lld leaves no MoE layer of %lld",
                            (long long)m->moe_first_dense, (long long)m->layers);
        }
    }
    /* the whole model, counted in doubles so that no 64-bit product can overflow first: far
       beyond any model (1e15 parameters), and what keeps est_model_params' integers exact */
    double h = (double)m->hidden;
    double per_layer = 4.0 * h * (double)(m->heads * m->head_dim) + 3.0 * h * (double)m->ffn +
                       (double)m->experts * 3.0 * h * (double)m->moe_ffn +
                       (double)m->shared_experts * 3.0 * h * (double)m->shared_ffn;
    double total = (double)m->layers * per_layer + 2.0 * h * (double)m->vocab;
    if (total > 1e15) {
        return EST_FAIL(diag, EST_ERANGE,
                        "model: about %g parameters is beyond the modelled range (1e15)", total);
    }
    return EST_OK;
}

static bool bad_rate(double v)
{
    return !(v > 0.0) || isinf(v);
}

est_status est_gpu_validate(const est_gpu *g, est_diag *diag)
{
    if (g->memory_bytes == 0) {
        return EST_FAIL(diag, EST_EINVAL, "gpu.memory: must be positive");
    }
    if (g->memory_bytes > (UINT64_C(1) << 46)) {
        return EST_FAIL(diag, EST_ERANGE, "gpu.memory: beyond the modelled range (64 TiB)");
    }
    if (bad_rate(g->peak_flop_per_s[EST_DT_BF16]) && bad_rate(g->peak_flop_per_s[EST_DT_FP16])) {
        return EST_FAIL(diag, EST_EINVAL, "gpu.peak_tflops: bf16 or fp16 peak is required");
    }
    if (bad_rate(g->hbm_bytes_per_s)) {
        return EST_FAIL(diag, EST_EINVAL, "gpu.hbm_bandwidth: must be positive");
    }
    if (bad_rate(g->pcie_bytes_per_s)) {
        return EST_FAIL(diag, EST_EINVAL, "gpu.pcie_bandwidth: must be positive");
    }
    if (g->reserved_bytes >= g->memory_bytes) {
        return EST_FAIL(diag, EST_EINVAL, "gpu.reserved: not smaller than memory");
    }
    return EST_OK;
}

est_status est_cluster_validate(const est_cluster *c, est_diag *diag)
{
    if (c->gpus_per_node <= 0 || c->gpus_per_node > 1024) {
        return EST_FAIL(diag, EST_EINVAL, "cluster.gpus_per_node: %d must be in 1..1024",
                        c->gpus_per_node);
    }
    if (c->nodes < 0) {
        return EST_FAIL(diag, EST_EINVAL, "cluster.nodes: %d must not be negative", c->nodes);
    }
    if (bad_rate(c->intra_bytes_per_s)) {
        return EST_FAIL(diag, EST_EINVAL, "cluster.intra_bandwidth: must be positive");
    }
    if (bad_rate(c->inter_bytes_per_s)) {
        return EST_FAIL(diag, EST_EINVAL, "cluster.inter_bandwidth: must be positive");
    }
    if (!(c->intra_latency_s >= 0) || !(c->inter_latency_s >= 0)) {
        return EST_FAIL(diag, EST_EINVAL, "cluster latency: must not be negative");
    }
    return EST_OK;
}

static est_status check_layers_split(const est_config *cfg, est_diag *diag)
{
    const est_parallel *p = &cfg->par;
    int64_t L = cfg->model->layers;
    int64_t first = p->first_stage_layers;
    int64_t last = p->last_stage_layers;
    if (first < 0 || last < 0) {
        return EST_FAIL(diag, EST_EINVAL, "first/last_stage_layers: must not be negative");
    }
    if (p->pp == 1) {
        if (first != 0 || last != 0) {
            return EST_FAIL(diag, EST_EINVAL,
                            "first/last_stage_layers: only meaningful with pp > 1 (pp=1)");
        }
        return EST_OK;
    }
    if (first == 0 && last == 0) {
        if (L % p->pp != 0) {
            return EST_FAIL(diag, EST_EINVAL,
                            "layers: %lld cannot be split evenly over pp=%d; set "
                            "--decoder-first-pipeline-num-layers and/or "
                            "--decoder-last-pipeline-num-layers",
                            (long long)L, p->pp);
        }
    } else {
        int64_t rest_stages = p->pp - (first ? 1 : 0) - (last ? 1 : 0);
        int64_t rest = L - first - last;
        if (rest < 0 || (rest_stages == 0 && rest != 0) ||
            (rest_stages > 0 && (rest <= 0 || rest % rest_stages != 0))) {
            return EST_FAIL(diag, EST_EINVAL,
                            "layers: %lld minus first=%lld and last=%lld cannot be split evenly "
                            "over the other %lld stages",
                            (long long)L, (long long)first, (long long)last,
                            (long long)rest_stages);
        }
    }
    for (int st = 0; st < p->pp; st += (p->pp > 2 ? p->pp - 2 : 1)) {
        int64_t n = est_stage_layers(cfg, st);
        if (n <= 0) {
            return EST_FAIL(diag, EST_EINVAL, "layers: pipeline stage %d would hold no layer", st);
        }
        if (n % p->vpp != 0) {
            return EST_FAIL(diag, EST_EINVAL,
                            "vpp: %d does not divide the %lld layers of pipeline stage %d", p->vpp,
                            (long long)n, st);
        }
        if (st == p->pp - 1) {
            break;
        }
    }
    int64_t nl = est_stage_layers(cfg, p->pp - 1);
    if (nl % p->vpp != 0) {
        return EST_FAIL(diag, EST_EINVAL,
                        "vpp: %d does not divide the %lld layers of the last pipeline stage",
                        p->vpp, (long long)nl);
    }
    return EST_OK;
}

int64_t est_stage_layers(const est_config *cfg, int stage)
{
    const est_parallel *p = &cfg->par;
    int64_t L = cfg->model->layers;
    if (p->pp <= 1) {
        return L;
    }
    int64_t first = p->first_stage_layers;
    int64_t last = p->last_stage_layers;
    if (first == 0 && last == 0) {
        return L / p->pp;
    }
    int64_t rest_stages = p->pp - (first ? 1 : 0) - (last ? 1 : 0);
    int64_t mid = rest_stages > 0 ? (L - first - last) / rest_stages : 0;
    if (stage == 0) {
        return first ? first : mid;
    }
    if (stage == p->pp - 1) {
        return last ? last : mid;
    }
    return mid;
}

est_status est_config_resolve(est_config *cfg, est_diag *diag)
{
    if (cfg == NULL || cfg->model == NULL || cfg->gpu == NULL || cfg->cluster == NULL) {
        return EST_FAIL(diag, EST_EINVAL, "config: model, gpu and cluster are required");
    }
    EST_TRY(est_model_validate(cfg->model, diag));
    EST_TRY(est_gpu_validate(cfg->gpu, diag));
    EST_TRY(est_cluster_validate(cfg->cluster, diag));
    est_parallel p = cfg->par;
    const est_model *m = cfg->model;
    EST_TRY(check_range("gpus", p.gpus, INT64_C(1) << 24, diag));
    EST_TRY(check_range("tp", p.tp, 1024, diag));
    EST_TRY(check_range("pp", p.pp, LLMCAL_MAX_STAGES, diag));
    EST_TRY(check_range("vpp", p.vpp, LLMCAL_MAX_STAGES, diag));
    EST_TRY(check_range("cp", p.cp, 1 << 16, diag));
    EST_TRY(check_range("ep", p.ep, 1 << 16, diag));
    EST_TRY(check_range("mbs", p.mbs, 1 << 20, diag));
    EST_TRY(check_range("seq", p.seq, INT64_C(1) << 26, diag));
    if (p.gbs < 0) {
        return EST_FAIL(diag, EST_EINVAL, "gbs: %lld must not be negative", (long long)p.gbs);
    }
    if ((int)p.precision < 0 || p.precision >= EST_PREC_COUNT || (int)p.framework < 0 ||
        p.framework >= EST_FW_COUNT || (int)p.recompute < 0 || p.recompute >= EST_RECOMPUTE_COUNT ||
        (int)p.attention < 0 || p.attention >= EST_ATTN_COUNT || (int)p.optimizer < 0 ||
        p.optimizer >= EST_OPT_COUNT || (int)p.optimizer_impl < 0 ||
        p.optimizer_impl >= EST_OPTIMPL_COUNT || (int)p.finetune < 0 ||
        p.finetune >= EST_FT_COUNT) {
        return EST_FAIL(diag, EST_EINVAL, "config: an enumerated option is out of range");
    }
    if (m->heads % p.tp != 0) {
        return EST_FAIL(diag, EST_EINVAL, "tp: %d does not divide heads=%lld", p.tp,
                        (long long)m->heads);
    }
    if (m->kv_heads % p.tp != 0) {
        return EST_FAIL(diag, EST_EINVAL,
                        "tp: %d does not divide kv_heads=%lld (Megatron needs num-query-groups "
                        "divisible by tp)",
                        p.tp, (long long)m->kv_heads);
    }
    if (m->ffn % p.tp != 0) {
        return EST_FAIL(diag, EST_EINVAL, "tp: %d does not divide ffn=%lld", p.tp,
                        (long long)m->ffn);
    }
    if (m->experts > 0 && m->moe_ffn % p.tp != 0) {
        return EST_FAIL(diag, EST_EINVAL, "tp: %d does not divide moe_ffn=%lld", p.tp,
                        (long long)m->moe_ffn);
    }
    int64_t tpc = (int64_t)p.tp * p.pp * p.cp;
    if (tpc > p.gpus || p.gpus % tpc != 0) {
        return EST_FAIL(diag, EST_EINVAL, "gpus: %lld not divisible by tp*pp*cp=%lld",
                        (long long)p.gpus, (long long)tpc);
    }
    int64_t dp = p.gpus / tpc;
    if (dp > (1 << 24)) {
        return EST_FAIL(diag, EST_ERANGE, "dp: %lld beyond the modelled range", (long long)dp);
    }
    p.dp = (int)dp;
    if (p.vpp > 1 && p.pp == 1) {
        return EST_FAIL(diag, EST_EINVAL, "vpp: %d needs pp > 1", p.vpp);
    }
    if (p.seq % p.cp != 0 || (p.cp > 1 && p.seq % (2 * p.cp) != 0)) {
        return EST_FAIL(diag, EST_EINVAL,
                        "seq: %lld not divisible by 2*cp=%d (context parallel load balancing)",
                        (long long)p.seq, 2 * p.cp);
    }
    if (p.framework == EST_FW_FSDP && p.tp > 1) {
        p.sp = true; /* torchtitan's TP plan shards norms and block inputs by sequence */
    }
    if (p.sp && p.tp > 1 && (p.seq / p.cp) % p.tp != 0) {
        return EST_FAIL(diag, EST_EINVAL, "seq: %lld/cp not divisible by tp=%d (sequence parallel)",
                        (long long)p.seq, p.tp);
    }
    if (p.tp == 1) {
        p.sp = false;
    }
    if (p.ep > 1) {
        if (m->experts == 0) {
            return EST_FAIL(diag, EST_EINVAL, "ep: %d needs a MoE model (%s is dense)", p.ep,
                            m->name);
        }
        if (m->experts % p.ep != 0) {
            return EST_FAIL(diag, EST_EINVAL, "ep: %d does not divide experts=%lld", p.ep,
                            (long long)m->experts);
        }
        if (((int64_t)p.dp * p.cp) % p.ep != 0) {
            return EST_FAIL(diag, EST_EINVAL, "ep: %d does not divide dp*cp=%lld", p.ep,
                            (long long)p.dp * p.cp);
        }
    }
    if (p.gbs == 0) {
        p.gbs = p.mbs * p.dp;
    }
    if (p.gbs % (p.mbs * p.dp) != 0) {
        return EST_FAIL(diag, EST_EINVAL, "gbs: %lld not divisible by mbs*dp=%lld",
                        (long long)p.gbs, (long long)(p.mbs * p.dp));
    }
    if (p.vpp > 1 && (p.gbs / (p.mbs * p.dp)) % p.pp != 0) {
        return EST_FAIL(diag, EST_EINVAL,
                        "gbs: the interleaved schedule (vpp=%d) needs the micro-batch count "
                        "gbs/(mbs*dp)=%lld divisible by pp=%d (Megatron-Core schedules)",
                        p.vpp, (long long)(p.gbs / (p.mbs * p.dp)), p.pp);
    }
    if (p.framework == EST_FW_MEGATRON && p.ep > 1 && p.tp > 1 && !p.sp) {
        return EST_FAIL(diag, EST_EINVAL,
                        "sp: Megatron-Core needs sequence parallelism with expert and tensor "
                        "parallelism (ep=%d, tp=%d)",
                        p.ep, p.tp);
    }
    if (p.zero < 0 || p.zero > 3) {
        return EST_FAIL(diag, EST_EINVAL, "zero: %d must be 0..3", p.zero);
    }
    switch (p.framework) {
    case EST_FW_MEGATRON:
        if (p.zero > 1) {
            return EST_FAIL(diag, EST_EINVAL,
                            "zero: %d not available with framework megatron (0, or 1 = "
                            "--use-distributed-optimizer)",
                            p.zero);
        }
        if (p.fsdp != EST_FSDP_NONE) {
            return EST_FAIL(diag, EST_EINVAL, "fsdp: needs framework fsdp");
        }
        break;
    case EST_FW_DEEPSPEED:
        if (p.fsdp != EST_FSDP_NONE) {
            return EST_FAIL(diag, EST_EINVAL, "fsdp: needs framework fsdp");
        }
        if (p.zero >= 2 && p.pp > 1) {
            return EST_FAIL(diag, EST_EINVAL,
                            "zero: DeepSpeed's pipeline engine allows ZeRO 0 or 1 only (zero=%d "
                            "with pp=%d)",
                            p.zero, p.pp);
        }
        break;
    case EST_FW_FSDP:
        if (p.zero != 0) {
            return EST_FAIL(diag, EST_EINVAL,
                            "zero: framework fsdp shards by --fsdp full|hybrid|grad-op, not zero");
        }
        if (p.fsdp == EST_FSDP_NONE) {
            p.fsdp = EST_FSDP_FULL;
        }
        break;
    case EST_FW_PYTORCH:
        if (p.zero != 0 || p.fsdp != EST_FSDP_NONE) {
            return EST_FAIL(diag, EST_EINVAL,
                            "zero/fsdp: framework pytorch is plain eager (DDP); use deepspeed or "
                            "fsdp for sharding");
        }
        if (p.tp > 1 || p.pp > 1 || p.cp > 1 || p.ep > 1) {
            return EST_FAIL(diag, EST_EINVAL,
                            "framework pytorch: models data parallelism only (tp=pp=cp=ep=1)");
        }
        break;
    default: break;
    }
    if (p.fsdp == EST_FSDP_HYBRID) {
        if (p.fsdp_shard_size == 0) {
            /* one node's data-parallel ranks: its GPUs over the TP and CP ranks they hold */
            int64_t per_node = cfg->cluster->gpus_per_node / ((int64_t)p.tp * p.cp);
            p.fsdp_shard_size = per_node > 1 ? (int)per_node : 1;
        }
        if (p.fsdp_shard_size > p.dp) {
            p.fsdp_shard_size = p.dp;
        }
        if (p.fsdp_shard_size <= 0 || p.dp % p.fsdp_shard_size != 0) {
            return EST_FAIL(diag, EST_EINVAL, "fsdp_shard_size: %d does not divide dp=%d",
                            p.fsdp_shard_size, p.dp);
        }
    }
    if (p.recompute_layers < 0) {
        return EST_FAIL(diag, EST_EINVAL, "recompute_layers: must not be negative");
    }
    if (p.finetune != EST_FT_FULL) {
        EST_TRY(check_range("lora_rank", p.lora_rank, 1 << 16, diag));
        if ((p.lora_targets & EST_LORA_ALL) == 0) {
            return EST_FAIL(diag, EST_EINVAL, "lora_targets: no target module selected");
        }
    }
    /* Megatron (TE/apex FusedAdam) and DeepSpeed (FusedAdam) step with fused multi-tensor
       kernels; the foreach/forloop choice is torch.optim's */
    if (p.framework == EST_FW_MEGATRON || p.framework == EST_FW_DEEPSPEED) {
        p.optimizer_impl = EST_OPTIMPL_FUSED;
    }
    /* fp32 gradients unless pure bf16: megatron's main_grad buffer is fp32 for 16-bit training
       (--accumulate-allreduce-grads-in-fp32 is the bf16 default), FSDP2 reduces into fp32 sharded
       grads (MixedPrecisionPolicy reduce_dtype), autocast keeps fp32 params hence fp32 grads */
    p.grads_fp32 = p.precision != EST_PREC_BF16;
    if (p.framework == EST_FW_MEGATRON && p.precision == EST_PREC_FP16_MIXED) {
        /* Megatron turns --accumulate-allreduce-grads-in-fp32 on only for --bf16
           (arguments.py); fp16 training keeps an fp16 grad buffer */
        p.grads_fp32 = false;
    }
    if (p.vocab_divisor < 0 || p.vocab_divisor > (1 << 20)) {
        return EST_FAIL(diag, EST_EINVAL, "vocab_divisor: %lld must be in 0..%d",
                        (long long)p.vocab_divisor, 1 << 20);
    }
    if (p.vocab_divisor == 0) {
        p.vocab_divisor = p.framework == EST_FW_MEGATRON ? 128 : 1;
    }
    if (p.dropout < 0) {
        p.dropout = m->pos == EST_POS_LEARNED ? 1 : 0;
    } else if (p.dropout > 1) {
        return EST_FAIL(diag, EST_EINVAL, "dropout: %d must be -1 (auto), 0 or 1", p.dropout);
    }
    est_config tmp = *cfg;
    tmp.par = p;
    EST_TRY(check_layers_split(&tmp, diag));
    int64_t per_stage_max = est_stage_layers(&tmp, 0);
    for (int st = 1; st < p.pp; st += (p.pp > 2 ? p.pp - 2 : 1)) {
        int64_t n = est_stage_layers(&tmp, st);
        per_stage_max = n > per_stage_max ? n : per_stage_max;
    }
    /* N counts per virtual chunk; a stage with fewer layers recomputes all of its own */
    if (p.recompute_layers > per_stage_max / p.vpp) {
        return EST_FAIL(diag, EST_EINVAL,
                        "recompute_layers: %lld exceeds the %lld layers of a stage's virtual chunk",
                        (long long)p.recompute_layers, (long long)(per_stage_max / p.vpp));
    }
    cfg->par = p;
    return EST_OK;
}
