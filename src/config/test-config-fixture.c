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
                fprintf(stderr, "unexpected error: %s\n", error);
        check_int(r, 0);
        check(!error);
}
