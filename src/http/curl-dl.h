/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* curl-dl.h: libcurl, loaded with dlopen() when the first HTTP request is made (an azure step or
 * check), not at start-up: libcurl pulls in a TLS stack, Kerberos, LDAP, PKCS#11 and more, which
 * a daemon that never talks to Azure should not carry (several MiB of resident memory). The
 * functions are called through these pointers (sym_curl_*); only curl-event.c uses them. */
#pragma once

#define CURL_DISABLE_TYPECHECK 1   /* the typecheck macros would wrap the names, not the pointers */
#include <curl/curl.h>

#define CURL_DL_SONAME "libcurl.so.4"

#define CURL_DL_FUNCTIONS(X)                                                                                  \
        X(curl_global_init)                                                                                   \
        X(curl_easy_init)                                                                                     \
        X(curl_easy_cleanup)                                                                                  \
        X(curl_easy_setopt)                                                                                   \
        X(curl_easy_getinfo)                                                                                  \
        X(curl_easy_strerror)                                                                                 \
        X(curl_multi_init)                                                                                    \
        X(curl_multi_cleanup)                                                                                 \
        X(curl_multi_setopt)                                                                                  \
        X(curl_multi_add_handle)                                                                              \
        X(curl_multi_remove_handle)                                                                           \
        X(curl_multi_socket_action)                                                                           \
        X(curl_multi_assign)                                                                                  \
        X(curl_multi_info_read)                                                                               \
        X(curl_multi_strerror)                                                                                \
        X(curl_share_init)                                                                                    \
        X(curl_share_setopt)                                                                                  \
        X(curl_share_cleanup)                                                                                 \
        X(curl_slist_append)                                                                                  \
        X(curl_slist_free_all)                                                                                \
        X(curl_getdate)

#define CURL_DL_DECLARE(name) extern typeof(name) *sym_##name;
CURL_DL_FUNCTIONS(CURL_DL_DECLARE)
#undef CURL_DL_DECLARE

/* Loads libcurl (once) and resolves the functions. 0 on success; else a negative errno and
 * *ret_error (static text, may be NULL) says why. */
int curl_dl_open(const char **ret_error);
