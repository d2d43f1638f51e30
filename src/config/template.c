/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/config-util.h"
#include "config/template.h"
#include "shared/log.h"
#include "shared/util.h"

#define TEMPLATE_NAME_MAX 64

bool template_name_is_valid(const char *s, size_t n) {
        if (n == 0 || n > TEMPLATE_NAME_MAX || ascii_isdigit(s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!ascii_isalpha(s[i]) && !ascii_isdigit(s[i]) && s[i] != '_')
                        return false;
        return true;
}

char *shell_quote(const char *s) {
        size_t n = 2, k = 0, len = strlen(s);
        char *r;

        if (len > (SIZE_MAX - 3) / 4)
                return NULL;
        for (const char *p = s; *p; p++)
                n += *p == '\'' ? 4 : 1;
        r = malloc(n + 1);
        if (!r)
                return NULL;
        r[k++] = '\'';
        for (const char *p = s; *p; p++) {
                if (*p == '\'') {
                        memcpy(r + k, "'\\''", 4);
                        k += 4;
                } else
                        r[k++] = *p;
        }
        r[k++] = '\'';
        r[k] = 0;
        return r;
}

bool template_step_ref(const char *s, size_t n, const char **ret_id, size_t *ret_id_len, const char **ret_value,
                       size_t *ret_value_len) {
        const char *id, *dot;
        size_t idn;

        if (n < 6 || strncmp(s, "steps.", 6) != 0)
                return false;
        id = s + 6;
        dot = memchr(id, '.', n - 6);
        if (!dot)
                return false;
        idn = (size_t) (dot - id);
        if (idn == 0 || idn > TEMPLATE_STEP_ID_MAX)
                return false;
        for (size_t i = 0; i < idn; i++)
                if (!(id[i] >= 'a' && id[i] <= 'z') && !ascii_isdigit(id[i]) && id[i] != '_' && id[i] != '-')
                        return false;
        if (!template_name_is_valid(dot + 1, n - 6 - idn - 1))
                return false;
        if (ret_id) {
                *ret_id = id;
                *ret_id_len = idn;
                *ret_value = dot + 1;
                *ret_value_len = n - 6 - idn - 1;
        }
        return true;
}

int template_next(const char *p, const char **ret_start, const char **ret_end, const char **ret_name,
                  size_t *ret_name_len) {
        const char *start, *close, *a, *b;

        start = strstr(p, "{{");
        if (!start)
                return 0;
        *ret_start = start;
        close = strstr(start + 2, "}}");
        if (!close)
                return -EINVAL;
        *ret_end = close + 2;
        for (a = start + 2; *a == ' ' || *a == '\t'; a++)
                ;
        for (b = close; b > a && (b[-1] == ' ' || b[-1] == '\t'); b--)
                ;
        *ret_name = a;
        *ret_name_len = (size_t) (b - a);
        if (!template_name_is_valid(a, (size_t) (b - a)) && !template_step_ref(a, (size_t) (b - a), NULL, NULL, NULL, NULL))
                return -EBADMSG;
        return 1;
}

/* The string value of 'key' (n bytes) in 'o', or NULL. */
static const char *lookup(json_t *o, const char *key, size_t n) {
        char buf[TEMPLATE_STEP_ID_MAX + 1];

        if (!o || n >= sizeof buf)
                return NULL;
        memcpy(buf, key, n);
        buf[n] = 0;
        return config_json_string(json_object_get(o, buf));
}

int template_render(const char *tmpl, json_t *values, char **ret) {
        return template_render_steps(tmpl, values, NULL, false, ret);
}

int template_render_steps(const char *tmpl, json_t *values, json_t *steps, bool keep_unresolved, char **ret) {
        _cleanup_free_ char *buf = NULL;
        const char *p = tmpl, *start, *end, *name;
        size_t size = 0, len;
        FILE *f;
        int r = 0;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (;;) {
                _cleanup_free_ char *quoted = NULL;
                const char *value, *id, *vname;
                size_t id_len, vlen;

                r = template_next(p, &start, &end, &name, &len);
                if (r < 0) {
                        log_debug("Invalid template: %s", r == -EBADMSG ? "bad {{name}}" : "unterminated '{{'");
                        r = -EINVAL;
                        break;
                }
                if (r == 0) {
                        fputs(p, f);
                        break;
                }
                fwrite(p, 1, (size_t) (start - p), f);
                if (template_step_ref(name, len, &id, &id_len, &vname, &vlen)) {
                        char idbuf[TEMPLATE_STEP_ID_MAX + 1];
                        memcpy(idbuf, id, id_len);
                        idbuf[id_len] = 0;
                        value = lookup(json_object_get(steps, idbuf), vname, vlen);
                        if (!value && keep_unresolved) {
                                fwrite(start, 1, (size_t) (end - start), f);
                                p = end;
                                continue;
                        }
                } else
                        value = lookup(values, name, len);
                if (!value) {
                        log_debug("Template refers to '%.*s', which has no string value.", (int) len, name);
                        r = -ENXIO;
                        break;
                }
                quoted = shell_quote(value);
                if (!quoted) {
                        r = -ENOMEM;
                        break;
                }
                fputs(quoted, f);
                p = end;
        }
        if (ferror(f) && r >= 0)
                r = -ENOMEM;
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}
