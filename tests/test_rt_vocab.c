/* test_rt_vocab.c -- Megatron's vocabulary padding in the runtime (--make-vocab-size-divisible-by).
 *
 * Megatron pads the vocabulary to a multiple of make_vocab_size_divisible_by * tp
 * (megatron/training/tokenizer/tokenizer.py _vocab_size_with_padding); the padded rows of the
 * embedding and output layer are initialised like the others, their logits take part in the
 * softmax, and no target points at them. Checked here:
 *  1. the padded size, hand-computed from that rule (GPT-2's 50257 -> 50304 with 128 is the size
 *     Megatron logs: "padded vocab (size: 50257) with 47 dummy tokens (new size: 50304)");
 *  2. layouts with the same padded vocabulary train identically (TP=1 vs TP=2/4, PP=2 with the
 *     tied embedding split over the first and last stage), tolerances of test_rt_tp.c;
 *  3. the padded columns take part in the softmax: at initialisation the logits are ~0 (weights
 *     0.02 x unit activations), so the loss is ~ln(vocab columns) and padding 60 -> 64 columns
 *     raises it by ln(64/60) = 0.0645 (same real rows, same data);
 *  4. per-group bytes of weights, gradients and optimizer of `llmcal run --rank R` equal the
 *     estimator's (est_memory, what `llmcal estimate` prints) and the published bytes per
 *     parameter of Megatron's bf16 mixed precision with the distributed optimizer: 2 (bf16
 *     weights), 4 (fp32 main grads), (4 master + 8 Adam) / dp (Rajbhandari et al. 2019 K = 12,
 *     sharded by ZeRO-1), for a GPT-2-small layout (HF gpt2 config.json: n_embd 768, n_layer 12,
 *     n_head 12, n_positions 1024, vocab 50257, tied).
 */
#include "est/memory.h"
#include "test_rt_tiny.h"

static int64_t padded(int64_t v, int64_t div, int tp)
{
    est_model m = tiny_gpt(1);
    m.vocab = v;
    est_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.model = &m;
    cfg.par = est_parallel_default();
    cfg.par.tp = tp;
    cfg.par.vocab_divisor = div;
    return rt_padded_vocab(&cfg);
}

typedef struct result {
    float *g, *p;
    double loss;
} result;

static result run(const est_model *m, int tp, int pp, int64_t div, bool sp)
{
    tiny t;
    tiny_init(&t, m, tp, pp, 1, 1, sp, 0, 1, 4);
    t.cfg.par.vocab_divisor = div;
    result r = {tiny_vec(m), tiny_vec(m), 0.0};
    est_status st = tiny_run(&t, 1, NULL, r.g, NULL, &r.loss);
    st = st == EST_OK ? tiny_run(&t, 2, NULL, NULL, r.p, NULL) : st;
    CHECK(st == EST_OK, "padded-vocabulary run succeeds");
    return r;
}

static void compare(const est_model *m, const result *a, const result *ref, const char *what)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s: gradients (step 1)", what);
    CHECK(tiny_maxrel(m, a->g, ref->g, buf) <= 1e-4, buf);
    snprintf(buf, sizeof buf, "%s: parameters after 2 steps", what);
    CHECK(tiny_maxrel(m, a->p, ref->p, buf) <= 1e-3, buf);
    snprintf(buf, sizeof buf, "%s: loss", what);
    CHECK_REL(a->loss, ref->loss, 1e-5, buf);
}

static void done(result *r)
{
    free(r->g);
    free(r->p);
}

static est_model gpt2_small(void)
{
    est_model m = tiny_gpt(12);
    snprintf(m.name, sizeof m.name, "gpt2-small");
    m.hidden = 768;
    m.heads = 12;
    m.kv_heads = 12;
    m.head_dim = 64;
    m.ffn = 3072;
    m.vocab = 50257;
    m.max_positions = 1024;
    return m;
}

/* rank R of gpt2-small tp 2 pp 2 dp 2, bf16-mixed, megatron distributed optimizer, in shard
   mode: its group peaks against est_memory's stage and the hand-computed parameter count */
static void bytes_vs_estimate(int rank, int64_t params_hand)
{
    est_model m = gpt2_small();
    tiny t;
    tiny_init(&t, &m, 2, 2, 1, 2, false, 1, 1, 4);
    t.cfg.par.seq = 8;
    t.cfg.par.precision = EST_PREC_BF16_MIXED;
    t.cfg.par.framework = EST_FW_MEGATRON;
    t.cfg.par.vocab_divisor = 0; /* the framework's default: 128 */
    est_config cfg = t.cfg;
    est_diag d;
    memset(&d, 0, sizeof d);
    CHECK(est_config_resolve(&cfg, &d) == EST_OK, "gpt2-small layout resolves");
    CHECK_EQ_I64(cfg.par.vocab_divisor, 128, "megatron's default make_vocab_size_divisible_by");
    est_memory_report pm;
    CHECK(est_memory(&cfg, &pm, &d) == EST_OK, "estimate");
    rt_options o = rt_options_default();
    o.steps = 1;
    o.solo_rank = rank;
    rt_report rep;
    est_status st = rt_run(&t.cfg, &o, &rep, &d);
    CHECK(st == EST_OK && rep.nranks == 1, "gpt2-small shard-mode run");
    if (st != EST_OK) {
        fprintf(stderr, "%s\n", d.msg);
        return;
    }
    const est_stage_memory *ps = rank < 4 ? &pm.first : &pm.last;
    const uint64_t *g = rep.ranks[0].group_peak_bytes;
    char w[128];
    snprintf(w, sizeof w, "rank %d: parameters held = hand count", rank);
    CHECK_EQ_I64(ps->params, params_hand, w);
    snprintf(w, sizeof w, "rank %d: weights = estimate = 2 B x params", rank);
    CHECK_EQ_I64(g[EST_MEM_WEIGHTS], ps->bytes[EST_MEM_WEIGHTS], w);
    CHECK_EQ_I64(g[EST_MEM_WEIGHTS], 2 * params_hand, w);
    snprintf(w, sizeof w, "rank %d: gradients = estimate = 4 B x params", rank);
    CHECK_EQ_I64(g[EST_MEM_GRADIENTS], ps->bytes[EST_MEM_GRADIENTS], w);
    CHECK_EQ_I64(g[EST_MEM_GRADIENTS], 4 * params_hand, w);
    snprintf(w, sizeof w, "rank %d: optimizer = estimate = 12 B / dp x params", rank);
    CHECK_EQ_I64(g[EST_MEM_OPTIMIZER], ps->bytes[EST_MEM_OPTIMIZER], w);
    CHECK_EQ_I64(g[EST_MEM_OPTIMIZER], 12 * params_hand / 2, w);
    rt_report_free(&rep);
}

int main(void)
{
    /* 1. _vocab_size_with_padding: ceil(v / (div * tp)) * div * tp */
    CHECK_EQ_I64(padded(50257, 128, 1), 50304, "gpt2 vocab padded to 128 (Megatron's log line)");
    CHECK_EQ_I64(padded(50257, 128, 2), 50432, "ceil(50257 / 256) * 256 = 197 * 256");
    CHECK_EQ_I64(padded(50257, 128, 4), 50688, "ceil(50257 / 512) * 512 = 99 * 512");
    CHECK_EQ_I64(padded(64, 1, 4), 64, "a multiple of tp needs no padding with divisor 1");
    CHECK_EQ_I64(padded(66, 1, 4), 68, "divisor 1 still pads to a multiple of tp");
    CHECK_EQ_I64(padded(60, 16, 1), 64, "60 -> 64 (16)");
    CHECK_EQ_I64(padded(60, 16, 2), 64, "60 -> 64 (32)");
    CHECK_EQ_I64(padded(60, 16, 4), 64, "60 -> 64 (64)");

    /* 2. the same padded vocabulary (60 -> 64) in every layout gives the same step */
    est_model gpt = tiny_gpt(2);
    gpt.vocab = 60;
    est_model llama = tiny_llama(2);
    llama.vocab = 60;
    llama.kv_heads = 4;
    const est_model *models[2] = {&gpt, &llama};
    const char *names[2] = {"gpt v=60->64", "llama v=60->64"};
    for (int i = 0; i < 2; i++) {
        result ref = run(models[i], 1, 1, 16, false);
        for (int tp = 2; tp <= 4; tp *= 2) {
            char what[96];
            snprintf(what, sizeof what, "%s tp=%d sp", names[i], tp);
            result r = run(models[i], tp, 1, 16, true);
            compare(models[i], &r, &ref, what);
            done(&r);
        }
        char what[96];
        snprintf(what, sizeof what, "%s pp=2 tp=2", names[i]);
        result r = run(models[i], 2, 2, 16, false);
        compare(models[i], &r, &ref, what);
        done(&r);
        /* 3. padded columns in the softmax: loss(64 columns) - loss(60) ~ ln(64/60) */
        result u = run(models[i], 1, 1, 1, false);
        snprintf(what, sizeof what, "%s: loss rises by ln(64/60) with 4 padded columns", names[i]);
        CHECK_ABS(ref.loss - u.loss, log(64.0 / 60.0), 0.01, what);
        done(&u);
        done(&ref);
    }

    /* 4. gpt2-small, tp 2 pp 2 dp 2, padded vocab 50432 (128 x tp 2), 6 layers per stage.
       One layer / tp=2 (HF gpt2 shapes): ln1 2x768 + qkv 3x768x768/2 + 2304/2 + out 768x768/2
       + 768 + ln2 2x768 + fc 768x3072/2 + 3072/2 + proj 3072x768/2 + 768 = 3,546,240.
       First stage: wte 50432x768/2 = 19,365,888 + wpe 1024x768 = 786,432 + 6 layers.
       Last stage: the tied embedding's copy 19,365,888 + 6 layers + final norm 2x768. */
    int64_t layer = 1536 + 884736 + 1152 + 294912 + 768 + 1536 + 1179648 + 1536 + 1179648 + 768;
    CHECK_EQ_I64(layer, 3546240, "gpt2-small layer / tp 2");
    bytes_vs_estimate(0, 19365888 + 786432 + 6 * layer);
    bytes_vs_estimate(7, 19365888 + 6 * layer + 1536);
    return check_summary();
}
