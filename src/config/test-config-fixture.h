/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-config-fixture.h: what the unit tests of runbooks and targets share: mkdtemp directories,
 * the files written into them, and the checks around parsing a test document. */
#pragma once

#include <jansson.h>

#include "config/runbook.h"
#include "config/target.h"
#include "shared/tests.h"

/* A new directory /tmp/<test program>-XXXXXX; the caller frees the name and removes it with rm_rf(). */
char *make_tmpdir(void);
void rm_rf(const char *dir);

/* Writes 'content' to dir/rel, creating the one intermediate directory if needed; returns the path. */
char *write_file(const char *dir, const char *rel, const char *content);
/* The same, when the path is not needed. */
void put_file(const char *dir, const char *rel, const char *content);

/* 'text' as JSON (duplicate keys refused), which the test must have written correctly. */
json_t *test_json(const char *text);

/* After a parse that must fail: checks that it returned -EINVAL with an error and nothing else
 * ('made' is what it made), prints the error and returns it. */
char *check_parse_failed(int r, const void *made, char *error);
/* After a parse that must succeed: checks that it returned 0 and no error (or prints the error). */
void check_parse_ok(int r, const char *error);

/* Runbook documents under test are parsed as runbook "web" loaded from this file. */
#define TEST_RUNBOOK_SRC "/x/runbooks/web.json"
/* Parses 'text' as a runbook; it must fail: returns the error (the caller frees it). */
char *parse_runbook_error(const char *text);
/* ... with exactly this error / an error starting with this. */
void check_runbook_error(const char *text, const char *expected);
void check_runbook_error_prefix(const char *text, const char *prefix);
/* Parses 'text' as a runbook; it must succeed. */
Runbook *parse_runbook_ok(const char *text);
