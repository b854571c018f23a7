/* report.c -- one estimate as the JSON contract object and as the aligned human table.
 *
 * Bytes stay integers in JSON; the table prints GiB (2^30) and says so. Units convert only here.
 */
#include "opts.h"

#include <math.h>
#include <string.h>

static const char *phase_name(est_mem_phase ph)
{
    switch (ph) {
    case EST_PHASE_FORWARD: return "forward";
    case EST_PHASE_BACKWARD: return "backward";
    case EST_PHASE_OPTIMIZER: return "optimizer";
    }
    return "?";
}

static json_t *json_bytes(uint64_t b)
{
    return json_integer((json_int_t)b);
}

static json_t *config_json(const est_config *cfg)
{
    const est_parallel *p = &cfg->par;
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(cfg->model->name));
    json_object_set_new(o, "gpu", json_string(cfg->gpu->name));
    json_object_set_new(o, "cluster", json_string(cfg->cluster->name));
    json_object_set_new(o, "gpus_per_node", json_integer(cfg->cluster->gpus_per_node));
    json_object_set_new(o, "gpus", json_integer(p->gpus));
    json_object_set_new(o, "tp", json_integer(p->tp));
    json_object_set_new(o, "sp", json_boolean(p->sp));
    json_object_set_new(o, "pp", json_integer(p->pp));
    json_object_set_new(o, "vpp", json_integer(p->vpp));
    json_object_set_new(o, "cp", json_integer(p->cp));
    json_object_set_new(o, "ep", json_integer(p->ep));
    json_object_set_new(o, "dp", json_integer(p->dp));
    json_object_set_new(o, "zero", json_integer(p->zero));
    json_object_set_new(o, "fsdp", json_string(est_fsdp_name(p->fsdp)));
    if (p->fsdp == EST_FSDP_HYBRID) {
        json_object_set_new(o, "fsdp_shard_size", json_integer(p->fsdp_shard_size));
    }
    json_object_set_new(o, "mbs", json_integer(p->mbs));
    json_object_set_new(o, "gbs", json_integer(p->gbs));
    json_object_set_new(o, "microbatches", json_integer(p->gbs / (p->mbs * p->dp)));
    json_object_set_new(o, "seq", json_integer(p->seq));
    json_object_set_new(o, "first_stage_layers", json_integer(est_stage_layers(cfg, 0)));
    json_object_set_new(o, "last_stage_layers", json_integer(est_stage_layers(cfg, p->pp - 1)));
    json_object_set_new(o, "recompute", json_string(est_recompute_name(p->recompute)));
    json_object_set_new(o, "recompute_layers", json_integer(p->recompute_layers));
    json_object_set_new(o, "attention", json_string(est_attention_name(p->attention)));
    json_object_set_new(o, "precision", json_string(est_precision_name(p->precision)));
    json_object_set_new(o, "framework", json_string(est_framework_name(p->framework)));
    json_object_set_new(o, "optimizer", json_string(est_optimizer_name(p->optimizer)));
    json_object_set_new(o, "optimizer_impl",
                        json_string(est_optimizer_impl_name(p->optimizer_impl)));
    json_object_set_new(o, "finetune", json_string(est_finetune_name(p->finetune)));
    if (p->finetune != EST_FT_FULL) {
        json_object_set_new(o, "lora_rank", json_integer(p->lora_rank));
        json_object_set_new(o, "lora_targets", json_integer(p->lora_targets));
    }
    json_object_set_new(o, "vocab_divisor", json_integer(p->vocab_divisor));
    json_object_set_new(o, "dropout", json_boolean(p->dropout != 0));
    json_object_set_new(o, "grads_fp32", json_boolean(p->grads_fp32));
    return o;
}

static json_t *stage_json(const est_stage_memory *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "stage", json_integer(st->stage));
    json_object_set_new(o, "layers", json_integer(st->layers));
    json_object_set_new(o, "params", json_integer(st->params));
    json_object_set_new(o, "microbatches_in_flight", json_integer(st->microbatches_in_flight));
    json_object_set_new(o, "activation_bytes_per_layer",
                        json_bytes(st->activation_bytes_per_layer));
    json_object_set_new(o, "peak_phase", json_string(phase_name(st->peak_phase)));
    json_t *mb = json_object();
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        json_object_set_new(mb, est_mem_group_name((est_mem_group)g), json_bytes(st->bytes[g]));
    }
    json_object_set_new(mb, "peak_allocated", json_bytes(st->peak_allocated));
    json_object_set_new(mb, "peak_reserved", json_bytes(st->peak_reserved));
    json_object_set_new(mb, "total", json_bytes(st->total));
    json_object_set_new(o, "memory_bytes", mb);
    json_t *items = json_array();
    for (int i = 0; i < st->n_items; i++) {
        json_t *it = json_object();
        json_object_set_new(it, "name", json_string(st->items[i].name));
        json_object_set_new(it, "group", json_string(est_mem_group_name(st->items[i].group)));
        json_object_set_new(it, "bytes", json_bytes(st->items[i].bytes));
        json_array_append_new(items, it);
    }
    json_object_set_new(o, "items", items);
    return o;
}

static json_t *num_or_null(const est_time_report *t, double v)
{
    return t ? json_real(v) : json_null();
}

json_t *cli_estimate_json(const est_config *cfg, const est_memory_report *m,
                          const est_time_report *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "config", config_json(cfg));
    json_t *params = json_object();
    json_object_set_new(params, "total", json_integer(m->params.total));
    json_object_set_new(params, "active", json_integer(m->params.active));
    json_object_set_new(params, "non_embedding", json_integer(m->params.non_embedding));
    json_object_set_new(o, "params", params);
    const est_stage_memory *w = &m->worst;
    json_t *mb = json_object();
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        json_object_set_new(mb, est_mem_group_name((est_mem_group)g), json_bytes(w->bytes[g]));
    }
    json_object_set_new(mb, "peak_allocated", json_bytes(w->peak_allocated));
    json_object_set_new(mb, "peak_reserved", json_bytes(w->peak_reserved));
    json_object_set_new(mb, "total", json_bytes(w->total));
    json_object_set_new(o, "memory_bytes", mb);
    json_t *wr = json_object();
    json_object_set_new(wr, "stage", json_integer(w->stage));
    json_object_set_new(wr, "which",
                        json_string(w->stage == 0
                                        ? "first pipeline stage"
                                        : (w->stage == cfg->par.pp - 1 ? "last pipeline stage"
                                                                       : "middle pipeline stage")));
    json_object_set_new(wr, "layers", json_integer(w->layers));
    json_object_set_new(wr, "microbatches_in_flight", json_integer(w->microbatches_in_flight));
    json_object_set_new(wr, "peak_phase", json_string(phase_name(w->peak_phase)));
    json_object_set_new(o, "worst_rank", wr);
    json_t *stages = json_object();
    json_object_set_new(stages, "first", stage_json(&m->first));
    json_object_set_new(stages, "last", stage_json(&m->last));
    json_object_set_new(stages, "worst", stage_json(&m->worst));
    json_object_set_new(o, "stages", stages);
    json_object_set_new(o, "capacity_bytes", json_bytes(m->capacity_bytes));
    json_object_set_new(o, "usable_bytes", json_bytes(m->usable_bytes));
    json_object_set_new(o, "fits", json_boolean(m->fits));
    json_t *ts = json_object();
    json_object_set_new(ts, "compute", num_or_null(t, t ? t->compute_s : 0));
    json_object_set_new(ts, "tp_comm", num_or_null(t, t ? t->tp_comm_s : 0));
    json_object_set_new(ts, "cp_comm", num_or_null(t, t ? t->cp_comm_s : 0));
    json_object_set_new(ts, "ep_comm", num_or_null(t, t ? t->ep_comm_s : 0));
    json_object_set_new(ts, "pp_bubble", num_or_null(t, t ? t->pp_bubble_s : 0));
    json_object_set_new(ts, "pp_comm", num_or_null(t, t ? t->pp_comm_s : 0));
    json_object_set_new(ts, "dp_comm", num_or_null(t, t ? t->dp_comm_s : 0));
    json_object_set_new(ts, "optimizer", num_or_null(t, t ? t->optimizer_s : 0));
    json_object_set_new(ts, "iteration", num_or_null(t, t ? t->iteration_s : 0));
    json_object_set_new(o, "time_s", ts);
    json_object_set_new(o, "tokens_per_s", num_or_null(t, t ? t->tokens_per_s : 0));
    json_object_set_new(o, "tflops_per_gpu", num_or_null(t, t ? t->tflops_per_gpu : 0));
    json_object_set_new(o, "mfu", num_or_null(t, t ? t->mfu : 0));
    json_object_set_new(o, "hfu", num_or_null(t, t ? t->hfu : 0));
    json_t *notes = json_array();
    for (int i = 0; i < m->n_notes; i++) {
        json_array_append_new(notes, json_string(m->notes[i]));
    }
    for (int i = 0; t && i < t->n_notes; i++) {
        json_array_append_new(notes, json_string(t->notes[i]));
    }
    json_object_set_new(o, "notes", notes);
    return o;
}

static double gib(uint64_t b)
{
    return (double)b / 1073741824.0;
}

static void print_stage_column_header(FILE *f, const est_memory_report *m, int pp)
{
    if (pp > 1) {
        fprintf(f, "  %-40s %12s %12s\n", "GiB per GPU", "first stage", "last stage");
    } else {
        fprintf(f, "  %-40s %12s\n", "GiB per GPU", "");
    }
    (void)m;
}

void cli_estimate_print(FILE *f, const est_config *cfg, const est_memory_report *m,
                        const est_time_report *t)
{
    const est_parallel *p = &cfg->par;
    fprintf(f, "%s on %lld x %s (%s), %s, %s\n", cfg->model->name, (long long)p->gpus,
            cfg->gpu->name, cfg->cluster->name, est_framework_name(p->framework),
            est_precision_name(p->precision));
    fprintf(f, "  params %.3f B (active %.3f B)\n", (double)m->params.total / 1e9,
            (double)m->params.active / 1e9);
    fprintf(f,
            "  tp %d%s  pp %d  vpp %d  cp %d  ep %d  dp %d  zero %d%s%s  mbs %lld  gbs %lld "
            "(%lld micro-batches)  seq %lld\n",
            p->tp, p->sp ? " (sp)" : "", p->pp, p->vpp, p->cp, p->ep, p->dp, p->zero,
            p->fsdp != EST_FSDP_NONE ? "  fsdp " : "",
            p->fsdp != EST_FSDP_NONE ? est_fsdp_name(p->fsdp) : "", (long long)p->mbs,
            (long long)p->gbs, (long long)(p->gbs / (p->mbs * p->dp)), (long long)p->seq);
    fprintf(f, "  recompute %s  attention %s  optimizer %s (%s)  finetune %s\n\n",
            est_recompute_name(p->recompute), est_attention_name(p->attention),
            est_optimizer_name(p->optimizer), est_optimizer_impl_name(p->optimizer_impl),
            est_finetune_name(p->finetune));
    print_stage_column_header(f, m, p->pp);
    /* the itemised detail of the first stage, with the last stage's value beside it */
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        if (p->pp > 1) {
            fprintf(f, "  %-40s %12.2f %12.2f\n", est_mem_group_name((est_mem_group)g),
                    gib(m->first.bytes[g]), gib(m->last.bytes[g]));
        } else {
            fprintf(f, "  %-40s %12.2f\n", est_mem_group_name((est_mem_group)g),
                    gib(m->first.bytes[g]));
        }
        for (int i = 0; i < m->first.n_items; i++) {
            const est_mem_item *it = &m->first.items[i];
            if (it->group != (est_mem_group)g) {
                continue;
            }
            uint64_t lastv = 0;
            for (int k = 0; k < m->last.n_items; k++) {
                if (strcmp(m->last.items[k].name, it->name) == 0) {
                    lastv = m->last.items[k].bytes;
                }
            }
            if (p->pp > 1) {
                fprintf(f, "    %-38s %12.2f %12.2f\n", it->name, gib(it->bytes), gib(lastv));
            } else {
                fprintf(f, "    %-38s %12.2f\n", it->name, gib(it->bytes));
            }
        }
        for (int k = 0; p->pp > 1 && k < m->last.n_items; k++) {
            const est_mem_item *it = &m->last.items[k];
            bool in_first = false;
            for (int i = 0; i < m->first.n_items; i++) {
                in_first = in_first || strcmp(m->first.items[i].name, it->name) == 0;
            }
            if (it->group == (est_mem_group)g && !in_first) {
                fprintf(f, "    %-38s %12.2f %12.2f\n", it->name, 0.0, gib(it->bytes));
            }
        }
    }
    const char *rows[3] = {"peak allocated (max_memory_allocated)",
                           "peak reserved (max_memory_reserved)", "in use on device (nvidia-smi)"};
    uint64_t fv[3] = {m->first.peak_allocated, m->first.peak_reserved, m->first.total};
    uint64_t lv[3] = {m->last.peak_allocated, m->last.peak_reserved, m->last.total};
    fprintf(f, "  ----------------------------------------\n");
    for (int i = 0; i < 3; i++) {
        if (p->pp > 1) {
            fprintf(f, "  %-40s %12.2f %12.2f\n", rows[i], gib(fv[i]), gib(lv[i]));
        } else {
            fprintf(f, "  %-40s %12.2f\n", rows[i], gib(fv[i]));
        }
    }
    const est_stage_memory *w = &m->worst;
    double head = (double)m->usable_bytes - (double)w->total;
    fprintf(f,
            "\n  worst rank: pipeline stage %d of %d (%lld layers, %lld micro-batches in flight,"
            " peak in %s)\n",
            w->stage, p->pp, (long long)w->layers, (long long)w->microbatches_in_flight,
            phase_name(w->peak_phase));
    fprintf(f, "  %s: %.2f GiB of %.2f GiB usable (%s %.2f GiB)\n",
            m->fits ? "FITS" : "DOES NOT FIT", gib(w->total), gib(m->usable_bytes),
            head >= 0 ? "headroom" : "over by", fabs(head) / 1073741824.0);
    if (t != NULL) {
        fprintf(f, "\n  %-40s %12s\n", "time per iteration", "s");
        const char *names[] = {"compute",           "tp comm (exposed)", "cp comm (exposed)",
                               "ep comm (exposed)", "pp bubble",         "pp comm (exposed)",
                               "dp comm (exposed)", "optimizer",         "iteration"};
        double vals[] = {t->compute_s, t->tp_comm_s, t->cp_comm_s,   t->ep_comm_s,  t->pp_bubble_s,
                         t->pp_comm_s, t->dp_comm_s, t->optimizer_s, t->iteration_s};
        for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
            fprintf(f, "  %-40s %12.4f\n", names[i], vals[i]);
        }
        fprintf(f, "  tokens/s %.0f   TFLOP/s per GPU %.1f   MFU %.1f%%   HFU %.1f%%\n",
                t->tokens_per_s, t->tflops_per_gpu, 100.0 * t->mfu, 100.0 * t->hfu);
    }
    fprintf(f, "\n  assumed:\n");
    for (int i = 0; i < m->n_notes; i++) {
        fprintf(f, "  - %s\n", m->notes[i]);
    }
    for (int i = 0; t && i < t->n_notes; i++) {
        fprintf(f, "  - %s\n", t->notes[i]);
    }
}
