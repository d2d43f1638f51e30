/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* capture.c: see capture.h. */
#include <stdio.h>

#include "config/capture.h"
#include "config/expr.h"
#include "config/config-util.h"
#include "config/template.h"

#define CAPTURE_REGEX_MAX 1024
#define CAPTURE_LINE_MAX 100000

static const char *const capture_keys[] = { "regex", "json", "line", "pattern", "allow_leading_dash", NULL };

static void capture_spec_done(CaptureSpec *c) {
        free(c->name);
        if (c->kind == CAPTURE_REGEX && c->source)
                regfree(&c->regex);
        free(c->source);
        for (size_t i = 0; i < c->n_path; i++)
                free(c->path[i].member);
        free(c->path);
        if (c->pattern)
                regfree(&c->pattern_regex);
        free(c->pattern);
}

void capture_specs_free(CaptureSpec *c, size_t n) {
        for (size_t i = 0; i < n; i++)
                capture_spec_done(&c[i]);
        free(c);
}

const CaptureSpec *capture_spec_find(const CaptureSpec *c, size_t n, const char *name, size_t name_len) {
        for (size_t i = 0; i < n; i++)
                if (strlen(c[i].name) == name_len && strncmp(c[i].name, name, name_len) == 0)
                        return &c[i];
        return NULL;
}

/* "a.b[0]", "[2].name", "items[1][0]": members ([A-Za-z0-9_-]+) joined by '.', each followed by
 * any number of [N]. */
static int parse_json_path(CaptureSpec *c, const char *s, const char **ret_problem) {
        const char *p = s;

        if (!*p)
                return *ret_problem = "is empty", -EINVAL;
        while (*p) {
                if (c->n_path >= CAPTURE_JSON_DEPTH_MAX)
                        return *ret_problem = "is too deep (at most 16 members and indexes)", -EINVAL;
                if (*p == '[') {
                        char *e;
                        unsigned long long k;
                        if (!ascii_isdigit(p[1]))
                                return *ret_problem = "has a '[' without an index", -EINVAL;
                        errno = 0;
                        k = strtoull(p + 1, &e, 10);
                        if (errno != 0 || *e != ']' || k > 1000000)
                                return *ret_problem = "has an index that is not a number up to 1000000 in [ ]", -EINVAL;
                        c->path[c->n_path++] = (CaptureSegment) { .index = (size_t) k };
                        p = e + 1;
                        continue;
                }
                if (p != s) {
                        if (*p != '.')
                                return *ret_problem = "has something other than '.member' or '[N]' after a member", -EINVAL;
                        p++;
                }
                size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
                if (n == 0)
                        return *ret_problem = "has an empty member name (members are [A-Za-z0-9_-]+)", -EINVAL;
                c->path[c->n_path].member = strndup(p, n);
                if (!c->path[c->n_path].member)
                        return -ENOMEM;
                c->n_path++;
                p += n;
        }
        return 0;
}

static int compile(regex_t *re, const char *s, int flags, const char *source, const char *path, char **ret_error) {
        char buf[128], problem[256];
        int r;

        if (strlen(s) > CAPTURE_REGEX_MAX)
                return config_error(ret_error, source, path, "is too long (at most %d bytes)", CAPTURE_REGEX_MAX);
        if (expr_pattern_check(s, problem, sizeof problem) < 0)
                return config_error(ret_error, source, path, "%s", problem);
        r = regcomp(re, s, REG_EXTENDED | flags);
        if (r != 0) {
                (void) regerror(r, re, buf, sizeof buf);
                return config_error(ret_error, source, path, "invalid regular expression: %s", buf);
        }
        return 0;
}

static int spec_from_json(CaptureSpec *c, json_t *v, const char *source, const char *path, char **ret_error) {
        json_t *regex = json_object_get(v, "regex"), *jpath = json_object_get(v, "json"),
               *line = json_object_get(v, "line"), *pattern = json_object_get(v, "pattern"),
               *dash = json_object_get(v, "allow_leading_dash");
        char ep[JSON_PATH_MAX];
        int r;

        if (!json_is_object(v))
                return config_error(ret_error, source, path, "must be an object with one of \"regex\", \"json\" or \"line\"");
        r = config_check_keys(v, capture_keys, source, path, ret_error);
        if (r < 0)
                return r;
        if (!!regex + !!jpath + !!line != 1)
                return config_error(ret_error, source, path, "must have exactly one of \"regex\", \"json\" or \"line\"");

        if (regex) {
                snprintf(ep, sizeof ep, "%s.regex", path);
                if (!config_json_string(regex) || isempty(json_string_value(regex)))
                        return config_error(ret_error, source, ep, "must be a non-empty string");
                c->kind = CAPTURE_REGEX;
                r = compile(&c->regex, json_string_value(regex), 0, source, ep, ret_error);
                if (r < 0)
                        return r;
                c->source = strdup(json_string_value(regex));
                if (!c->source) {
                        regfree(&c->regex);
                        return -ENOMEM;
                }
                if (c->regex.re_nsub != 1)
                        return config_error(ret_error, source, ep,
                                            "must have exactly one group ( … ), whose match is the value (it has %zu)",
                                            c->regex.re_nsub);
        } else if (jpath) {
                const char *problem = NULL;
                snprintf(ep, sizeof ep, "%s.json", path);
                if (!config_json_string(jpath))
                        return config_error(ret_error, source, ep, "must be a string such as \"a.b[0]\"");
                c->kind = CAPTURE_JSON;
                c->source = strdup(json_string_value(jpath));
                c->path = calloc(CAPTURE_JSON_DEPTH_MAX, sizeof(CaptureSegment));
                if (!c->source || !c->path)
                        return -ENOMEM;
                r = parse_json_path(c, c->source, &problem);
                if (r == -EINVAL)
                        return config_error(ret_error, source, ep, "'%s' %s", c->source, problem);
                if (r < 0)
                        return r;
        } else {
                snprintf(ep, sizeof ep, "%s.line", path);
                if (!json_is_integer(line) || json_integer_value(line) < 1 || json_integer_value(line) > CAPTURE_LINE_MAX)
                        return config_error(ret_error, source, ep, "must be an integer from 1 (the first line) to %d",
                                            CAPTURE_LINE_MAX);
                c->kind = CAPTURE_LINE;
                c->line = (unsigned) json_integer_value(line);
        }

        if (pattern) {
                snprintf(ep, sizeof ep, "%s.pattern", path);
                if (!config_json_string(pattern))
                        return config_error(ret_error, source, ep, "must be a string");
                r = compile(&c->pattern_regex, json_string_value(pattern), REG_NOSUB, source, ep, ret_error);
                if (r < 0)
                        return r;
                c->pattern = strdup(json_string_value(pattern));
                if (!c->pattern) {
                        regfree(&c->pattern_regex);
                        return -ENOMEM;
                }
        }
        if (dash) {
                snprintf(ep, sizeof ep, "%s.allow_leading_dash", path);
                if (!json_is_boolean(dash))
                        return config_error(ret_error, source, ep, "must be true or false");
                c->allow_leading_dash = json_is_true(dash);
        }
        return 0;
}

int capture_specs_from_json(json_t *v, const char *source, const char *path, CaptureSpec **ret, size_t *ret_n,
                            char **ret_error) {
        CaptureSpec *specs;
        const char *name;
        json_t *one;
        size_t n = 0;
        int r = 0;

        if (!json_is_object(v) || json_object_size(v) == 0)
                return config_error(ret_error, source, path, "must be an object of named values, e.g. "
                                    "{ \"version\": { \"regex\": \"^v([0-9.]+)$\" } }");
        if (json_object_size(v) > CAPTURES_MAX)
                return config_error(ret_error, source, path, "too many values (at most %d)", CAPTURES_MAX);
        specs = calloc(json_object_size(v), sizeof(CaptureSpec));
        if (!specs)
                return -ENOMEM;
        json_object_foreach(v, name, one) {
                _cleanup_free_ char *ep = config_path_key(path, name);
                if (!ep) {
                        r = -ENOMEM;
                        break;
                }
                if (!template_name_is_valid(name, strlen(name))) {
                        r = config_error(ret_error, source, ep, "invalid name: a value's name is [A-Za-z_][A-Za-z0-9_]{0,63}");
                        break;
                }
                if (streq(name, "exit_status")) {
                        r = config_error(ret_error, source, ep, "'exit_status' is a step's exit status in a "
                                         "\"when\" ({{steps.ID.exit_status}}), not a name for a value");
                        break;
                }
                /* journal fields are upper case: two names must differ in more than case */
                for (size_t i = 0; i < n; i++)
                        if (strcasecmp(specs[i].name, name) == 0) {
                                r = config_error(ret_error, source, ep, "'%s' differs from '%s' only in case", name,
                                                 specs[i].name);
                                break;
                        }
                if (r < 0)
                        break;
                specs[n].name = strdup(name);
                n++;
                if (!specs[n - 1].name) {
                        r = -ENOMEM;
                        break;
                }
                r = spec_from_json(&specs[n - 1], one, source, ep, ret_error);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                capture_specs_free(specs, n);
                return r;
        }
        *ret = specs;
        *ret_n = n;
        return 0;
}

static int problem(char **ret_problem, const char *fmt, ...) _printf_(2, 3);
static int problem(char **ret_problem, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf_safe(ret_problem, fmt, ap);
        va_end(ap);
        return r < 0 ? -ENOMEM : 1;
}

/* The value of a JSON scalar as text: strings as they are, numbers as JSON writes them, true and
 * false; NULL for anything else. */
static char *json_scalar_text(json_t *v) {
        if (json_is_string(v))
                return strndup(json_string_value(v), json_string_length(v));
        if (json_is_number(v) || json_is_boolean(v))
                return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        return NULL;
}

static const char *json_kind(json_t *v) {
        return json_is_object(v) ? "an object" : json_is_array(v) ? "an array" : json_is_null(v) ? "null" : "a value";
}

static int extract_json(const CaptureSpec *c, const char *out, size_t n, char **ret, char **ret_problem) {
        _cleanup_(json_decrefp) json_t *doc = NULL;
        json_error_t e;
        json_t *v;

        doc = json_loadb(out, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
        if (!doc)
                return problem(ret_problem, "stdout is not JSON (line %d column %d: %s)", e.line, e.column, e.text);
        v = doc;
        for (size_t i = 0; i < c->n_path; i++) {
                const CaptureSegment *s = &c->path[i];
                json_t *next = s->member ? json_object_get(v, s->member) : json_array_get(v, s->index);
                if (!next) {
                        if (s->member)
                                return problem(ret_problem, "stdout's JSON has no member '%s' (%s)", s->member, c->source);
                        return problem(ret_problem, "stdout's JSON has no element [%zu] (%s)", s->index, c->source);
                }
                v = next;
        }
        *ret = json_scalar_text(v);
        if (!*ret)
                return json_is_string(v) || json_is_number(v) || json_is_boolean(v)
                       ? -ENOMEM : problem(ret_problem, "%s in stdout's JSON is %s, not a value", c->source, json_kind(v));
        return 0;
}

/* The lines of 'text' (NUL-terminated, changed in place: each '\n' becomes a NUL, and a '\r'
 * before it too). Calls 'fn' for each until it returns non-zero. */
static int foreach_line(char *text, int (*fn)(char *line, unsigned number, void *userdata), void *userdata) {
        unsigned number = 0;

        for (char *p = text; *p;) {
                char *e = strchrnul(p, '\n');
                bool last = !*e;
                int r;

                *e = 0;
                if (e > p && e[-1] == '\r')
                        e[-1] = 0;
                r = fn(p, ++number, userdata);
                if (r != 0)
                        return r;
                p = last ? e : e + 1;
        }
        return 0;
}

typedef struct LineSearch {
        const CaptureSpec *spec;
        char *value;
        bool oom;
} LineSearch;

static int line_regex(char *line, unsigned number, void *userdata) {
        LineSearch *ls = userdata;
        regmatch_t m[2];

        if (regexec(&ls->spec->regex, line, 2, m, 0) != 0)
                return 0;
        if (m[1].rm_so < 0)
                ls->value = strdup("");
        else
                ls->value = strndup(line + m[1].rm_so, (size_t) (m[1].rm_eo - m[1].rm_so));
        ls->oom = !ls->value;
        return 1;
}

static int line_number(char *line, unsigned number, void *userdata) {
        LineSearch *ls = userdata;

        if (number != ls->spec->line)
                return 0;
        ls->value = strdup(line);
        ls->oom = !ls->value;
        return 1;
}

int capture_extract(const CaptureSpec *c, const char *out, size_t n, char **ret, char **ret_problem) {
        _cleanup_free_ char *value = NULL;
        char buf[96];
        const char *bad;
        int r;

        *ret = NULL;
        *ret_problem = NULL;
        if (c->kind == CAPTURE_JSON) {
                r = extract_json(c, out ?: "", n, &value, ret_problem);
                if (r != 0)
                        return r;
        } else {
                _cleanup_free_ char *text = strndup(out ?: "", n);
                LineSearch ls = { .spec = c };
                if (!text)
                        return -ENOMEM;
                (void) foreach_line(text, c->kind == CAPTURE_REGEX ? line_regex : line_number, &ls);
                if (ls.oom)
                        return -ENOMEM;
                if (!ls.value) {
                        if (c->kind == CAPTURE_REGEX)
                                return problem(ret_problem, "no line of stdout matches '%s'", c->source);
                        return problem(ret_problem, "stdout has no line %u", c->line);
                }
                value = ls.value;
        }

        if (strlen(value) > CAPTURE_VALUE_MAX)
                return problem(ret_problem, "the value is too long (%zu bytes, at most %d)", strlen(value), CAPTURE_VALUE_MAX);
        bad = utf8_text_problem(value, CAPTURE_VALUE_MAX, buf, sizeof buf);
        if (bad)
                return problem(ret_problem, "the value is not printable UTF-8 text (%s)", bad);
        if (strchr(value, '\n'))
                return problem(ret_problem, "the value has more than one line");
        if (value[0] == '-' && !c->allow_leading_dash)
                return problem(ret_problem, "the value starts with '-', which a program could take as an option "
                               "(the capture may allow it with \"allow_leading_dash\": true)");
        if (c->pattern && regexec(&c->pattern_regex, value, 0, NULL, 0) != 0)
                return problem(ret_problem, "the value '%s' does not match its pattern '%s'", value, c->pattern);
        *ret = TAKE_PTR(value);
        return 0;
}
