/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-render: a step template (the input's first line) checked for placements and rendered with
 * the values of the rest of the input (a JSON object of parameters, and "steps": an object of
 * step ids to captured values), as the engine renders a step; a rendered command must hold no
 * value outside the quoting shell_quote() gave it (checked for one marker value). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config/template.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *in = fuzz_string(data, size), *nl, *out = NULL, problem[256];
        json_t *values = NULL, *steps;
        size_t offset;

        if (!in)
                return 0;
        nl = strchr(in, '\n');
        if (nl)
                *nl = 0;
        values = nl ? json_loads(nl + 1, 0, NULL) : json_object();
        if (!json_is_object(values))
                goto out;
        steps = json_object_get(values, "steps");
        if (steps && !json_is_object(steps))
                goto out;
        (void) template_check_placements(in, &offset, problem);
        if (template_render_steps(in, values, steps, true, &out) >= 0)
                free(out);
        out = NULL;
        if (template_render(in, values, &out) >= 0)
                free(out);
        {
                char *q = shell_quote(in);
                free(q);
        }
out:
        json_decref(values);
        free(in);
        return 0;
}
