/* opts.c -- shared command-line flags (Megatron's vocabulary) -> a resolved est_config.
 *
 * Each flag has a short llmcal name and, where Megatron-LM has one, Megatron's long name as an
 * alias (--tp / --tensor-model-parallel-size). Values are checked whole: "8x" is an error naming
 * --tp.
 */
#include "opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cal/profile.h"
#include "prof/prof.h"

void cli_setup_init(cli_setup *s)
{
    memset(s, 0, sizeof *s);
    strcpy(s->model_arg, "llama-3-70b");
    s->cfg.par = est_parallel_default();
    s->cfg.par.gpus = 64;
    s->cfg.par.seq = 8192;
}

int cli_parse_i64(const char *flag, const char *v, long long min, long long max, long long *out,
                  est_diag *diag)
{
    if (v == NULL) {
        EST_FAIL(diag, EST_EINVAL, "%s: needs a value", flag);
        return -1;
    }
    errno = 0;
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end != '\0') {
        EST_FAIL(diag, EST_EINVAL, "%s: '%s' is not an integer", flag, v);
        return -1;
    }
    if (errno == ERANGE || x < min || x > max) {
        EST_FAIL(diag, EST_ERANGE, "%s: %s is outside %lld..%lld", flag, v, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

int cli_parse_f64(const char *flag, const char *v, double min, double max, double *out,
                  est_diag *diag)
{
    if (v == NULL) {
        EST_FAIL(diag, EST_EINVAL, "%s: needs a value", flag);
        return -1;
    }
    errno = 0;
    char *end = NULL;
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || x != x) {
        EST_FAIL(diag, EST_EINVAL, "%s: '%s' is not a number", flag, v);
        return -1;
    }
    if (errno == ERANGE || x < min || x > max) {
        EST_FAIL(diag, EST_ERANGE, "%s: %s is outside %g..%g", flag, v, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

static int copy_arg(char *dst, size_t cap, const char *flag, const char *v, est_diag *diag)
{
    if (v == NULL) {
        EST_FAIL(diag, EST_EINVAL, "%s: needs a value", flag);
        return -1;
    }
    if (strlen(v) >= cap) {
        EST_FAIL(diag, EST_ERANGE, "%s: value longer than %zu characters", flag, cap - 1);
        return -1;
    }
    strcpy(dst, v);
    return 0;
}

/* flag table: names (llmcal, then Megatron aliases), kind and target */
typedef enum { F_INT, F_BOOL, F_ENUM, F_STR } flag_kind;
typedef enum {
    T_MODEL,
    T_GPU,
    T_CLUSTER,
    T_GPUS,
    T_TP,
    T_PP,
    T_VPP,
    T_CP,
    T_EP,
    T_SP,
    T_NO_SP,
    T_ZERO,
    T_DISTOPT,
    T_FSDP,
    T_FSDP_SHARD,
    T_MBS,
    T_GBS,
    T_SEQ,
    T_RECOMPUTE,
    T_RECOMPUTE_LAYERS,
    T_ATTN,
    T_PREC,
    T_FRAMEWORK,
    T_OPT,
    T_OPT_IMPL,
    T_FINETUNE,
    T_LORA_RANK,
    T_LORA_TARGETS,
    T_FIRST,
    T_LAST,
    T_DROPOUT,
    T_NO_DROPOUT,
    T_NO_OVERLAP,
    T_JSON,
    T_NODES,
    T_CALIB,
    T_ORDER,
    T_TP_OVERLAP,
    T_VOCAB_DIV
} flag_target;

typedef struct flag_def {
    const char *names[3];
    flag_kind kind;
    flag_target target;
    long long min;
    long long max;
    const char *help;
} flag_def;

static const flag_def flags[] = {
    {{"--model", NULL, NULL},
     F_STR,
     T_MODEL,
     0,
     0,
     "built-in name or a Hugging Face config.json / llmcal model JSON"},
    {{"--gpu", NULL, NULL}, F_STR, T_GPU, 0, 0, "built-in GPU name or GPU JSON (default h100-sxm)"},
    {{"--calibration", NULL, NULL},
     F_STR,
     T_CALIB,
     0,
     0,
     "calibrated profile (name under profiles/calibrated/ or a file) for the time model"},
    {{"--cluster", NULL, NULL},
     F_STR,
     T_CLUSTER,
     0,
     0,
     "built-in cluster name or JSON (default: 8 GPUs per node, 400 Gb/s per GPU)"},
    {{"--gpus", "--num-gpus", NULL}, F_INT, T_GPUS, 1, 1 << 24, "total GPUs N"},
    {{"--nodes", NULL, NULL}, F_INT, T_NODES, 1, 1 << 20, "nodes (GPUs = nodes x GPUs per node)"},
    {{"--tp", "--tensor-model-parallel-size", NULL}, F_INT, T_TP, 1, 1024, "tensor parallel t"},
    {{"--pp", "--pipeline-model-parallel-size", NULL},
     F_INT,
     T_PP,
     1,
     LLMCAL_MAX_STAGES,
     "pipeline stages p"},
    {{"--vpp", "--virtual-pipeline-model-parallel-size", NULL},
     F_INT,
     T_VPP,
     1,
     LLMCAL_MAX_STAGES,
     "virtual stages per rank (interleaved 1F1B)"},
    {{"--cp", "--context-parallel-size", NULL}, F_INT, T_CP, 1, 1 << 16, "context parallel c"},
    {{"--ep", "--expert-model-parallel-size", NULL},
     F_INT,
     T_EP,
     1,
     1 << 16,
     "expert parallel e (MoE)"},
    {{"--sp", "--sequence-parallel", NULL}, F_BOOL, T_SP, 0, 0, "sequence parallel (with tp > 1)"},
    {{"--no-sp", NULL, NULL}, F_BOOL, T_NO_SP, 0, 0, "no sequence parallel"},
    {{"--zero", "--zero-stage", NULL}, F_INT, T_ZERO, 0, 3, "ZeRO stage 0..3"},
    {{"--use-distributed-optimizer", NULL, NULL},
     F_BOOL,
     T_DISTOPT,
     0,
     0,
     "Megatron distributed optimizer (= --zero 1)"},
    {{"--fsdp", NULL, NULL}, F_ENUM, T_FSDP, 0, 0, "none|full|hybrid|grad-op (framework fsdp)"},
    {{"--fsdp-shard-size", NULL, NULL},
     F_INT,
     T_FSDP_SHARD,
     1,
     1 << 24,
     "HYBRID_SHARD group size (default GPUs per node)"},
    {{"--mbs", "--micro-batch-size", NULL}, F_INT, T_MBS, 1, 1 << 20, "micro-batch b (sequences)"},
    {{"--gbs", "--global-batch-size", NULL},
     F_INT,
     T_GBS,
     1,
     1LL << 40,
     "global batch (sequences; > mbs*dp means gradient accumulation)"},
    {{"--seq", "--seq-length", NULL}, F_INT, T_SEQ, 1, 1LL << 26, "sequence length s"},
    {{"--recompute", "--recompute-granularity", NULL},
     F_ENUM,
     T_RECOMPUTE,
     0,
     0,
     "none|selective|full"},
    {{"--recompute-num-layers", NULL, NULL},
     F_INT,
     T_RECOMPUTE_LAYERS,
     0,
     1 << 20,
     "full recompute: layers per stage (0 = all)"},
    {{"--attention", NULL, NULL}, F_ENUM, T_ATTN, 0, 0, "flash|standard"},
    {{"--precision", NULL, NULL},
     F_ENUM,
     T_PREC,
     0,
     0,
     "fp32|bf16-mixed|fp16-mixed|bf16|fp8-mixed"},
    {{"--framework", NULL, NULL}, F_ENUM, T_FRAMEWORK, 0, 0, "megatron|deepspeed|fsdp|pytorch"},
    {{"--optimizer", NULL, NULL}, F_ENUM, T_OPT, 0, 0, "adamw|adam|sgd|adafactor|adam8bit"},
    {{"--optimizer-impl", NULL, NULL},
     F_ENUM,
     T_OPT_IMPL,
     0,
     0,
     "foreach|fused|forloop (torch.optim)"},
    {{"--finetune", NULL, NULL}, F_ENUM, T_FINETUNE, 0, 0, "full|lora|qlora"},
    {{"--lora-rank", NULL, NULL}, F_INT, T_LORA_RANK, 1, 1 << 16, "LoRA rank r"},
    {{"--lora-targets", NULL, NULL},
     F_STR,
     T_LORA_TARGETS,
     0,
     0,
     "comma list of q,k,v,o,gate,up,down or all"},
    {{"--decoder-first-pipeline-num-layers", "--first-stage-layers", NULL},
     F_INT,
     T_FIRST,
     1,
     1 << 20,
     "layers on the first stage"},
    {{"--decoder-last-pipeline-num-layers", "--last-stage-layers", NULL},
     F_INT,
     T_LAST,
     1,
     1 << 20,
     "layers on the last stage"},
    {{"--make-vocab-size-divisible-by", NULL, NULL},
     F_INT,
     T_VOCAB_DIV,
     1,
     1 << 20,
     "pad the vocabulary to a multiple of X*tp (megatron default 128, others 1)"},
    {{"--dropout", NULL, NULL},
     F_BOOL,
     T_DROPOUT,
     0,
     0,
     "attention and hidden dropout on (default: on for GPT-style models)"},
    {{"--no-dropout", NULL, NULL}, F_BOOL, T_NO_DROPOUT, 0, 0, "dropout off"},
    {{"--no-overlap-grad-reduce", NULL, NULL},
     F_BOOL,
     T_NO_OVERLAP,
     0,
     0,
     "DP gradient reduce not overlapped with backward"},
    {{"--order", NULL, NULL},
     F_STR,
     T_ORDER,
     0,
     0,
     "rank order tp-cp-ep-dp-pp (Megatron's default) or tp-cp-ep-pp-dp"},
    {{"--tp-comm-overlap", NULL, NULL},
     F_BOOL,
     T_TP_OVERLAP,
     0,
     0,
     "TP/SP collectives overlapped with the GEMMs they feed (TE userbuffers)"},
    {{"--json", NULL, NULL}, F_BOOL, T_JSON, 0, 0, "print the JSON contract object"},
};

_Static_assert(sizeof flags / sizeof flags[0] <= 64, "cli_setup.given holds one bit per flag");

static const flag_def *find_flag(const char *arg, const char **inline_value, char *namebuf,
                                 size_t cap)
{
    *inline_value = NULL;
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n >= cap) {
        return NULL;
    }
    memcpy(namebuf, arg, n);
    namebuf[n] = '\0';
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        for (int k = 0; k < 3 && flags[i].names[k]; k++) {
            if (strcmp(flags[i].names[k], namebuf) == 0) {
                if (eq) {
                    *inline_value = eq + 1;
                }
                return &flags[i];
            }
        }
    }
    return NULL;
}

static int parse_targets(const char *v, unsigned *out, est_diag *diag)
{
    static const struct {
        const char *name;
        unsigned bit;
    } t[] = {{"q", EST_LORA_Q},       {"k", EST_LORA_K},       {"v", EST_LORA_V},
             {"o", EST_LORA_O},       {"gate", EST_LORA_GATE}, {"up", EST_LORA_UP},
             {"down", EST_LORA_DOWN}, {"all", EST_LORA_ALL}};
    unsigned bits = 0;
    const char *p = v;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        unsigned found = 0;
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            if (strlen(t[i].name) == n && strncasecmp(t[i].name, p, n) == 0) {
                found = t[i].bit;
            }
        }
        if (!found) {
            EST_FAIL(diag, EST_EINVAL,
                     "--lora-targets: unknown module in '%s' (q,k,v,o,gate,up,"
                     "down,all)",
                     v);
            return -1;
        }
        bits |= found;
        p = c ? c + 1 : p + n;
    }
    if (bits == 0) {
        EST_FAIL(diag, EST_EINVAL, "--lora-targets: empty");
        return -1;
    }
    *out = bits;
    return 0;
}

static int parse_enum(const flag_def *fd, const char *flag, const char *v, cli_setup *s,
                      est_diag *diag)
{
    est_parallel *p = &s->cfg.par;
    int r = -1;
    const char *choices = fd->help;
    switch (fd->target) {
    case T_FSDP:
        r = est_fsdp_parse(v);
        if (r >= 0) {
            p->fsdp = (est_fsdp)r;
        }
        break;
    case T_RECOMPUTE:
        r = est_recompute_parse(v);
        if (r >= 0) {
            p->recompute = (est_recompute)r;
        }
        break;
    case T_ATTN:
        r = est_attention_parse(v);
        if (r >= 0) {
            p->attention = (est_attention)r;
        }
        break;
    case T_PREC:
        r = est_precision_parse(v);
        if (r >= 0) {
            p->precision = (est_precision)r;
        }
        break;
    case T_FRAMEWORK:
        r = est_framework_parse(v);
        if (r >= 0) {
            p->framework = (est_framework)r;
        }
        break;
    case T_OPT:
        r = est_optimizer_parse(v);
        if (r >= 0) {
            p->optimizer = (est_optimizer)r;
        }
        break;
    case T_OPT_IMPL:
        r = est_optimizer_impl_parse(v);
        if (r >= 0) {
            p->optimizer_impl = (est_optimizer_impl)r;
        }
        break;
    case T_FINETUNE:
        r = est_finetune_parse(v);
        if (r >= 0) {
            p->finetune = (est_finetune)r;
        }
        break;
    default: break;
    }
    if (r < 0) {
        EST_FAIL(diag, EST_EINVAL, "%s: unknown value '%s' (%s)", flag, v, choices);
        return -1;
    }
    return 0;
}

int cli_config_flag(cli_setup *s, int argc, char **argv, int *i, est_diag *diag)
{
    char name[64];
    const char *inline_v = NULL;
    const flag_def *fd = find_flag(argv[*i], &inline_v, name, sizeof name);
    if (fd == NULL) {
        return 0;
    }
    const char *v = inline_v;
    s->given |= UINT64_C(1) << (unsigned)(fd - flags);
    if (fd->kind != F_BOOL && v == NULL) {
        if (*i + 1 >= argc) {
            EST_FAIL(diag, EST_EINVAL, "%s: needs a value", name);
            return -1;
        }
        v = argv[++*i];
    }
    if (fd->kind == F_BOOL && v != NULL) {
        EST_FAIL(diag, EST_EINVAL, "%s: takes no value", name);
        return -1;
    }
    est_parallel *p = &s->cfg.par;
    long long x = 0;
    if (fd->kind == F_INT && cli_parse_i64(name, v, fd->min, fd->max, &x, diag) != 0) {
        return -1;
    }
    switch (fd->target) {
    case T_MODEL:
        s->model_given = true;
        return copy_arg(s->model_arg, sizeof s->model_arg, name, v, diag) ? -1 : 1;
    case T_GPU: return copy_arg(s->gpu_arg, sizeof s->gpu_arg, name, v, diag) ? -1 : 1;
    case T_CLUSTER: return copy_arg(s->cluster_arg, sizeof s->cluster_arg, name, v, diag) ? -1 : 1;
    case T_ORDER:
        if (strcmp(v, "tp-cp-ep-dp-pp") == 0) {
            s->order = EST_ORDER_TP_CP_EP_DP_PP;
        } else if (strcmp(v, "tp-cp-ep-pp-dp") == 0) {
            s->order = EST_ORDER_TP_CP_EP_PP_DP;
        } else {
            EST_FAIL(diag, EST_EINVAL, "%s: unknown order '%s' (tp-cp-ep-dp-pp or tp-cp-ep-pp-dp)",
                     name, v);
            return -1;
        }
        return 1;
    case T_TP_OVERLAP: s->tp_comm_overlap = true; return 1;
    case T_CALIB:
        return copy_arg(s->calibration_arg, sizeof s->calibration_arg, name, v, diag) ? -1 : 1;
    case T_LORA_TARGETS: return parse_targets(v, &p->lora_targets, diag) ? -1 : 1;
    case T_GPUS:
        p->gpus = x;
        s->gpus_given = true;
        break;
    case T_NODES: s->cluster.nodes = (int)x; break;
    case T_TP: p->tp = (int)x; break;
    case T_PP: p->pp = (int)x; break;
    case T_VPP: p->vpp = (int)x; break;
    case T_CP: p->cp = (int)x; break;
    case T_EP: p->ep = (int)x; break;
    case T_SP: p->sp = true; break;
    case T_NO_SP: p->sp = false; break;
    case T_ZERO: p->zero = (int)x; break;
    case T_DISTOPT: p->zero = 1; break;
    case T_FSDP_SHARD: p->fsdp_shard_size = (int)x; break;
    case T_MBS: p->mbs = x; break;
    case T_GBS:
        p->gbs = x;
        s->gbs_given = true;
        break;
    case T_SEQ: p->seq = x; break;
    case T_RECOMPUTE_LAYERS: p->recompute_layers = x; break;
    case T_LORA_RANK: p->lora_rank = x; break;
    case T_FIRST: p->first_stage_layers = x; break;
    case T_LAST: p->last_stage_layers = x; break;
    case T_VOCAB_DIV: p->vocab_divisor = x; break;
    case T_DROPOUT: p->dropout = 1; break;
    case T_NO_DROPOUT: p->dropout = 0; break;
    case T_NO_OVERLAP: p->overlap_grad_reduce = false; break;
    case T_JSON: s->json = true; break;
    default: return parse_enum(fd, name, v, s, diag) ? -1 : 1;
    }
    return 1;
}

bool cli_given(const cli_setup *s, const char *name)
{
    char buf[64];
    const char *inline_v = NULL;
    const flag_def *fd = find_flag(name, &inline_v, buf, sizeof buf);
    return fd != NULL && (s->given & (UINT64_C(1) << (unsigned)(fd - flags))) != 0;
}

cli_arg cli_shared_arg(cli_setup *s, int argc, char **argv, int *i, const char *cmd,
                       void (*usage)(FILE *), int *exit_code)
{
    if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0) {
        usage(stdout);
        *exit_code = CLI_EXIT_OK;
        return CLI_ARG_EXIT;
    }
    est_diag diag = {{0}, NULL, 0};
    int r = cli_config_flag(s, argc, argv, i, &diag);
    if (r < 0) {
        cli_error(cmd, &diag, EST_EINVAL);
        *exit_code = CLI_EXIT_USAGE;
        return CLI_ARG_EXIT;
    }
    return r > 0 ? CLI_ARG_TAKEN : CLI_ARG_OWN;
}

void cli_config_usage(FILE *f)
{
    fprintf(f, "configuration flags (Megatron-LM aliases in brackets):\n");
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        const flag_def *fd = &flags[i];
        char line[160];
        int n = snprintf(line, sizeof line, "  %s%s", fd->names[0], fd->kind == F_BOOL ? "" : " X");
        if (fd->names[1]) {
            n += snprintf(line + n, sizeof line - (size_t)n, " [%s]", fd->names[1]);
        }
        fprintf(f, "%-52s %s\n", line, fd->help);
    }
}

est_status cli_setup_finish(cli_setup *s, bool resolve, est_diag *diag)
{
    est_status st = prof_model_load(s->model_arg, &s->model, diag);
    if (st != EST_OK) {
        return st;
    }
    int nodes = s->cluster.nodes;
    if (s->cluster_arg[0]) {
        st = prof_cluster_load(s->cluster_arg, &s->cluster, diag);
        if (st != EST_OK) {
            return st;
        }
        if (nodes > 0) {
            s->cluster.nodes = nodes;
        }
        if (!s->gpu_arg[0]) {
            strcpy(s->gpu_arg, s->cluster.gpu);
        }
    }
    if (!s->gpu_arg[0] && s->calibration_arg[0]) {
        /* the calibrated profile names its GPU */
        est_coeffs tmp;
        char name[LLMCAL_NAME_MAX];
        st = cal_coeffs_load(s->calibration_arg, NULL, NULL, &tmp, name, sizeof name, diag);
        if (st != EST_OK) {
            return st;
        }
        strcpy(s->gpu_arg, name);
    }
    if (!s->gpu_arg[0]) {
        strcpy(s->gpu_arg, "h100-sxm");
    }
    st = prof_gpu_load(s->gpu_arg, &s->gpu, diag);
    if (st != EST_OK) {
        return st;
    }
    if (!s->cluster_arg[0]) {
        s->cluster = est_cluster_for_gpu(&s->gpu);
        s->cluster.nodes = nodes;
    }
    if (s->cluster.nodes > 0 && !s->gpus_given) {
        s->cfg.par.gpus = (int64_t)s->cluster.nodes * s->cluster.gpus_per_node;
    } else if (s->cluster.nodes > 0 &&
               s->cfg.par.gpus > (int64_t)s->cluster.nodes * s->cluster.gpus_per_node) {
        return EST_FAIL(diag, EST_EINVAL, "gpus: %lld exceed the cluster's %d nodes x %d GPUs",
                        (long long)s->cfg.par.gpus, s->cluster.nodes, s->cluster.gpus_per_node);
    }
    s->cfg.model = &s->model;
    s->cfg.gpu = &s->gpu;
    s->cfg.cluster = &s->cluster;
    s->coeffs = est_coeffs_from_hw(&s->gpu, &s->cluster);
    s->calibrated = false;
    if (s->calibration_arg[0]) {
        st = cal_coeffs_load(s->calibration_arg, &s->gpu, &s->cluster, &s->coeffs, NULL, 0, diag);
        if (st != EST_OK) {
            return st;
        }
        s->calibrated = true;
    }
    if (!resolve) {
        return EST_OK;
    }
    return est_config_resolve(&s->cfg, diag);
}

est_time_opts cli_time_opts(const cli_setup *s)
{
    est_time_opts o = est_time_opts_default();
    o.coeffs = &s->coeffs;
    o.calibrated = s->calibrated;
    o.order = s->order;
    o.tp_comm_overlap = s->tp_comm_overlap;
    return o;
}

void cli_error(const char *cmd, const est_diag *diag, est_status s)
{
    if (diag != NULL && diag->msg[0]) {
        fprintf(stderr, "llmcal %s: %s\n", cmd, diag->msg);
    } else {
        fprintf(stderr, "llmcal %s: %s\n", cmd, est_status_str(s));
    }
}
