/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* capture.h: a step's "capture": named values taken from its stdout when it succeeds, for later
 * steps to use ({{steps.ID.NAME}}). Each value comes from the first line that matches a regex
 * (its one group), from a JSON document's member ("json": "a.b[0]"), or from line N; it must
 * be printable text on one line, at most CAPTURE_VALUE_MAX bytes, not start with '-' unless the
 * capture allows it, and match its "pattern" when there is one. No sd-bus, no store. */
#pragma once

#include <jansson.h>
#include <regex.h>

#include "shared/util.h"

#define CAPTURES_MAX 16           /* values one step captures */
#define CAPTURE_VALUE_MAX 4096    /* bytes of one value (as a parameter's) */
#define CAPTURE_JSON_DEPTH_MAX 16 /* members and indexes in a "json" path */

typedef enum CaptureKind {
        CAPTURE_REGEX,
        CAPTURE_JSON,
        CAPTURE_LINE,
} CaptureKind;

typedef struct CaptureSegment {
        char *member;             /* NULL: an array index */
        size_t index;
} CaptureSegment;

typedef struct CaptureSpec {
        char *name;               /* a template name: [A-Za-z_][A-Za-z0-9_]{0,63} */
        CaptureKind kind;
        char *source;             /* the regex or the JSON path as written; NULL for "line" */
        regex_t regex;            /* CAPTURE_REGEX */
        CaptureSegment *path;     /* CAPTURE_JSON */
        size_t n_path;
        unsigned line;            /* CAPTURE_LINE: 1 is the first */
        char *pattern;            /* NULL: any value */
        regex_t pattern_regex;
        bool allow_leading_dash;
} CaptureSpec;

/* Parses the "capture" object of a step ('path' is its JSON path, e.g. "$.steps[0].capture"):
 * *ret is an array of *ret_n specs. Errors name 'source' and the JSON path. */
int capture_specs_from_json(json_t *v, const char *source, const char *path, CaptureSpec **ret, size_t *ret_n,
                            char **ret_error);
void capture_specs_free(CaptureSpec *c, size_t n);
const CaptureSpec *capture_spec_find(const CaptureSpec *c, size_t n, const char *name, size_t name_len);

/* Takes the value of 'c' from 'out' (n bytes of stdout). Returns 0 with *ret (malloc'd), 1 with
 * *ret_problem saying why there is none (e.g. "no line of stdout matches '^v([0-9]+)$'"), or
 * -ENOMEM. */
int capture_extract(const CaptureSpec *c, const char *out, size_t n, char **ret, char **ret_problem);
