/* test_cal_cli.c -- `llmcal calibrate` and `llmcal validate` end to end, without a GPU: fitting a
 * saved sample file (synthetic: made here from known coefficients with a fixed-seed RNG), writing
 * and reading a calibrated profile, bad sample files, and validate on a published measurement.
 *
 * Usage: test_cal_cli <path to llmcal>. Expected values: the synthetic truth chosen below; the
 * torchtitan fixture's numbers and their origin are stated in tests/data/
 * cal_measured_torchtitan_fsdp128.json (published-public.json case torchtitan_2412_t3_fsdp128).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>

#include "cal/plan.h"
#include "cal/profile.h"
#include "cal/samples_io.h"
#include "check.h"
#include "prof/prof.h"

static const char *llmcal;
static char tmpdir[] = "/tmp/llmcal_cal_cli_XXXXXX";
static char err_text[8192];

/* runs `llmcal <args>`, stdout to out_path (if not NULL), stderr captured; returns the exit code */
static int run(const char *args, const char *out_path)
{
    char cmd[8192];
    char errf[512];
    snprintf(errf, sizeof errf, "%s/stderr.txt", tmpdir);
    snprintf(cmd, sizeof cmd, "'%s' %s >%s 2>%s", llmcal, args,
             out_path != NULL ? out_path : "/dev/null", errf);
    int rc = system(cmd);
    err_text[0] = '\0';
    FILE *f = fopen(errf, "r");
    if (f != NULL) {
        size_t n = fread(err_text, 1, sizeof err_text - 1, f);
        err_text[n] = '\0';
        fclose(f);
    }
    printf("  $ llmcal %s -> %d %s", args, WEXITSTATUS(rc), err_text);
    if (err_text[0] == '\0') {
        printf("\n");
    }
    return WEXITSTATUS(rc);
}

/* truth: the h100-sxm profile's starting coefficients with these efficiencies */
static est_coeffs truth_for(const est_gpu *g)
{
    est_coeffs k = est_coeffs_from_hw(g, NULL);
    k.gemm_eff_max = 0.69;
    k.gemm_half_dim = 420.0;
    k.mem_eff = 0.91;
    k.intra_alpha_s = 9e-6;
    k.intra_bytes_per_s = 3.3e11;
    return k;
}

static void write_samples(const char *path, const est_coeffs *truth, double sigma)
{
    cal_sample_set set;
    cal_sample_set_init(&set);
    cal_plan_options po = cal_plan_default();
    po.gpus = 8;
    CHECK(cal_plan_build(&po, &set, NULL) == EST_OK, "plan");
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7UL);
    for (size_t i = 0; i < set.n; i++) {
        double t = est_predict_sample(&set.s[i], truth);
        set.s[i].p50_s = t * exp(sigma * gsl_ran_gaussian(rng, 1.0));
        set.s[i].min_s = set.s[i].p50_s;
        set.s[i].p99_s = set.s[i].p50_s;
        set.s[i].count = 20;
    }
    gsl_rng_free(rng);
    cal_meta_set(&set.meta, "gpu", "h100-sxm", NULL);
    cal_meta_set(&set.meta, "device", "synthetic (test_cal_cli, mt19937 seed 7)", NULL);
    cal_meta_set(&set.meta, "date", "2025-01-01", NULL);
    CHECK(cal_samples_save(path, &set, NULL) == EST_OK, "write samples");
    cal_sample_set_free(&set);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_calibrate(const est_gpu *g)
{
    char samples[512];
    char prof[512];
    char out[512];
    char args[2048];
    snprintf(samples, sizeof samples, "%s/samples.tsv", tmpdir);
    snprintf(prof, sizeof prof, "%s/h100-test.json", tmpdir);
    snprintf(out, sizeof out, "%s/out.json", tmpdir);
    est_coeffs truth = truth_for(g);
    write_samples(samples, &truth, 0.01);

    snprintf(args, sizeof args, "calibrate --samples %s --out %s --json", samples, prof);
    CHECK(run(args, out) == 0, "calibrate --samples exits 0");
    cal_profile p;
    est_diag d = {{0}, NULL, 0};
    est_status st = cal_profile_load(prof, &p, &d);
    CHECK(st == EST_OK, "calibrated profile loads");
    if (st == EST_OK) {
        /* 1% noise on ~50 samples: the efficiencies and busbw to 2%, the latency to 10% */
        CHECK_REL(p.coeffs.gemm_eff_max, 0.69, 0.02, "gemm_eff_max recovered");
        CHECK_REL(p.coeffs.gemm_half_dim, 420.0, 0.10, "gemm_half_dim recovered");
        CHECK_REL(p.coeffs.mem_eff, 0.91, 0.02, "mem_eff recovered");
        CHECK_REL(p.coeffs.intra_bytes_per_s, 3.3e11, 0.02, "intra busbw recovered");
        CHECK_REL(p.coeffs.intra_alpha_s, 9e-6, 0.10, "intra alpha recovered");
        CHECK(strcmp(p.gpu, "h100-sxm") == 0, "base gpu from the samples' metadata");
        CHECK(strstr(p.device, "synthetic") != NULL, "provenance: device from the samples");
        CHECK(strcmp(p.date, "2025-01-01") == 0, "provenance: date from the samples");
        CHECK(p.samples > 0 && p.rms_rel_err > 0.005 && p.rms_rel_err < 0.02,
              "residual ~ the 1% noise");
        CHECK(!(p.fitted & CAL_BIT(CAL_ATTN_EFF)), "attn_eff not fitted (no flash samples)");
    }
    json_error_t je;
    json_t *rep = json_load_file(out, 0, &je);
    CHECK(rep != NULL, "--json output parses");
    json_t *ge =
        json_object_get(json_object_get(json_object_get(rep, "params"), "gemm_eff_max"), "std_err");
    CHECK(json_is_number(ge) && json_number_value(ge) > 0.0, "uncertainty reported");
    json_decref(rep);
    /* same file, same fit: the profile is reproducible from the samples */
    char prof2[600];
    snprintf(prof2, sizeof prof2, "%s/again.json", tmpdir);
    snprintf(args, sizeof args, "calibrate --samples %s --out %s", samples, prof2);
    CHECK(run(args, NULL) == 0, "second run");
    cal_profile q;
    if (cal_profile_load(prof2, &q, &d) == EST_OK && st == EST_OK) {
        CHECK(q.coeffs.gemm_eff_max == p.coeffs.gemm_eff_max &&
                  q.coeffs.intra_alpha_s == p.coeffs.intra_alpha_s,
              "refit from the file gives identical coefficients");
    }
    /* the estimator takes it: validate with --calibration on the fixture */
    snprintf(args, sizeof args, "validate --calibration %s --measured %s", prof,
             LLMCAL_SOURCE_DIR "/tests/data/cal_measured_torchtitan_fsdp128.json");
    CHECK(run(args, NULL) == 0, "validate --calibration FILE");
    /* llmcal estimate --calibration: the fitted GEMM efficiency (0.69) is below the profile's
       default, so the same configuration's compute time must grow; a profile made for another
       GPU is refused */
    char est_def[600];
    char est_cal[600];
    snprintf(est_def, sizeof est_def, "%s/est_default.json", tmpdir);
    snprintf(est_cal, sizeof est_cal, "%s/est_cal.json", tmpdir);
    CHECK(run("estimate --model llama-3-8b --gpu h100-sxm --gpus 8 --json", est_def) == 0,
          "estimate without calibration");
    snprintf(args, sizeof args,
             "estimate --model llama-3-8b --gpu h100-sxm --gpus 8 --json "
             "--calibration %s",
             prof);
    CHECK(run(args, est_cal) == 0, "estimate --calibration FILE");
    json_t *jd = json_load_file(est_def, 0, &je);
    json_t *jc = json_load_file(est_cal, 0, &je);
    if (jd != NULL && jc != NULL) {
        double cd = json_number_value(json_object_get(json_object_get(jd, "time_s"), "compute"));
        double cc = json_number_value(json_object_get(json_object_get(jc, "time_s"), "compute"));
        CHECK(cc > cd, "a lower fitted GEMM efficiency lengthens compute");
    } else {
        CHECK(false, "estimate --json outputs parse");
    }
    json_decref(jd);
    json_decref(jc);
    snprintf(args, sizeof args,
             "estimate --model llama-3-8b --gpu a100-80gb --gpus 8 "
             "--calibration %s",
             prof);
    CHECK(run(args, NULL) == 2, "a calibration for another GPU is refused");

    /* bad inputs: exit 2 with the file and line, or 1 for an ill-posed fit */
    char bad[512];
    snprintf(bad, sizeof bad, "%s/bad.tsv", tmpdir);
    write_text(bad, "# kind m n k p50\ngemm 1024 1024 1024 1e-4\ngemm 1024 oops 1024 1e-4\n");
    snprintf(args, sizeof args, "calibrate --samples %s", bad);
    CHECK(run(args, NULL) == 2, "malformed sample file: exit 2");
    CHECK(strstr(err_text, "bad.tsv:3: column 'n': 'oops'") != NULL, "names file, line, column");
    write_text(bad, "# kind m n k p50\ngemm 4096 4096 4096 1.9e-4\ngemm 4096 4096 4096 2.0e-4\n"
                    "gemm 4096 4096 4096 2.1e-4\n");
    snprintf(args, sizeof args, "calibrate --samples %s --gpu h100-sxm", bad);
    CHECK(run(args, NULL) == 1, "one GEMM shape: exit 1");
    CHECK(strstr(err_text, "cannot separate gemm_eff_max from gemm_half_dim") != NULL,
          "says why in words");
    snprintf(args, sizeof args, "calibrate --samples %s --fit gemm_eff_max --gpu h100-sxm", bad);
    CHECK(run(args, NULL) == 0, "one shape, eff_max only: fits");
    snprintf(args, sizeof args, "calibrate --samples %s --fit warp_speed", bad);
    CHECK(run(args, NULL) == 2, "unknown --fit name: exit 2");
    CHECK(run("calibrate --samples /nonexistent.tsv", NULL) == 2, "missing file: exit 2");
#ifndef LLMCAL_TEST_HAVE_PROBES
    CHECK(run("calibrate", NULL) == 1, "measuring without the CUDA build: exit 1");
    CHECK(strstr(err_text, "needs the CUDA build") != NULL, "says it needs the CUDA build");
#endif
}

static void test_validate(void)
{
    char out[512];
    char args[2048];
    snprintf(out, sizeof out, "%s/validate.json", tmpdir);
    const char *fx = LLMCAL_SOURCE_DIR "/tests/data/cal_measured_torchtitan_fsdp128.json";
    snprintf(args, sizeof args, "validate --measured %s --out %s", fx, out);
    CHECK(run(args, NULL) == 0, "validate --measured: exit 0 without thresholds");
    json_error_t je;
    json_t *root = json_load_file(out, 0, &je);
    json_t *c0 = json_array_get(json_object_get(root, "cases"), 0);
    CHECK(c0 != NULL, "--out has cases[0]");
    CHECK(json_is_string(json_object_get(c0, "name")) &&
              strcmp(json_string_value(json_object_get(c0, "name")),
                     "torchtitan-llama3.1-8b-fsdp128") == 0,
          "case named from the file");
    json_t *meas = json_object_get(c0, "measured");
    json_t *pred = json_object_get(c0, "predicted");
    json_t *err = json_object_get(c0, "error_pct");
    /* measured values are the fixture's (67.0 GiB, 2*8192/5605 s) */
    CHECK_REL(
        json_number_value(json_object_get(json_object_get(meas, "memory_bytes"), "peak_reserved")),
        67.0 * 1073741824.0, 1e-12, "measured peak_reserved = 67.0 GiB");
    double mt = json_number_value(json_object_get(json_object_get(meas, "time_s"), "iteration"));
    double pt = json_number_value(json_object_get(json_object_get(pred, "time_s"), "iteration"));
    CHECK_REL(mt, 2.0 * 8192.0 / 5605.0, 1e-9, "measured iteration = 2*8192/5605 s");
    double et = json_number_value(json_object_get(json_object_get(err, "time_s"), "iteration"));
    CHECK_REL(et, 100.0 * (pt - mt) / mt, 1e-9, "error_pct = 100 (pred - meas) / meas");
    CHECK(json_object_get(c0, "config") != NULL, "config included");
    double abs_et = fabs(et);
    json_decref(root);

    /* thresholds: a limit above the error passes, one below fails (exit 1) */
    snprintf(args, sizeof args, "validate --measured %s --max-time-err %.6f", fx, abs_et + 1.0);
    CHECK(run(args, NULL) == 0, "time error within a looser threshold");
    snprintf(args, sizeof args, "validate --measured %s --max-time-err %.6f --json", fx,
             abs_et * 0.5);
    CHECK(run(args, NULL) == 1, "time error beyond a tighter threshold: exit 1");

    /* a cases file with a config object and a relative measured path */
    char cases[512];
    snprintf(cases, sizeof cases, "%s/cases.json", tmpdir);
    char text[2048];
    snprintf(text, sizeof text,
             "{\"cases\": [{\"name\": \"tt\", \"config\": {\"model\": \"llama-3.1-8b\", \"gpu\": "
             "\"h100-sxm\", \"gpus\": 128, \"framework\": \"fsdp\", \"fsdp\": \"full\", \"mbs\": 2,"
             " \"gbs\": 256, \"seq\": 8192, \"recompute\": \"selective\", \"sp\": false},"
             " \"measured\": \"%s\"}]}",
             fx);
    write_text(cases, text);
    snprintf(args, sizeof args, "validate --cases %s --json", cases);
    CHECK(run(args, NULL) == 0, "cases file with a config object");
    /* no measured file and no CUDA runtime: said in words */
    write_text(cases, "[{\"name\": \"x\", \"args\": [\"--model\", \"llama-3.1-8b\", \"--gpus\","
                      " \"8\"]}]");
    snprintf(args, sizeof args, "validate --cases %s", cases);
    int rc = run(args, NULL);
    if (strstr(err_text, "CUDA") != NULL || strstr(err_text, "device") != NULL) {
        CHECK(rc == 1, "needs the CUDA runtime: exit 1");
    } else {
        printf("  (CUDA runtime present: case ran, rc %d)\n", rc);
    }
    /* the runtime path on the CPU reference backend (a tiny model; plumbing, not GPU numbers) */
    write_text(cases, "[{\"name\": \"tiny\", \"args\": [\"--model\", \"" LLMCAL_SOURCE_DIR
                      "/tests/data/cal_tiny_llama.json\", \"--gpu\", \"h100-sxm\", \"--gpus\", "
                      "\"2\", \"--tp\", \"2\", \"--mbs\", \"2\", \"--gbs\", \"4\", \"--seq\", "
                      "\"16\", \"--precision\", \"fp32\"]}]");
    snprintf(args, sizeof args, "validate --cases %s --backend cpu --steps 2 --out %s", cases, out);
    CHECK(run(args, NULL) == 0, "validate --backend cpu runs the case on the runtime");
    root = json_load_file(out, 0, &je);
    c0 = json_array_get(json_object_get(root, "cases"), 0);
    json_t *pk = json_object_get(json_object_get(json_object_get(c0, "measured"), "memory_bytes"),
                                 "peak_allocated");
    CHECK(json_is_number(pk) && json_number_value(pk) > 0, "runtime peak measured");
    json_t *src = json_object_get(c0, "source");
    CHECK(json_is_string(src) && strstr(json_string_value(src), "cpu") != NULL,
          "source says the cpu backend");
    json_decref(root);
    /* bad inputs */
    write_text(cases, "[{\"name\": \"x\", \"config\": {\"modle\": \"llama-3.1-8b\"}}]");
    CHECK(run(args, NULL) == 2, "misspelt config key: exit 2");
    CHECK(strstr(err_text, "config.modle") != NULL, "names the key");
    write_text(cases, "[{\"name\": \"x\", \"args\": [\"--tp\", \"3\", \"--model\", "
                      "\"llama-3.1-8b\"], \"measured\": \"" LLMCAL_SOURCE_DIR
                      "/tests/data/cal_measured_torchtitan_fsdp128.json\"}]");
    CHECK(run(args, NULL) == 2, "impossible layout: exit 2");
    char badm[512];
    snprintf(badm, sizeof badm, "%s/badm.json", tmpdir);
    write_text(badm, "{\"args\": [\"--model\", \"llama-3.1-8b\"], \"memory_bytes\": "
                     "{\"weights\": \"lots\"}}");
    snprintf(args, sizeof args, "validate --measured %s", badm);
    CHECK(run(args, NULL) == 2, "non-numeric measured value: exit 2");
    CHECK(strstr(err_text, "memory_bytes.weights") != NULL, "names the measured key");
    write_text(badm, "{\"args\": [\"--model\"");
    CHECK(run(args, NULL) == 2, "truncated JSON: exit 2");
    CHECK(run("validate", NULL) == 2, "no cases: exit 2");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_cal_cli <llmcal>\n");
        return 2;
    }
    llmcal = argv[1];
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    est_gpu g;
    if (prof_gpu_load("h100-sxm", &g, NULL) != EST_OK) {
        fprintf(stderr, "h100-sxm profile missing\n");
        return 1;
    }
    test_calibrate(&g);
    test_validate();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return check_summary();
}
