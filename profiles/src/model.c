/* model.c -- llmcal's own model schema (docs/profiles.md#models) into est_model.
 *
 * Every key is typed and range-checked here; cross-field consistency (kv_heads divides heads, top_k
 * <= experts...) is est_model_validate()'s job. Unknown keys are errors: a misspelt "kv_head" must
 * not silently become multi-head attention. Hugging Face config.json is hf_config.c.
 */
#include "prof_internal.h"

#include <math.h>
#include <string.h>

static const char *const norm_names[] = {"layernorm", "rmsnorm"};
static const char *const act_names[] = {"gelu", "swiglu", "geglu"};
static const char *const pos_names[] = {"learned", "rope"};

/* a stated count: a number is exact; a string ("70.6B") is rounded to its last digit */
static est_status get_stated(prof_ctx *c, const char *key, double *value, double *tol,
                             est_diag *diag)
{
    json_t *v = json_object_get(c->obj, key);
    prof_mark_seen(c, key);
    if (v == NULL) {
        return EST_OK;
    }
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (!(d > 0) || !isfinite(d)) {
            return EST_FAIL(diag, EST_EINVAL, "%s: %s: %g must be positive", c->origin, key, d);
        }
        *value = d;
        *tol = 0.0;
        return EST_OK;
    }
    if (!json_is_string(v)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %s: expected a number or a string like \"70.6B\"",
                        c->origin, key);
    }
    est_diag sub = {{0}, NULL, 0};
    if (prof_parse_quantity(json_string_value(v), PROF_UNIT_PARAMS, value, tol, &sub) != EST_OK) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %s: %s", c->origin, key, sub.msg);
    }
    if (!(*value > 0)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %s: must be positive", c->origin, key);
    }
    return EST_OK;
}

static est_status check_aliases(prof_ctx *c, est_diag *diag)
{
    json_t *v = json_object_get(c->obj, "aliases");
    prof_mark_seen(c, "aliases");
    if (v == NULL) {
        return EST_OK;
    }
    if (!json_is_array(v)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: aliases: expected an array of strings", c->origin);
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item) || json_string_length(item) == 0 ||
            json_string_length(item) >= LLMCAL_NAME_MAX) {
            return EST_FAIL(diag, EST_EINVAL, "%s: aliases[%zu]: expected a non-empty name",
                            c->origin, i);
        }
    }
    return EST_OK;
}

est_status prof_model_from_json(json_t *root, const char *origin, const char *name, est_model *out,
                                prof_info *info, est_diag *diag)
{
    prof_ctx c;
    prof_ctx_init(&c, origin, root, "");
    est_model m;
    memset(&m, 0, sizeof m);
    prof_copy(m.name, sizeof m.name, name);

    EST_TRY(
        prof_get_str(&c, "description", false, info->description, sizeof info->description, diag));
    EST_TRY(prof_get_source(&c, "source", false, info, diag));
    EST_TRY(check_aliases(&c, diag));

    EST_TRY(prof_get_i64(&c, "hidden", true, 1, &m.hidden, diag));
    EST_TRY(prof_get_i64(&c, "layers", true, 1, &m.layers, diag));
    EST_TRY(prof_get_i64(&c, "heads", true, 1, &m.heads, diag));
    m.kv_heads = m.heads;
    EST_TRY(prof_get_i64(&c, "kv_heads", false, 1, &m.kv_heads, diag));
    EST_TRY(prof_get_i64(&c, "head_dim", false, 1, &m.head_dim, diag));
    if (m.head_dim == 0) {
        if (m.hidden % m.heads != 0) {
            return EST_FAIL(diag, EST_EINVAL,
                            "%s: head_dim: missing, and heads=%lld does not divide hidden=%lld",
                            origin, (long long)m.heads, (long long)m.hidden);
        }
        m.head_dim = m.hidden / m.heads;
    }
    EST_TRY(prof_get_i64(&c, "ffn", true, 1, &m.ffn, diag));
    EST_TRY(prof_get_i64(&c, "vocab", true, 1, &m.vocab, diag));

    int e = 0;
    EST_TRY(prof_get_enum(&c, "norm", true, norm_names, 2, &e, diag));
    m.norm = (est_norm)e;
    EST_TRY(prof_get_enum(&c, "act", true, act_names, 3, &e, diag));
    m.act = (est_act)e;
    EST_TRY(prof_get_enum(&c, "pos", true, pos_names, 2, &e, diag));
    m.pos = (est_pos)e;
    bool learned = m.pos == EST_POS_LEARNED;
    EST_TRY(prof_get_i64(&c, "max_positions", learned, learned ? 1 : 0, &m.max_positions, diag));
    EST_TRY(prof_get_bool(&c, "tied_embeddings", true, &m.tied_embeddings, diag));
    bool biases = false;
    EST_TRY(prof_get_bool(&c, "biases", true, &biases, diag));
    m.qkv_bias = biases;
    m.out_bias = biases;
    m.mlp_bias = biases;
    EST_TRY(prof_get_bool(&c, "qkv_bias", false, &m.qkv_bias, diag));
    EST_TRY(prof_get_bool(&c, "out_bias", false, &m.out_bias, diag));
    EST_TRY(prof_get_bool(&c, "mlp_bias", false, &m.mlp_bias, diag));
    EST_TRY(prof_get_bool(&c, "parallel_block", false, &m.parallel_block, diag));
    EST_TRY(prof_get_bool(&c, "qk_norm", false, &m.qk_norm, diag));

    EST_TRY(prof_get_i64(&c, "experts", false, 0, &m.experts, diag));
    bool moe = m.experts > 0;
    EST_TRY(prof_get_i64(&c, "top_k", moe, moe ? 1 : 0, &m.top_k, diag));
    EST_TRY(prof_get_i64(&c, "moe_ffn", moe, moe ? 1 : 0, &m.moe_ffn, diag));
    EST_TRY(prof_get_i64(&c, "shared_experts", false, 0, &m.shared_experts, diag));
    EST_TRY(prof_get_i64(&c, "shared_ffn", m.shared_experts > 0, m.shared_experts > 0 ? 1 : 0,
                         &m.shared_ffn, diag));
    EST_TRY(prof_get_bool(&c, "shared_expert_gate", false, &m.shared_expert_gate, diag));
    EST_TRY(prof_get_i64(&c, "moe_first_dense", false, 0, &m.moe_first_dense, diag));
    m.moe_every = moe ? 1 : 0;
    EST_TRY(prof_get_i64(&c, "moe_every", false, moe ? 1 : 0, &m.moe_every, diag));
    if (!moe && (m.top_k || m.moe_ffn || m.shared_experts || m.moe_first_dense)) {
        return EST_FAIL(diag, EST_EINVAL,
                        "%s: experts: MoE fields given but experts is 0 or "
                        "missing",
                        origin);
    }

    EST_TRY(get_stated(&c, "params_stated", &m.params_stated, &info->params_stated_tol, diag));
    EST_TRY(get_stated(&c, "params_active_stated", &info->params_active_stated,
                       &info->params_active_stated_tol, diag));
    double rel = -1.0;
    json_t *t = json_object_get(root, "params_stated_tolerance");
    prof_mark_seen(&c, "params_stated_tolerance");
    if (t != NULL) {
        if (!json_is_number(t) || !(json_number_value(t) >= 0) || json_number_value(t) >= 1) {
            return EST_FAIL(diag, EST_EINVAL,
                            "%s: params_stated_tolerance: expected a relative "
                            "tolerance in [0, 1)",
                            origin);
        }
        if (m.params_stated <= 0) {
            return EST_FAIL(diag, EST_EINVAL,
                            "%s: params_stated_tolerance: given without "
                            "params_stated",
                            origin);
        }
        rel = json_number_value(t);
        info->params_stated_tol = rel * m.params_stated;
        if (!isnan(info->params_active_stated)) {
            info->params_active_stated_tol = rel * info->params_active_stated;
        }
    }
    EST_TRY(prof_check_unknown(&c, diag));

    est_diag sub = {{0}, NULL, 0};
    est_status s = est_model_validate(&m, &sub);
    if (s != EST_OK) {
        return EST_FAIL(diag, s, "%s: %s", origin, sub.msg);
    }
    *out = m;
    return EST_OK;
}
