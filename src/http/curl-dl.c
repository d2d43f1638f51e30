/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>

#include "http/curl-dl.h"
#include "shared/log.h"

#define CURL_DL_DEFINE(name) typeof(name) *sym_##name = NULL;
CURL_DL_FUNCTIONS(CURL_DL_DEFINE)
#undef CURL_DL_DEFINE

static void *curl_dl = NULL;

int curl_dl_open(const char **ret_error) {
        static char why[256];
        void *dl;

        if (curl_dl)
                return 0;
        dl = dlopen(CURL_DL_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl) {
                snprintf(why, sizeof why, "cannot load %s (libcurl4): %s", CURL_DL_SONAME, strna(dlerror()));
                if (ret_error)
                        *ret_error = why;
                return log_error_errno(-ELIBACC, "%s", why);
        }
#define CURL_DL_RESOLVE(name)                                                                  \
        if (!(sym_##name = (typeof(name) *) dlsym(dl, #name))) {                               \
                snprintf(why, sizeof why, "%s has no symbol %s", CURL_DL_SONAME, #name);       \
                goto fail;                                                                     \
        }
        CURL_DL_FUNCTIONS(CURL_DL_RESOLVE)
#undef CURL_DL_RESOLVE
        curl_dl = dl;
        log_debug("Loaded %s.", CURL_DL_SONAME);
        return 0;

fail:
#define CURL_DL_RESET(name) sym_##name = NULL;
        CURL_DL_FUNCTIONS(CURL_DL_RESET)
#undef CURL_DL_RESET
        (void) dlclose(dl);
        if (ret_error)
                *ret_error = why;
        return log_error_errno(-ELIBACC, "%s", why);
}
