/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-target: a target document (JSON) through target_from_json(), for each connector's rules. */
#include <jansson.h>
#include <stdlib.h>

#include "config/target.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *doc = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
        Target *t = NULL;
        char *error = NULL;

        if (!doc)
                return 0;
        if (target_from_json(doc, "fuzz", "fuzz.json", &t, &error) >= 0)
                target_free(t);
        free(error);
        json_decref(doc);
        return 0;
}
