/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-config-fixture.c: see test-config-fixture.h. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include "config/test-config-fixture.h"

char *make_tmpdir(void) {
        char *d = NULL;

        check(asprintf_safe(&d, "/tmp/%s-XXXXXX", program_invocation_short_name) == 0);
        check(mkdtemp(d));
        return d;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

void rm_rf(const char *dir) {
        check(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

char *write_file(const char *dir, const char *rel, const char *content) {
        char *path;
        FILE *f;

        check(asprintf_safe(&path, "%s/%s", dir, rel) == 0);
        char *slash = strrchr(path, '/');
        *slash = 0;
        check(mkdir(path, 0755) == 0 || errno == EEXIST);
        *slash = '/';
        f = fopen(path, "we");
        check(f);
        check(fputs(content, f) >= 0);
        check(fclose(f) == 0);
        return path;
}

void put_file(const char *dir, const char *rel, const char *content) {
        free(write_file(dir, rel, content));
}

json_t *test_json(const char *text) {
        json_error_t e;
        json_t *doc;

        doc = json_loads(text, JSON_REJECT_DUPLICATES, &e);
        if (!doc)
                fprintf(stderr, "bad test JSON: %s\n", e.text);
        check(doc);
        return doc;
}

char *check_parse_failed(int r, const void *made, char *error) {
        check_int(r, -EINVAL);
        check(!made);
        check(error);
        fprintf(stderr, "   %s\n", error);
        return error;
}

void check_parse_ok(int r, const char *error) {
        if (r < 0)
                fprintf(stderr, "unexpected error: %s\n", strna(error));
        check_int(r, 0);
        check(!error);
}

char *parse_runbook_error(const char *text) {
        _cleanup_(json_decrefp) json_t *doc = test_json(text);
        _cleanup_(runbook_freep) Runbook *rb = NULL;
        char *error = NULL;
        int r;

        r = runbook_from_json(doc, "web", TEST_RUNBOOK_SRC, &rb, &error);
        return check_parse_failed(r, rb, error);
}

void check_runbook_error(const char *text, const char *expected) {
        _cleanup_free_ char *error = parse_runbook_error(text);
        check_streq(error, expected);
}

void check_runbook_error_prefix(const char *text, const char *prefix) {
        _cleanup_free_ char *error = parse_runbook_error(text);
        if (strncmp(error, prefix, strlen(prefix)) != 0)
                fprintf(stderr, "expected prefix: %s\n", prefix);
        check(strncmp(error, prefix, strlen(prefix)) == 0);
}

Runbook *parse_runbook_ok(const char *text) {
        _cleanup_(json_decrefp) json_t *doc = test_json(text);
        _cleanup_free_ char *error = NULL;
        Runbook *rb = NULL;

        check_parse_ok(runbook_from_json(doc, "web", TEST_RUNBOOK_SRC, &rb, &error), error);
        return rb;
}
