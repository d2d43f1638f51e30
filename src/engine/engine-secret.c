/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-secret.c: secret parameters in a session (docs/runbooks.md, "Secret parameters").
 *
 * At StartSession a secret's value is checked: a "cred:NAME" must name a credential runbookd can
 * read (it is read again when a step runs, so a rotated credential is used as it is then), and is
 * kept as it is; a literal value is sealed (config/secret-seal.h) into Session.sealed and shown
 * everywhere — Session.Parameters, the store's parameters, the journal — as "***". When a step
 * runs, every secret of its session is resolved and handed to the connector (StepRequest.secrets),
 * which puts it in the command's environment and masks it in the output.
 *
 * What an approval binds to (the step's digest) covers, besides the command, each secret's
 * variable and where its value comes from: "cred:NAME", or "literal" — never the value, nor a
 * hash of it (a short secret could be found again from its hash). A literal value is fixed when
 * the session starts and sealed to that session and parameter, so the approval covers no less. */
#include <stdio.h>

#include "config/config-util.h"
#include "config/runbook.h"
#include "config/secret-seal.h"
#include "config/secret.h"
#include "engine/engine-internal.h"
#include "shared/log.h"

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The names of the session's secret parameters, sorted (*ret NULL when there are none). */
static int session_secret_names(const Session *s, const char ***ret, size_t *ret_n) {
        json_t *params = json_object_get(s->snapshot, "parameters"), *v;
        _cleanup_free_ const char **names = NULL;
        const char *key;
        size_t n = 0;

        names = calloc(json_object_size(params) + 1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        json_object_foreach(params, key, v)
                if (json_is_true(json_object_get(v, "secret")))
                        names[n++] = key;
        qsort(names, n, sizeof(char *), name_cmp);
        *ret = n > 0 ? TAKE_PTR(names) : NULL;
        *ret_n = n;
        return 0;
}

/* Wipes the string 'key' of 'obj' in place (jansson's own copy) and replaces it by 'shown'. */
static int wipe_member(json_t *obj, const char *key, const char *shown) {
        json_t *v = json_object_get(obj, key);

        if (!json_is_string(v))
                return 0;
        explicit_bzero((char *) json_string_value(v), json_string_length(v));
        return shown ? json_object_set_new(obj, key, json_string(shown)) : 0;
}

int session_bind_secrets(Session *s, json_t *given, bool seal, char **ret_error) {
        _cleanup_free_ const char **names = NULL;
        size_t n;
        int r;

        r = session_secret_names(s, &names, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const char *v = json_string_value(json_object_get(s->parameters, names[i]));
                _cleanup_free_ char *why = NULL, *sealed = NULL;

                if (!v)
                        return -EINVAL;
                if (secret_is_credential_ref(v)) {
                        /* fail closed now rather than when an approved step runs; not for a plan,
                         * which anyone may ask for: it would tell which credentials runbookd has */
                        if (!seal)
                                continue;
                        r = secret_check_credential(v, &why);
                        if (r < 0) {
                                (void) asprintf_safe(ret_error, "parameter '%s': %s", names[i],
                                                     why ?: "its credential cannot be read");
                                return r == -ENOMEM ? r : -EINVAL;
                        }
                        continue;
                }
                if (seal) {
                        r = secret_seal(s->id, names[i], v, strlen(v), &sealed);
                        if (r < 0) {
                                log_error_errno(r, "Cannot seal a secret parameter's value (key in '%s'): %m",
                                                secret_seal_dir());
                                (void) asprintf_safe(ret_error, "parameter '%s': runbookd cannot keep its value sealed "
                                                     "(%s); give it as cred:NAME", names[i], strerror(-r));
                                return -EIO;
                        }
                        if (!s->sealed && !(s->sealed = json_object()))
                                return -ENOMEM;
                        if (json_object_set_new(s->sealed, names[i], json_string(sealed)) < 0)
                                return -ENOMEM;
                }
                if (wipe_member(s->parameters, names[i], SECRET_LITERAL_SHOWN) < 0)
                        return -ENOMEM;
        }
        /* the caller's copy of the values too */
        for (size_t i = 0; i < n; i++)
                if (given && !secret_is_credential_ref(strempty(json_string_value(json_object_get(given, names[i])))))
                        (void) wipe_member(given, names[i], NULL);
        return 0;
}

int session_secrets_digest_text(const Session *s, char **ret) {
        _cleanup_free_ const char **names = NULL;
        _cleanup_free_ char *t = NULL;
        size_t n, size = 0;
        FILE *f;
        int r;

        r = session_secret_names(s, &names, &n);
        if (r < 0)
                return r;
        *ret = NULL;
        if (n == 0)
                return 0;
        f = open_memstream(&t, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *v = json_string_value(json_object_get(s->parameters, names[i]));
                _cleanup_free_ char *env = secret_env_name(names[i]);

                fprintf(f, "\nsecret %s=%s", strna(env), v && secret_is_credential_ref(v) ? v : "literal");
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(t);
        return 0;
}

/* A target file that did not load still names its credentials: its text is searched for
 * "cred:NAME" and for NAME after a slash (a path into $CREDENTIALS_DIRECTORY), which may find more
 * than the JSON would; a file that cannot be read counts as naming it (fail closed). */
static bool broken_file_names_credential(const char *path, const char *name) {
        _cleanup_free_ char *text = NULL, *ref = NULL, *tail = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t n;

        if (!path)
                return false;
        f = fopen(path, "re");
        text = malloc(CONFIG_CREDENTIAL_SIZE_MAX + 1);
        if (!f || !text)
                return true;
        n = fread(text, 1, CONFIG_CREDENTIAL_SIZE_MAX, f);
        if (ferror(f) || !feof(f))
                return true;
        text[n] = 0;
        if (asprintf_safe(&ref, "cred:%s", name) < 0 || asprintf_safe(&tail, "/%s", name) < 0)
                return true;
        return memmem(text, n, ref, strlen(ref)) || memmem(text, n, tail, strlen(tail));
}

bool engine_credential_is_own(const char *name, void *userdata) {
        Engine *e = userdata;

        for (size_t i = 0; e->targets && i < e->targets->n_targets; i++)
                if (config_json_uses_credential(e->targets->targets[i]->config, name))
                        return true;
        for (size_t i = 0; e->targets && i < e->targets->n_broken; i++)
                if (broken_file_names_credential(e->targets->broken[i].file, name))
                        return true;
        return e->notify && config_json_uses_credential(e->notify->doc, name);
}

/* A caller's "cred:NAME" that became one of runbookd's own credentials after StartSession (a
 * Reload added a target or a sink naming it) is refused when a step runs, as at StartSession; the
 * runbook's own default is the runbook's business. */
static bool secret_became_own(const Session *s, const char *param, const char *value) {
        json_t *p = json_object_get(json_object_get(s->snapshot, "parameters"), param);
        const char *def = json_string_value(json_object_get(p, "default"));

        return !(def && streq(def, value)) && engine_credential_is_own(value + strlen(SECRET_CRED_PREFIX), session_engine(s));
}

/* session_check_secrets_own() over the session's secret names, found already */
static int check_secrets_own(const Session *s, const char **names, size_t n, char **ret_why) {
        for (size_t k = 0; k < n; k++) {
                const char *v = json_string_value(json_object_get(s->parameters, names[k]));

                if (v && secret_is_credential_ref(v) && secret_became_own(s, names[k], v)) {
                        (void) asprintf_safe(ret_why, "secret parameter '%s': credential '%s' is now one runbookd "
                                             "uses itself (a target's or a notification sink's); not passed to a "
                                             "step", names[k], v + strlen(SECRET_CRED_PREFIX));
                        return -EPERM;
                }
        }
        return 0;
}

int session_check_secrets_own(const Session *s, char **ret_why) {
        _cleanup_free_ const char **names = NULL;
        size_t n;
        int r;

        r = session_secret_names(s, &names, &n);
        if (r < 0)
                return r;
        return check_secrets_own(s, names, n, ret_why);
}

int session_resolve_secrets(const Session *s, StepSecret **ret, size_t *ret_n, char **ret_why) {
        _cleanup_free_ const char **names = NULL;
        StepSecret *l = NULL;
        size_t n, k = 0;
        int r;

        *ret = NULL;
        *ret_n = 0;
        r = session_secret_names(s, &names, &n);
        if (r < 0 || n == 0)
                return r;
        r = check_secrets_own(s, names, n, ret_why);
        if (r < 0)
                return r;
        l = calloc(n, sizeof(StepSecret));
        if (!l)
                return -ENOMEM;
        for (; k < n; k++) {
                const char *v = json_string_value(json_object_get(s->parameters, names[k]));
                const char *sealed = json_string_value(json_object_get(s->sealed, names[k]));
                _cleanup_free_ char *why = NULL;

                l[k].name = secret_env_name(names[k]);
                if (!l[k].name) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (v && secret_is_credential_ref(v)) {
                        r = secret_read_credential(v, &l[k].value, &l[k].len, &why);
                        if (r < 0) {
                                (void) asprintf_safe(ret_why, "secret parameter '%s': %s", names[k],
                                                     why ?: "its credential cannot be read");
                                goto fail;
                        }
                        continue;
                }
                r = sealed ? secret_unseal(s->id, names[k], sealed, &l[k].value, &l[k].len) : -ENOKEY;
                if (r == -ENOKEY || r == -EBADMSG) {
                        (void) asprintf_safe(ret_why, "the literal value of secret parameter '%s' did not survive a restart "
                                             "of the machine (runbookd keeps it sealed under a key that lasts only until "
                                             "then); start a new session, or give the value as cred:NAME", names[k]);
                        goto fail;
                }
                if (r < 0) {
                        (void) asprintf_safe(ret_why, "the literal value of secret parameter '%s' cannot be unsealed: %s",
                                             names[k], strerror(-r));
                        goto fail;
                }
        }
        *ret = l;
        *ret_n = n;
        return 0;
fail:
        step_secrets_free(l, k + 1);
        return r;
}

int step_ensure_secrets(Step *st, char **ret_why) {
        StepRuntime *rt = step_rt(st);

        if (rt->secrets)
                return 0;
        return session_resolve_secrets(st->session, &rt->secrets, &rt->n_secrets, ret_why);
}

void step_drop_secrets(Step *st) {
        StepRuntime *rt = step_rt(st);

        step_secrets_free(rt->secrets, rt->n_secrets);
        rt->secrets = NULL;
        rt->n_secrets = 0;
}
