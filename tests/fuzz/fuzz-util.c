/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

char *fuzz_string(const uint8_t *data, size_t size) {
        char *s;

        if (memchr(data, 0, size))
                return NULL;
        s = malloc(size + 1);
        if (!s)
                return NULL;
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

static char *tmpdir_to_remove = NULL;

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_tmpdir(void) {
        if (tmpdir_to_remove)
                (void) nftw(tmpdir_to_remove, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_tmpdir_remove_at_exit(const char *dir) {
        if (!tmpdir_to_remove && (tmpdir_to_remove = strdup(dir)))
                atexit(remove_tmpdir);
}
