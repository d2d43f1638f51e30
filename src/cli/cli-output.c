/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <wchar.h>

#include "cli/cli-output.h"

JsonMode arg_json = JSON_OFF;
bool arg_legend = true;
bool arg_pager = true;

static int cached_colors = -1;
static int cached_tty = -1;
static pid_t pager_pid = 0;

JsonMode json_mode_from_string(const char *s) {
        if (streq(s, "off"))
                return JSON_OFF;
        if (streq(s, "short"))
                return JSON_SHORT;
        if (streq(s, "pretty"))
                return JSON_PRETTY;
        return _JSON_MODE_INVALID;
}

static void vmessage(const char *fmt, va_list ap) {
        fflush(stdout);
        fputs("runbookctl: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

int cli_error(int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vmessage(fmt, ap);
        va_end(ap);
        return error < 0 ? error : -EINVAL;
}

void cli_note(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vmessage(fmt, ap);
        va_end(ap);
}

bool stdout_is_tty(void) {
        if (cached_tty < 0)
                cached_tty = isatty(STDOUT_FILENO) > 0;
        return cached_tty;
}

static bool env_false(const char *v) {
        return v && (streq(v, "0") || streq(v, "no") || streq(v, "false") || streq(v, "off") || streq(v, "16"));
}

void colors_init(void) {
        const char *term = getenv("TERM");

        if (cached_colors >= 0)
                return;
        cached_colors = stdout_is_tty() && !getenv("NO_COLOR") && !env_false(getenv("SYSTEMD_COLORS")) &&
                        !streq_ptr(term, "dumb");
}

bool colors_enabled(void) {
        colors_init();
        return cached_colors;
}

const char *ansi(const char *code) {
        return colors_enabled() && code ? code : "";
}

const char *state_color(const char *state) {
        if (!state)
                return NULL;
        if (streq(state, "succeeded"))
                return ANSI_GREEN;
        if (streq(state, "failed") || streq(state, "timed_out") || streq(state, "rejected") ||
            streq(state, "interrupted") || streq(state, "expired"))
                return ANSI_RED;
        if (streq(state, "waiting_approval") || streq(state, "waiting_retry") || streq(state, "waiting_lock") ||
            streq(state, "waiting_window") ||
            streq(state, "cancelled"))
                return ANSI_YELLOW;
        if (streq(state, "running") || streq(state, "approved"))
                return ANSI_HIGHLIGHT;
        if (streq(state, "skipped") || streq(state, "pending"))
                return ANSI_GREY;
        return NULL;
}

/* --- pager --- */

pid_t fork_with_pipe(int fds[2]) {
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -1;
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
        }
        return pid;
}

void reap(pid_t pid) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

void pager_open(void) {
        const char *pager;
        int fds[2];
        pid_t pid;

        if (pager_pid > 0 || !arg_pager || !stdout_is_tty())
                return;
        colors_init(); /* decided on the terminal, before stdout becomes a pipe */
        pager = getenv("SYSTEMD_PAGER");
        if (!pager)
                pager = getenv("PAGER");
        if (pager && (isempty(pager) || streq(pager, "cat")))
                return;
        pid = fork_with_pipe(fds);
        if (pid < 0)
                return;
        if (pid == 0) {
                (void) dup2(fds[0], STDIN_FILENO);
                close(fds[1]);
                (void) setenv("LESS", "FRXMK", 0);
                (void) setenv("LESSCHARSET", "utf-8", 0);
                if (pager) {
                        execl("/bin/sh", "sh", "-c", pager, (char *) NULL);
                        _exit(EXIT_FAILURE);
                }
                execlp("less", "less", (char *) NULL);
                execlp("more", "more", (char *) NULL);
                /* no pager: copy through */
                execlp("cat", "cat", (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        if (dup2(fds[1], STDOUT_FILENO) < 0) {
                close(fds[0]);
                close(fds[1]);
                return;
        }
        close(fds[0]);
        close(fds[1]);
        pager_pid = pid;
        /* the pager owns the terminal while it runs */
        (void) signal(SIGINT, SIG_IGN);
        (void) signal(SIGPIPE, SIG_DFL);
}

void pager_close(void) {
        if (pager_pid <= 0)
                return;
        fflush(stdout);
        fclose(stdout);
        close(STDOUT_FILENO);
        reap(pager_pid);
        pager_pid = 0;
}

/* --- times --- */

const char *format_timestamp_pretty(char *buf, size_t size, usec_t t) {
        time_t sec = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (t == 0 || !localtime_r(&sec, &tm) || strftime(buf, size, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "n/a");
        return buf;
}

static const char *format_span_coarse(char *buf, size_t size, usec_t d) {
        usec_t s = d / USEC_PER_SEC;

        if (s < 60)
                snprintf(buf, size, "%llus", (unsigned long long) s);
        else if (s < 3600)
                snprintf(buf, size, "%llumin %llus", (unsigned long long) (s / 60), (unsigned long long) (s % 60));
        else if (s < 86400)
                snprintf(buf, size, "%lluh %llumin", (unsigned long long) (s / 3600),
                         (unsigned long long) (s % 3600 / 60));
        else
                snprintf(buf, size, "%llud %lluh", (unsigned long long) (s / 86400),
                         (unsigned long long) (s % 86400 / 3600));
        return buf;
}

const char *format_timestamp_relative(char *buf, size_t size, usec_t t) {
        usec_t n = now_usec(CLOCK_REALTIME);
        char span[48];

        if (t == 0)
                snprintf(buf, size, "n/a");
        else if (t > n)
                snprintf(buf, size, "%s left", format_span_coarse(span, sizeof span, t - n));
        else
                snprintf(buf, size, "%s ago", format_span_coarse(span, sizeof span, n - t));
        return buf;
}

const char *format_timestamp_both(char *buf, size_t size, usec_t t) {
        char a[64], r[48];

        if (t == 0)
                snprintf(buf, size, "n/a");
        else
                snprintf(buf, size, "%s (%s)", format_timestamp_pretty(a, sizeof a, t),
                         format_timestamp_relative(r, sizeof r, t));
        return buf;
}

const char *format_timespan(char *buf, size_t size, usec_t d) {
        usec_t s = d / USEC_PER_SEC, ms = (d % USEC_PER_SEC) / USEC_PER_MSEC;

        if (s < 60)
                snprintf(buf, size, "%llu.%03llus", (unsigned long long) s, (unsigned long long) ms);
        else if (s < 3600)
                snprintf(buf, size, "%llumin %llu.%03llus", (unsigned long long) (s / 60),
                         (unsigned long long) (s % 60), (unsigned long long) ms);
        else
                format_span_coarse(buf, size, d);
        return buf;
}

/* --- tables --- */

typedef struct Cell {
        char *text;
        const char *color;
} Cell;

struct Table {
        size_t n_columns;
        char **headers;
        size_t *max_width;
        Cell *cells;
        size_t n_cells, n_allocated;
};

Table *table_new(size_t n_columns, const char *const *headers) {
        Table *t = calloc(1, sizeof(Table));

        if (!t)
                return NULL;
        t->n_columns = n_columns;
        t->headers = calloc(n_columns, sizeof(char *));
        t->max_width = calloc(n_columns, sizeof(size_t));
        if (!t->headers || !t->max_width)
                return table_free(t);
        for (size_t i = 0; i < n_columns; i++) {
                t->headers[i] = strdup(headers[i]);
                if (!t->headers[i])
                        return table_free(t);
        }
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; t->headers && i < t->n_columns; i++)
                free(t->headers[i]);
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i].text);
        free(t->headers);
        free(t->max_width);
        free(t->cells);
        free(t);
        return NULL;
}

void table_set_max_width(Table *t, size_t column, size_t width) {
        if (column < t->n_columns)
                t->max_width[column] = width;
}

int table_add_cell(Table *t, const char *text, const char *color) {
        char *copy;

        if (t->n_cells >= t->n_allocated) {
                size_t n = MAX(t->n_allocated * 2, (size_t) 64);
                Cell *c = realloc(t->cells, n * sizeof(Cell));
                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->n_allocated = n;
        }
        /* what the daemon sent is shown, never interpreted by the terminal */
        copy = cli_escape(isempty(text) ? "-" : text);
        if (!copy)
                return -ENOMEM;
        /* a table cell is one line */
        for (char *p = copy; *p; p++)
                if (*p == '\n' || *p == '\t' || *p == '\r')
                        *p = ' ';
        t->cells[t->n_cells++] = (Cell) { copy, color };
        return 0;
}

int table_add_cellf(Table *t, const char *color, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0) {
                s = NULL;
                return -ENOMEM;
        }
        return table_add_cell(t, s, color);
}

size_t table_rows(Table *t) {
        return t->n_cells / t->n_columns;
}

/* Display width of a UTF-8 string; invalid sequences count one column per byte. */
static size_t utf8_width(const char *s, size_t *ret_bytes_for, size_t limit) {
        mbstate_t st = { 0 };
        size_t w = 0, i = 0, n = strlen(s);

        while (i < n) {
                wchar_t wc;
                size_t k = mbrtowc(&wc, s + i, n - i, &st);
                int cw;
                if (k == (size_t) -1 || k == (size_t) -2 || k == 0) {
                        k = 1;
                        cw = 1;
                        memset(&st, 0, sizeof st);
                } else {
                        cw = wcwidth(wc);
                        if (cw < 0)
                                cw = 1;
                }
                if (ret_bytes_for && w + (size_t) cw > limit)
                        break;
                w += (size_t) cw;
                i += k;
        }
        if (ret_bytes_for)
                *ret_bytes_for = i;
        return w;
}

static void print_cell(const char *text, const char *color, size_t width, size_t max, bool last) {
        size_t w = utf8_width(text, NULL, 0);

        fputs(ansi(color), stdout);
        if (max > 0 && w > max && stdout_is_tty()) { /* a pipe gets the whole text, as with systemctl */
                size_t bytes;
                w = utf8_width(text, &bytes, max - 1);
                fwrite(text, 1, bytes, stdout);
                fputs("…", stdout);
                w++;
        } else
                fputs(text, stdout);
        if (color && colors_enabled())
                fputs(ANSI_NORMAL, stdout);
        if (!last)
                for (; w < width + 1; w++)
                        fputc(' ', stdout);
}

int table_print(Table *t, const char *noun_singular, const char *noun_plural) {
        _cleanup_free_ size_t *width = calloc(t->n_columns, sizeof(size_t));
        size_t rows = table_rows(t);

        if (!width)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_columns; c++) {
                width[c] = arg_legend ? utf8_width(t->headers[c], NULL, 0) : 0;
                for (size_t r = 0; r < rows; r++)
                        width[c] = MAX(width[c], utf8_width(t->cells[r * t->n_columns + c].text, NULL, 0));
                if (t->max_width[c] > 0 && stdout_is_tty())
                        width[c] = MIN(width[c], t->max_width[c]);
        }
        if (arg_legend && rows > 0) {
                for (size_t c = 0; c < t->n_columns; c++)
                        print_cell(t->headers[c], ANSI_UNDERLINE, width[c], t->max_width[c], c + 1 == t->n_columns);
                fputc('\n', stdout);
        }
        for (size_t r = 0; r < rows; r++) {
                for (size_t c = 0; c < t->n_columns; c++) {
                        Cell *cell = &t->cells[r * t->n_columns + c];
                        print_cell(cell->text, cell->color, width[c], t->max_width[c], c + 1 == t->n_columns);
                }
                fputc('\n', stdout);
        }
        if (arg_legend) {
                if (rows > 0)
                        fputc('\n', stdout);
                printf("%zu %s listed.\n", rows, rows == 1 ? noun_singular : noun_plural);
        }
        return fflush(stdout) == 0 ? 0 : -EIO;
}

/* --- JSON --- */

int json_print(json_t *v) {
        size_t flags = arg_json == JSON_PRETTY ? JSON_INDENT(2) : JSON_COMPACT;
        _cleanup_free_ char *s = json_dumps(v, flags | JSON_ENCODE_ANY);

        if (!s)
                return -ENOMEM;
        puts(s);
        return fflush(stdout) == 0 ? 0 : -EIO;
}

int print_list(json_t *array, Table *t, const char *noun_singular, const char *noun_plural) {
        if (arg_json != JSON_OFF)
                return json_print(array);
        pager_open();
        return table_print(t, noun_singular, noun_plural);
}

static int json_set(json_t *o, const char *key, json_t *v) {
        if (!v)
                return -ENOMEM;
        return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

int json_add_time(json_t *o, const char *key, usec_t t) {
        _cleanup_free_ char *iso_key = NULL;
        char buf[TIMESTAMP_MAX];
        int r;

        if (asprintf_safe(&iso_key, "%s_iso", key) < 0)
                return -ENOMEM;
        r = json_set(o, key, t == 0 ? json_null() : json_integer((json_int_t) t));
        if (r < 0)
                return r;
        return json_set(o, iso_key, t == 0 ? json_null() : json_string(format_timestamp(buf, sizeof buf, t)));
}

int json_add_string(json_t *o, const char *key, const char *s) {
        return json_set(o, key, s ? json_string(s) : json_null());
}

int json_add_integer(json_t *o, const char *key, long long v) {
        return json_set(o, key, json_integer((json_int_t) v));
}

json_t *json_bytes(const void *p, size_t n) {
        json_t *a, *s = json_stringn(p, n); /* NULL when not valid UTF-8 */

        if (s)
                return s;
        a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, json_integer(((const uint8_t *) p)[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

char *cli_escape(const char *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (const unsigned char *p = (const unsigned char *) strempty(s); *p; p++) {
                if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
                        fprintf(f, "\\u{%04x}", p[1]);          /* C1 control */
                        p++;
                } else if (p[0] == 0xe2 && ((p[1] == 0x80 && ((p[2] >= 0xaa && p[2] <= 0xae) || p[2] == 0x8e || p[2] == 0x8f)) ||
                                            (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9))) {
                        /* bidi embeddings, overrides, isolates and marks */
                        fprintf(f, "\\u{%04x}", 0x2000 + ((p[1] & 0x3f) << 6) + (p[2] & 0x3f));
                        p += 2;
                } else
                        fputc(*p, f);
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

const char *cli_esc(const char *s) {
        static char *ring[8];
        static unsigned next;
        char *e;

        if (!s)
                return NULL;
        e = cli_escape(s);
        if (!e)
                return "(out of memory)";
        free(ring[next % ELEMENTSOF(ring)]);
        ring[next++ % ELEMENTSOF(ring)] = e;
        return e;
}
