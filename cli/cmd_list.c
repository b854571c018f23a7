/* cmd_list.c -- `llmcal list [models|gpus|clusters]`: the built-in (and user-directory) profiles
 * with a one-line description each. `--json` prints {"models": [...], "gpus": [...], ...}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"      // provides: CLI_EXIT_*
#include "prof/prof.h" // provides: prof_list, prof_describe

#define LIST_CAP 512

int cmd_list(int argc, char **argv)
{
    static char names[LIST_CAP][LLMCAL_NAME_MAX];
    static const char *const kinds[PROF_KIND_COUNT] = {"models", "gpus", "clusters"};
    bool want[PROF_KIND_COUNT] = {true, true, true};
    bool json = false;
    bool filtered = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: llmcal list [models|gpus|clusters] [--json]\n");
            return CLI_EXIT_OK;
        }
        int k = -1;
        for (int j = 0; j < PROF_KIND_COUNT; j++) {
            if (strcmp(argv[i], kinds[j]) == 0) {
                k = j;
            }
        }
        if (k < 0) {
            fprintf(stderr, "llmcal list: unknown kind '%s' (models, gpus or clusters)\n", argv[i]);
            return CLI_EXIT_USAGE;
        }
        if (!filtered) {
            memset(want, 0, sizeof want);
            filtered = true;
        }
        want[k] = true;
    }
    json_t *root = json ? json_object() : NULL;
    for (int k = 0; k < PROF_KIND_COUNT; k++) {
        if (!want[k]) {
            continue;
        }
        size_t n = prof_list((prof_kind)k, names, LIST_CAP);
        if (n > LIST_CAP) {
            n = LIST_CAP;
        }
        json_t *arr = json ? json_array() : NULL;
        if (!json) {
            printf("%s%s:\n", k ? "\n" : "", kinds[k]);
        }
        for (size_t i = 0; i < n; i++) {
            char desc[256];
            prof_describe((prof_kind)k, names[i], desc, sizeof desc);
            if (json) {
                json_t *o = json_object();
                json_object_set_new(o, "name", json_string(names[i]));
                json_object_set_new(o, "description", json_string(desc));
                json_array_append_new(arr, o);
            } else {
                printf("  %-28s %s\n", names[i], desc);
            }
        }
        if (json) {
            json_object_set_new(root, kinds[k], arr);
        }
    }
    if (json) {
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text) {
            puts(text);
        }
        free(text);
        json_decref(root);
    }
    return CLI_EXIT_OK;
}
