/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-main.c: replays inputs through LLVMFuzzerTestOneInput() without libFuzzer: every file
 * named, and every file in every directory named (not recursive). Exit 0 when all ran. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
        FILE *f = fopen(path, "re");
        uint8_t *buf = NULL;
        size_t size = 0, n;
        char chunk[65536];

        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
                uint8_t *b = realloc(buf, size + n);
                if (!b) {
                        fclose(f);
                        free(buf);
                        return -1;
                }
                buf = b;
                memcpy(buf + size, chunk, n);
                size += n;
        }
        fclose(f);
        (void) LLVMFuzzerTestOneInput(buf ? buf : (const uint8_t *) "", size);
        free(buf);
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned n = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (argv[i][0] == '-')
                        continue;   /* libFuzzer's flags: not for the replay */
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (run_file(argv[i]) < 0)
                                return 1;
                        n++;
                        continue;
                }
                DIR *d = opendir(argv[i]);
                struct dirent *de;
                if (!d)
                        return 1;
                while ((de = readdir(d))) {
                        char *p;
                        if (de->d_name[0] == '.')
                                continue;
                        if (asprintf(&p, "%s/%s", argv[i], de->d_name) < 0)
                                return 1;
                        if (run_file(p) < 0) {
                                free(p);
                                closedir(d);
                                return 1;
                        }
                        free(p);
                        n++;
                }
                closedir(d);
        }
        fprintf(stderr, "replayed %u inputs\n", n);
        return n > 0 ? 0 : 1;
}
