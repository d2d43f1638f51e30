/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fuzz.h: each tests/fuzz/fuzz-*.c defines LLVMFuzzerTestOneInput(). With -Dfuzz=true (clang)
 * it is linked with libFuzzer; otherwise with fuzz-main.c, which replays the files it is given
 * (the seed corpus: a regression test in the normal suites, under the sanitizers too). */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (malloc'ed), or NULL if it holds a NUL byte. */
char *fuzz_string(const uint8_t *data, size_t size);
/* A temporary directory of the target's, removed (with what it holds) when the process exits. */
void fuzz_tmpdir_remove_at_exit(const char *dir);
