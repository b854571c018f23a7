/* test_rt_errors.c -- bad or unsupported configurations are refused with a one-line reason naming
 * the field, and running out of memory is an answer (EST_ENOMEM with what was being allocated,
 * the bytes in use and the capacity), never a crash or a hang of the other ranks.
 */
#include "test_rt_tiny.h"

static est_status try_run(tiny *t, rt_options *o, est_diag *d, rt_report *rep)
{
    memset(d, 0, sizeof *d);
    est_status st = rt_run(&t->cfg, o, rep, d);
    printf("  -> %s: %s\n", est_status_str(st), d->msg);
    return st;
}

int main(void)
{
    est_model gpt = tiny_gpt(4);
    tiny t;
    rt_options o = rt_options_default();
    est_diag d;
    rt_report rep;

    /* OOM at setup: 64 KiB cannot hold rank 0's weights, gradients and moments */
    tiny_init(&t, &gpt, 2, 2, 1, 1, false, 0, 1, 2);
    o.capacity_bytes = 64 << 10;
    est_status st = try_run(&t, &o, &d, &rep);
    CHECK(st == EST_ENOMEM, "too small a capacity gives EST_ENOMEM");
    CHECK(rep.oom && strstr(rep.oom_msg, "out of memory") && strstr(rep.oom_msg, "in use") &&
              strstr(rep.oom_msg, "capacity"),
          "the OOM answer says what, how much in use, capacity");
    rt_report_free(&rep);
    /* OOM during the step, not at setup: capacity = what every rank holds outside activations
       and logits (from an unlimited run) + 1 KiB, less than one micro-batch's activations */
    o.capacity_bytes = 0;
    CHECK(try_run(&t, &o, &d, &rep) == EST_OK, "unlimited run");
    uint64_t fixed = 0;
    for (int i = 0; i < rep.nranks; i++) {
        const uint64_t *a = rep.ranks[i].at_peak_bytes;
        uint64_t f = rep.ranks[i].peak_bytes - a[EST_MEM_ACTIVATIONS] - a[EST_MEM_LOGITS];
        fixed = f > fixed ? f : fixed;
    }
    rt_report_free(&rep);
    o.capacity_bytes = fixed + 1024;
    st = try_run(&t, &o, &d, &rep);
    CHECK(st == EST_ENOMEM && strstr(d.msg, "activations") != NULL,
          "OOM while allocating activations names them");
    rt_report_free(&rep);
    o = rt_options_default();

    est_model moe = gpt;
    moe.experts = 8;
    moe.top_k = 2;
    moe.moe_ffn = 64;
    tiny_init(&t, &moe, 1, 1, 1, 1, false, 0, 1, 1);
    CHECK(try_run(&t, &o, &d, &rep) == EST_EUNSUPPORTED && strstr(d.msg, "experts"),
          "MoE is refused as unsupported, naming experts");

    tiny_init(&t, &gpt, 1, 1, 1, 2, false, 0, 1, 2);
    o.solo_rank = 2;
    CHECK(try_run(&t, &o, &d, &rep) == EST_EINVAL && strstr(d.msg, "rank"),
          "--rank outside the layout is refused");
    o = rt_options_default();
    o.steps = 0;
    CHECK(try_run(&t, &o, &d, &rep) == EST_EINVAL && strstr(d.msg, "steps"), "steps 0 refused");
    o = rt_options_default();

    tiny_init(&t, &gpt, 2, 1, 1, 1, false, 0, 1, 1);
    t.cfg.par.vocab_divisor = -1;
    CHECK(try_run(&t, &o, &d, &rep) == EST_EINVAL && strstr(d.msg, "vocab_divisor"),
          "a negative vocab_divisor is refused, naming it");

    tiny_init(&t, &gpt, 1, 1, 1, 2, false, 3, 1, 2);
    t.cfg.par.framework = EST_FW_DEEPSPEED;
    CHECK(try_run(&t, &o, &d, &rep) == EST_EUNSUPPORTED && strstr(d.msg, "zero"),
          "ZeRO-3 is refused as unsupported");

    tiny_init(&t, &gpt, 1, 2, 2, 1, false, 0, 1, 3);
    CHECK(try_run(&t, &o, &d, &rep) == EST_EINVAL && strstr(d.msg, "divisible by pp"),
          "interleaved schedule needs micro-batches divisible by pp");

    tiny_init(&t, &gpt, 3, 1, 1, 1, false, 0, 1, 1);
    CHECK(try_run(&t, &o, &d, &rep) == EST_EINVAL && strstr(d.msg, "tp"),
          "tp not dividing heads is refused (est_config_resolve)");

    /* multi-process launch (one process per rank): refused on the cpu backend, and checked
       against the layout before any device is touched */
    tiny_init(&t, &gpt, 2, 2, 1, 1, false, 0, 1, 2);
    o = rt_options_default();
    o.launch.present = true;
    snprintf(o.launch.launcher, sizeof o.launch.launcher, "slurm");
    snprintf(o.launch.rank_var, sizeof o.launch.rank_var, "SLURM_PROCID");
    o.launch.rank = 1;
    o.launch.size = 4;
    o.rendezvous = "/tmp/llmcal-never-written.id";
    CHECK(try_run(&t, &o, &d, &rep) == EST_EUNSUPPORTED && strstr(d.msg, "launch") &&
              strstr(d.msg, "cpu"),
          "a multi-process launch of the cpu backend is refused, naming it");
    o.backend = RT_BACKEND_CUDA;
    if (rt_backend_compiled(RT_BACKEND_CUDA)) {
        o.launch.size = 3;
        CHECK(try_run(&t, &o, &d, &rep) == EST_EINVAL && strstr(d.msg, "gpus"),
              "launcher's process count != layout's ranks is refused, naming gpus");
        o.launch.size = 4;
        o.rendezvous = NULL;
        CHECK(try_run(&t, &o, &d, &rep) == EST_EINVAL && strstr(d.msg, "rendezvous"),
              "a multi-process launch without a rendezvous path is refused");
        o.rendezvous = "/tmp/llmcal-never-written.id";
        o.solo_rank = 0;
        CHECK(try_run(&t, &o, &d, &rep) == EST_EINVAL && strstr(d.msg, "rank"),
              "--rank under a multi-process launch is refused");
    }
    o = rt_options_default();

    if (!rt_backend_compiled(RT_BACKEND_CUDA)) {
        tiny_init(&t, &gpt, 1, 1, 1, 1, false, 0, 1, 1);
        o.backend = RT_BACKEND_CUDA;
        CHECK(try_run(&t, &o, &d, &rep) == EST_EUNSUPPORTED && strstr(d.msg, "cuda"),
              "cuda backend without LLMCAL_WITH_CUDA is refused");
    }
    return check_summary();
}
