/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/lock-name.h"
#include "config/template.h"
#include "shared/macro.h"
#include "shared/util.h"

static bool lock_char_ok(char c) {
        return c > ' ' && c < 0x7f;
}

bool lock_name_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > LOCK_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!lock_char_ok(s[i]))
                        return false;
        return true;
}

int lock_template_check(const char *tmpl, char *const *params, size_t n, size_t *ret_offset, char **ret_problem) {
        const char *p = tmpl, *start, *end, *name;
        size_t name_len, literal = 0;
        int r;

        *ret_problem = NULL;
        *ret_offset = 0;
        if (isempty(tmpl)) {
                *ret_problem = strdup("must not be empty");
                return *ret_problem ? -EINVAL : -ENOMEM;
        }
        for (;;) {
                r = template_next(p, &start, &end, &name, &name_len);
                if (r < 0) {
                        *ret_offset = (size_t) (start - tmpl);
                        *ret_problem = strdup(r == -EINVAL ? "\"{{\" without \"}}\"" :
                                              "\"{{…}}\" must hold a parameter name");
                        return *ret_problem ? -EINVAL : -ENOMEM;
                }
                const char *text_end = r == 0 ? p + strlen(p) : start;
                for (const char *c = p; c < text_end; c++)
                        if (!lock_char_ok(*c)) {
                                *ret_offset = (size_t) (c - tmpl);
                                *ret_problem = strdup("a lock name is printable ASCII without spaces");
                                return *ret_problem ? -EINVAL : -ENOMEM;
                        }
                literal += (size_t) (text_end - p);
                if (r == 0)
                        break;
                *ret_offset = (size_t) (start - tmpl);
                if (template_step_ref(name, name_len, NULL, NULL, NULL, NULL)) {
                        *ret_problem = strdup("a lock cannot refer to a step's value: it is taken before the step runs "
                                              "and named when the session is created");
                        return *ret_problem ? -EINVAL : -ENOMEM;
                }
                bool known = false;
                for (size_t i = 0; i < n && !known; i++)
                        known = strlen(params[i]) == name_len && strncmp(params[i], name, name_len) == 0;
                if (!known) {
                        if (asprintf_safe(ret_problem, "{{%.*s}} is not a parameter of the runbook", (int) name_len, name) < 0)
                                return -ENOMEM;
                        return -EINVAL;
                }
                p = end;
        }
        if (literal > LOCK_NAME_MAX) {
                if (asprintf_safe(ret_problem, "too long: a lock name has at most %d bytes", LOCK_NAME_MAX) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        return 0;
}

int lock_name_render(const char *tmpl, json_t *values, char **ret, char **ret_error) {
        _cleanup_free_ char *buf = NULL;
        const char *p = tmpl, *start, *end, *name;
        size_t name_len, size = 0;
        FILE *f;
        int r;

        *ret_error = NULL;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (;;) {
                r = template_next(p, &start, &end, &name, &name_len);
                if (r < 0) {
                        fclose(f);
                        return -EINVAL;
                }
                fwrite(p, 1, r == 0 ? strlen(p) : (size_t) (start - p), f);
                if (r == 0)
                        break;
                _cleanup_free_ char *key = strndup(name, name_len);
                if (!key) {
                        fclose(f);
                        return -ENOMEM;
                }
                const char *v = json_string_value(json_object_get(values, key));
                if (!v) {
                        fclose(f);
                        return -ENXIO;
                }
                fputs(v, f);
                p = end;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        if (!lock_name_is_valid(buf)) {
                char cut[64 + 4];
                (void) asprintf_safe(ret_error, "the lock name \"%s\" made from \"%s\" is not valid: a lock name is 1 to %d "
                                     "bytes of printable ASCII without spaces", utf8_cut(buf, 64, cut, sizeof cut), tmpl,
                                     LOCK_NAME_MAX);
                return -EINVAL;
        }
        /* a value must not make it a target's lock, which its runbook did not name ("{{x}}" with
         * x=target:prod-db would hold that target from every other session) */
        if (strncmp(buf, "target:", 7) == 0 && strncmp(tmpl, "target:", 7) != 0) {
                char cut[64 + 4];
                (void) asprintf_safe(ret_error, "the lock name \"%s\" made from \"%s\" is a target's lock "
                                     "(\"target:…\"), which only the runbook may name", utf8_cut(buf, 64, cut, sizeof cut),
                                     tmpl);
                return -EINVAL;
        }
        *ret = TAKE_PTR(buf);
        return 0;
}

char *lock_name_for_target(const char *target) {
        char *s = NULL;

        (void) asprintf_safe(&s, "target:%s", target);
        return s;
}
