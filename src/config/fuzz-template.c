/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-template: random step templates, built from shell fragments (quotes, substitutions,
 * comments, here-documents, eval, sh -c, awk, pipes into sh, …) with parameters {{v}}, {{w}} and
 * values of earlier steps {{steps.a.x}}, {{steps.b.y}} placed anywhere. Every template the
 * placement check accepts is rendered as the engine renders a step when it is reached (one pass,
 * parameters and captured values together) with hostile values — each of which, if it ever ran
 * as code, would create a marker file; some look like references themselves — and run under dash
 * and bash. The marker must never appear.
 *
 *   FUZZ_ITERATIONS=N (default 1500) FUZZ_SEED=S (default fixed) build/src/fuzz-template
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/template.h"
#include "shared/tests.h"
#include "shared/util.h"

static uint64_t rng_state;

static uint64_t rng(void) {
        /* xorshift64*: reproducible for a seed */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545F4914F6CDD1DULL;
}

static const char *pick(const char *const *list, size_t n) {
        return list[rng() % n];
}
#define PICK(list) pick(list, ELEMENTSOF(list))

/* Commands a fragment may start with (none of them creates files by itself). */
static const char *const programs[] = {
        "echo", "printf '%s\\n'", "true", "cat", "test -n", "[ -n", "sh -c", "bash -c", "dash -c", "eval",
        "eval echo", "sh -c 'echo \"$1\"' sh", "awk", "awk '{print}'", "awk -v x=1", "sed", "sed -n p", "sed -e p",
        "python3 -c", "python3 -c 'import sys; print(sys.argv[1:])'", "perl -e", "perl -e 'print @ARGV'",
        "env", "env X=1", "env -i", "timeout 5", "xargs", "xargs echo", "xargs sh -c", "find . -maxdepth 0 -exec echo",
        "find . -maxdepth 0 -exec sh -c", "command", "exec", "read -r", "export", "export X=", "trap", ".", "X=", "PATH=",
        "unset", "let", "nice", "nice sh -c", "grep -c", "printf -v", "test -v", "declare", "local", "ls",
        "case", "for x in", "{ echo", "( echo", "if true; then echo", "while false; do echo", "cat <<EOF\n",
        "cat <<'EOF'\n", "cat <<-EOF\n\t", "f() { echo", "sh -s", "bash -s --", "\"$SHELL\" -c", "$0 -c",
        "{sh,-c}", "nice {sh,-c}", "/bin/da?h -c", "python3 {-c,}", "alias x=eval\nx", "xargs -a", "env -S",
        "flock /tmp/fuzz-template.lock", "time", "! eval", "builtin eval",
};

/* What may stand around a reference (P) within a word or a command. */
static const char *const shapes[] = {
        "P", "P", "P", "P", "\"P\"", "'P'", "$(echo P)", "`echo P`", "\"$(echo P)\"", "${x:-P}", "$((P))", "# P",
        "xP", "Px", "x=P", "$P", "\\P", "--opt=P", "-P", "<(echo P)", "'a'P\"b\"", "\"a P b\"", "$'P'", "{P,x}",
        "[[ P ]]", "(( P ))", "P)", "(P", "<<<P", ">/dev/null P", "2>&1 P", "P 2>/dev/null", "< P", "-- P",
        "\"$x\"P", "P\"$x\"", "{ P; }", "( P )", "P #", "'it''s' P", "\"\\\"\" P",
};

/* How commands are joined; "| sh" and friends make the earlier ones a program. */
static const char *const joins[] = {
        "; ", " && ", " || ", " | ", "\n", " | sh", " | bash", " | sh -s", "; sh < /dev/stdin", " | xargs sh -c",
        " & wait; ", "\nEOF\n", "; }", " )", "; fi", "; done", " | python3 -",
};

/* Values that, if run as code anywhere, create MARK (replaced by the marker's path). */
static const char *const hostile[] = {
        "$(touch MARK)", "`touch MARK`", "';touch MARK;'", "\";touch MARK;\"", "x;touch MARK", "x && touch MARK",
        "x | touch MARK", "\ntouch MARK\n", "touch MARK", "a'$(touch MARK)'b", "\\';touch MARK;#", "${IFS}touch${IFS}MARK",
        "$IFS;touch MARK", "*", "BEGIN{system(\"touch MARK\")}", "1e touch MARK", "__import__('os').system('touch MARK')",
        "system('touch MARK')", "x[$(touch MARK)]", "a[$(touch MARK)]=1", "'\"$(touch MARK)\"'", "}; touch MARK; {",
        ")); touch MARK; ((", "\"; touch MARK #", "EOF\ntouch MARK\nEOF", "x\n# \ntouch MARK", "$'\\x27';touch MARK",
        "!touch MARK", "{touch,MARK}", "~; touch MARK", "{{w}}", "{{steps.a.x}}", "{{ steps.b.y }};touch MARK",
};

/* What a reference may be: a parameter, or a value an earlier step captured. */
static const char *const refs[] = { "{{v}}", "{{w}}", "{{steps.a.x}}", "{{ steps.b.y }}" };

static char *marker;

static char *str_replace_all(const char *s, const char *from, const char *to) {
        size_t n = 0, lf = strlen(from), lt = strlen(to);
        char *r, *o;

        for (const char *p = s; (p = strstr(p, from)); p += lf)
                n++;
        r = malloc(strlen(s) + n * (lt > lf ? lt - lf : 0) + 1);
        check(r);
        o = r;
        for (const char *p = s;;) {
                const char *q = strstr(p, from);
                if (!q) {
                        strcpy(o, p);
                        break;
                }
                memcpy(o, p, (size_t) (q - p));
                o += q - p;
                memcpy(o, to, lt);
                o += lt;
                p = q + lf;
        }
        return r;
}

/* As the runbook parser checks first: every "{{" opens a well-formed reference. */
static bool well_formed(const char *tmpl) {
        const char *p = tmpl, *start, *end, *name;
        size_t len;
        int r;

        while ((r = template_next(p, &start, &end, &name, &len)) > 0)
                p = end;
        return r == 0;
}

static char *random_template(void) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        unsigned n_cmds = 1 + (unsigned) (rng() % 3);

        check(f);
        for (unsigned i = 0; i < n_cmds; i++) {
                unsigned n_args = (unsigned) (rng() % 4);

                fputs(PICK(programs), f);
                for (unsigned a = 0; a < n_args; a++) {
                        _cleanup_free_ char *shape = NULL;

                        if (rng() % 4 == 0) {
                                fputs(rng() % 2 ? " plain" : " 'quoted word'", f);
                                continue;
                        }
                        shape = str_replace_all(PICK(shapes), "P", PICK(refs));
                        fputc(rng() % 5 ? ' ' : '\t', f);
                        fputs(shape, f);
                }
                if (i + 1 < n_cmds || rng() % 3 == 0)
                        fputs(PICK(joins), f);
        }
        check(fclose(f) == 0);
        return buf;
}

/* Runs 'cmd' under 'shell' in 'dir' with stdin from /dev/null; returns when it ended. */
static void run_shell(const char *shell, const char *dir, const char *cmd) {
        pid_t pid = fork();
        int status;

        check(pid >= 0);
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                if (null < 0 || chdir(dir) < 0)
                        _exit(127);
                dup2(null, 0);
                dup2(null, 1);
                dup2(null, 2);
                execl("/usr/bin/timeout", "timeout", "-s", "KILL", "5", shell, "-c", cmd, (char *) NULL);
                _exit(127);
        }
        check(waitpid(pid, &status, 0) == pid);
}

int main(void) {
        const char *it = getenv("FUZZ_ITERATIONS"), *seed = getenv("FUZZ_SEED");
        unsigned long iterations = it ? strtoul(it, NULL, 10) : 1500, accepted = 0, refused = 0, malformed = 0, runs = 0;
        char dir_template[] = "/tmp/fuzz-template-XXXXXX";
        char *dir = mkdtemp(dir_template);
        const char *shells[] = { "/bin/dash", "/bin/bash" };

        check(dir);
        rng_state = seed ? strtoull(seed, NULL, 0) : 0x5eed0f7e3a11ULL;
        if (rng_state == 0)
                rng_state = 1;
        check(asprintf_safe(&marker, "%s/m/pwned", dir) == 0);
        {
                _cleanup_free_ char *m = NULL;
                check(asprintf_safe(&m, "%s/m", dir) == 0);
                check(mkdir(m, 0755) == 0);
        }

        for (unsigned long i = 0; i < iterations; i++) {
                _cleanup_free_ char *tmpl = random_template();
                char problem[TEMPLATE_PROBLEM_MAX];
                size_t off;
                int r;

                if (!well_formed(tmpl)) {
                        malformed++;
                        continue;
                }
                r = template_check_placements(tmpl, &off, problem);
                if (r < 0)
                        fprintf(stderr, "error %d for template: %s\n", r, tmpl);
                check(r >= 0);
                if (r == 1) {
                        check(off < strlen(tmpl) && strncmp(tmpl + off, "{{", 2) == 0);
                        refused++;
                        continue;
                }
                accepted++;
                for (unsigned k = 0; k < 2; k++) {
                        _cleanup_free_ char *v = NULL, *w = NULL, *x = NULL, *y = NULL, *cmd = NULL;
                        _cleanup_(json_decrefp) json_t *values = NULL, *steps = NULL;

                        /* a value starting with '-' is refused when parameters are bound */
                        v = str_replace_all(PICK(hostile), "MARK", marker);
                        w = str_replace_all(PICK(hostile), "MARK", marker);
                        x = str_replace_all(PICK(hostile), "MARK", marker);
                        y = str_replace_all(PICK(hostile), "MARK", marker);
                        values = json_pack("{s:s,s:s}", "v", v, "w", w);
                        steps = json_pack("{s:{s:s},s:{s:s}}", "a", "x", x, "b", "y", y);
                        check(values && steps);
                        check_int(template_render_steps(tmpl, values, steps, false, &cmd), 0);
                        for (size_t s = 0; s < ELEMENTSOF(shells); s++) {
                                run_shell(shells[s], dir, cmd);
                                runs++;
                                if (access(marker, F_OK) == 0) {
                                        fprintf(stderr, "A VALUE RAN AS CODE under %s (seed %#llx, iteration %lu)\n"
                                                        "template: %s\nv: %s\nw: %s\nsteps.a.x: %s\nsteps.b.y: %s\ncommand: %s\n",
                                                shells[s], (unsigned long long) (seed ? strtoull(seed, NULL, 0) : 0x5eed0f7e3a11ULL),
                                                i, tmpl, v, w, x, y, cmd);
                                        check(!"a value ran as code");
                                }
                        }
                }
        }
        fprintf(stderr, "fuzz-template: %lu templates: %lu accepted, %lu refused, %lu malformed; "
                        "%lu shell runs, no value ran as code\n",
                iterations, accepted, refused, malformed, runs);
        check(accepted > 0 && refused > 0);
        {
                _cleanup_free_ char *cmd = NULL;
                check(asprintf_safe(&cmd, "rm -rf '%s'", dir) == 0);
                check(system(cmd) == 0);
        }
        free(marker);
        return 0;
}
