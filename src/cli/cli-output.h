/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli-output.h: how runbookctl prints: tables (header, column widths, legend), the pager,
 * colours, time formatting, JSON output and the one-line error messages. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "shared/util.h"

typedef enum JsonMode {
        JSON_OFF,
        JSON_SHORT,
        JSON_PRETTY,
        _JSON_MODE_MAX,
        _JSON_MODE_INVALID = -EINVAL,
} JsonMode;

/* Global output options, set by runbookctl.c from the command line. */
extern JsonMode arg_json;
extern bool arg_legend;
extern bool arg_pager;

JsonMode json_mode_from_string(const char *s);

/* Prints "runbookctl: <message>" on stderr; returns 'error' (a negative errno) so callers can
 * 'return cli_error(r, ...)'. */
int cli_error(int error, const char *fmt, ...) _printf_(2, 3);
/* Same, as a note: returns 0. */
void cli_note(const char *fmt, ...) _printf_(1, 2);

/* A copy of 's' fit for a terminal: C0 controls (but newline and tab), DEL, C1 controls and
 * bidirectional overrides are written as \xNN or \u{XXXX}. NULL on ENOMEM. */
char *cli_escape(const char *s);
/* cli_escape() for printing: the result stays valid for the next 7 calls. NULL for NULL. */
const char *cli_esc(const char *s);

/* Colours: only when stdout is a terminal (decided once, before a pager takes stdout), and not
 * with NO_COLOR set or SYSTEMD_COLORS=0/no/false, or TERM=dumb. */
bool colors_enabled(void);
void colors_init(void);
#define ANSI_RED "\x1B[0;31m"
#define ANSI_GREEN "\x1B[0;32m"
#define ANSI_YELLOW "\x1B[0;33m"
#define ANSI_BLUE "\x1B[0;34m"
#define ANSI_GREY "\x1B[0;38;5;245m"
#define ANSI_HIGHLIGHT "\x1B[0;1;39m"
#define ANSI_UNDERLINE "\x1B[0;1;4m"
#define ANSI_NORMAL "\x1B[0m"
/* The colour sequence for 'code', or "" when colours are off. */
const char *ansi(const char *code);
/* The colour of a session or step state: green succeeded, red failed and friends, yellow waiting. */
const char *state_color(const char *state);
bool stdout_is_tty(void);

/* The pager: started only when stdout is a terminal and --no-pager was not given; $SYSTEMD_PAGER,
 * then $PAGER, else less (LESS=FRXMK unless LESS is set); "" or "cat" means none. */
void pager_open(void);
void pager_close(void);
/* A child with a pipe between us (fds[0] to read, fds[1] to write; both O_CLOEXEC), stdout
 * flushed first: as fork(); -1 with nothing left open when it fails. */
pid_t fork_with_pipe(int fds[2]);
/* Waits for the child to exit. */
void reap(pid_t pid);

/* Times. */
/* "Tue 2026-11-25 16:21:44 UTC" in local time; "n/a" for 0. */
const char *format_timestamp_pretty(char *buf, size_t size, usec_t t);
/* "2min 3s ago", "5h ago", "left" for the future; "n/a" for 0. */
const char *format_timestamp_relative(char *buf, size_t size, usec_t t);
/* "Tue 2026-11-25 16:21:44 UTC (2min ago)"; "n/a" for 0. */
const char *format_timestamp_both(char *buf, size_t size, usec_t t);
/* "1.203s", "2min 3.500s", "1h 2min". */
const char *format_timespan(char *buf, size_t size, usec_t d);
#define FORMAT_TIMESTAMP_MAX 96

/* Tables: every cell a string (NULL is shown as "-"), optionally coloured. */
typedef struct Table Table;
Table *table_new(size_t n_columns, const char *const *headers);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);
/* Sets the maximum width of a column (longer cells are cut with "…"); 0 for none. */
void table_set_max_width(Table *t, size_t column, size_t width);
/* Appends a cell; rows wrap after n_columns cells. 'color' may be NULL. */
int table_add_cell(Table *t, const char *text, const char *color);
int table_add_cellf(Table *t, const char *color, const char *fmt, ...) _printf_(3, 4);
size_t table_rows(Table *t);
/* Prints header (unless --no-legend), rows, then "N <noun> listed." (unless --no-legend). */
int table_print(Table *t, const char *noun_singular, const char *noun_plural);

/* JSON: build with jansson, print according to --json. */
int json_print(json_t *v);
/* A listing: 'array' printed as JSON with --json, else the table 't' (through the pager). */
int print_list(json_t *array, Table *t, const char *noun_singular, const char *noun_plural);
/* Adds "<key>" (µs since the epoch, integer) and "<key>_iso" (RFC 3339 UTC); both null for 0. */
int json_add_time(json_t *o, const char *key, usec_t t);
/* Adds a string, null for NULL. */
int json_add_string(json_t *o, const char *key, const char *s);
int json_add_integer(json_t *o, const char *key, long long v);
/* A JSON value for a byte string: a string if it is valid UTF-8, else an array of numbers. */
json_t *json_bytes(const void *p, size_t n);
/* jansson (>= 2.11) provides json_decrefp() */
#define _cleanup_json_ _cleanup_(json_decrefp)
