/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-when: a "when" expression through expr_parse(); one that parses is formatted, and the
 * formatted text must parse again to the same text (a round trip). */
#include <stdlib.h>
#include <string.h>

#include "config/expr.h"
#include "fuzz.h"
#include "shared/tests.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *in = fuzz_string(data, size), err[256], *f1 = NULL, *f2 = NULL;
        Expr *e = NULL, *e2 = NULL;

        if (!in)
                return 0;
        if (expr_parse(in, &e, err, sizeof err) >= 0 && expr_format(e, &f1) >= 0) {
                check(expr_parse(f1, &e2, err, sizeof err) >= 0);
                check(expr_format(e2, &f2) >= 0);
                check_streq(f1, f2);
        }
        free(f1);
        free(f2);
        expr_free(e);
        expr_free(e2);
        free(in);
        return 0;
}
