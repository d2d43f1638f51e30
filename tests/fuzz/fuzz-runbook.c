/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-runbook: a runbook document (JSON) through runbook_from_json(); one that parses has its
 * parameters bound (defaults, and the value "x; $(touch /tmp/no)" for each parameter without
 * one) and every step's command rendered as the engine renders it, with the step references kept. */
#include <jansson.h>
#include <stdlib.h>

#include "config/runbook.h"
#include "config/template.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *doc = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
        Runbook *rb = NULL;
        char *error = NULL;

        if (!doc)
                return 0;
        if (runbook_from_json(doc, "fuzz", "fuzz.json", &rb, &error) >= 0) {
                json_t *given = json_object(), *bound = NULL;
                for (size_t i = 0; given && i < rb->n_params; i++)
                        if (!rb->params[i].default_value)
                                json_object_set_new(given, rb->params[i].name, json_string("x; $(touch /tmp/no)"));
                if (runbook_bind_parameters(rb, given, NULL, NULL, &bound, &error) >= 0) {
                        json_t *steps = json_object();
                        for (size_t i = 0; i < rb->n_steps; i++) {
                                char *out = NULL;
                                if (template_render_steps(rb->steps[i].run, bound, steps, true, &out) >= 0)
                                        free(out);
                        }
                        json_decref(steps);
                }
                json_decref(bound);
                json_decref(given);
                runbook_free(rb);
        }
        free(error);
        json_decref(doc);
        return 0;
}
