/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* secret.h: secret parameters ("secret": true). A value is given at StartSession as "cred:NAME"
 * (the credential NAME in runbookd's $CREDENTIALS_DIRECTORY, read when the step runs) or literally
 * (kept sealed, secret-seal.h). It reaches the command only as the environment variable
 * RUNBOOK_SECRET_<NAME> (the parameter's name upper-cased); docs/runbooks.md, "Secret parameters".
 * No sd-bus, no store. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SECRET_PROBLEM_MAX 256
#define SECRET_ENV_PREFIX "RUNBOOK_SECRET_"
#define SECRET_CRED_PREFIX "cred:"
#define SECRET_CRED_NAME_MAX 255
/* what Session.Parameters and everything else shows for a literal value */
#define SECRET_LITERAL_SHOWN "***"
/* the shortest value: output masks values from this length on (connector/output.h OUTPUT_MASK_MIN) */
#define SECRET_VALUE_MIN 4

/* "RUNBOOK_SECRET_" + 'param' upper-cased (a parameter name: [A-Za-z_][A-Za-z0-9_]*), or NULL on OOM. */
char *secret_env_name(const char *param);
/* A credential's name: 1-255 bytes of [A-Za-z0-9_.@:-], not "." nor "..", no '/' (systemd's
 * rules for a file name in $CREDENTIALS_DIRECTORY, narrowed to plain characters). */
bool secret_credential_name_is_valid(const char *name);
/* "cred:NAME" with a valid NAME. */
bool secret_is_credential_ref(const char *s);
/* Whether 's' is acceptable as a secret parameter's value (a "cred:NAME", or a literal: not
 * empty, printable UTF-8 of one line, at most RUNBOOK_PARAM_VALUE_MAX bytes, not starting with
 * "cred:"): 0, or 1 with the reason in 'why' (SECRET_PROBLEM_MAX bytes), which never holds the value. */
int secret_value_problem(const char *s, char why[static SECRET_PROBLEM_MAX]);
/* Checks that the credential of 'ref' ("cred:NAME") exists and is readable, without reading it:
 * 0, or a negative errno with the reason in *ret_why. */
int secret_check_credential(const char *ref, char **ret_why);
/* Reads the credential's value for the environment: its content without one trailing newline.
 * -EBADMSG (with *ret_why) if it is empty or holds a NUL or another newline. The value is wiped
 * when freed (wipe_free(value, len + 1)). */
int secret_read_credential(const char *ref, char **ret, size_t *ret_len, char **ret_why);
