/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli-audit.c: audit verify|export. The records come from Manager.GetAuditRecords, each as the
 * exact text the store holds (polkit action read-audit).
 *   export   the records as JSON lines, one record per line, byte for byte (--since: only those
 *            whose "time" is at or after it); docs/journal.md has the sha256sum + jq recipe that
 *            checks them offline;
 *   verify   walks the hash chain (store-audit.c): each record's "seq" is its place, its "prev"
 *            the SHA-256 of the record before it; the last one's hash is the store's head; and each
 *            session end record runbookd wrote to the journal (RUNBOOK_AUDIT_SEQ/HEAD, this store's
 *            RUNBOOK_STORE_ID, runbookd's _UID and _COMM) names a record and hash the store must
 *            still have. The first place it breaks is named; exit status 1 then. */
#include <openssl/sha.h>
#include <pwd.h>
#include <stdio.h>
#include <systemd/sd-journal.h>

#include "cli/cli-bus.h"
#include "cli/cli-output.h"
#include "cli/runbookctl.h"

#define PAGE 1000u

typedef struct Chain {
        uint64_t n;               /* records read */
        uint64_t n_unchained;     /* before the chain (no "prev") */
        uint64_t last_seq;
        uint8_t (*hashes)[SHA256_DIGEST_LENGTH];   /* [seq - 1] */
        size_t n_hashes_allocated;
        char *problem;            /* the first place it breaks */
        uint64_t pending;         /* a record whose "prev" is not the hash of the one before it: that
                                   * one was changed, or this one inserted (the next record tells) */
        char pending_prev[65];
        bool export;
} Chain;

static void hexify(const uint8_t *b, char out[65]) {
        for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++)
                sprintf(out + 2 * i, "%02x", b[i]);
}

static void chain_fail(Chain *c, const char *fmt, ...) _printf_(2, 3);
static void chain_fail(Chain *c, const char *fmt, ...) {
        va_list ap;

        if (c->problem)
                return;
        va_start(ap, fmt);
        if (vasprintf_safe(&c->problem, fmt, ap) < 0)
                c->problem = strdup("out of memory");
        va_end(ap);
}

static int take(Chain *c, uint64_t seq, const char *text) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        uint8_t h[SHA256_DIGEST_LENGTH];
        const char *prev;
        json_t *js;

        if (c->export) {
                if (arg_since > 0) {
                        j = json_loads(text, 0, NULL);
                        json_t *t = json_object_get(j, "time");
                        if (json_is_integer(t) && (uint64_t) json_integer_value(t) < arg_since)
                                return 0;
                }
                if (fputs(text, stdout) < 0 || fputc('\n', stdout) < 0)
                        return -EIO;
                return 0;
        }
        if (c->problem)
                return 0;
        if (seq != c->last_seq + 1) {
                chain_fail(c, "record %" PRIu64 " is missing (removed): the records go from %" PRIu64 " to %" PRIu64,
                           c->last_seq + 1, c->last_seq, seq);
                return 0;
        }
        if (GREEDY_REALLOC(c->hashes, c->n_hashes_allocated, seq) < 0)
                return -ENOMEM;
        SHA256((const uint8_t *) text, strlen(text), h);
        memcpy(c->hashes[seq - 1], h, sizeof h);
        c->last_seq = seq;
        c->n++;
        j = json_loads(text, 0, NULL);
        if (!j) {
                chain_fail(c, "record %" PRIu64 " was changed: it is not a JSON document any more", seq);
                return 0;
        }
        prev = json_string_value(json_object_get(j, "prev"));
        js = json_object_get(j, "seq");
        if (!prev) {
                if (c->n_unchained + 1 != seq)
                        chain_fail(c, "record %" PRIu64 " has no link to the record before it: it was inserted or "
                                   "changed", seq);
                else
                        c->n_unchained++;
                return 0;
        }
        char want[65] = "0000000000000000000000000000000000000000000000000000000000000000";
        if (c->pending) {
                /* the record after a broken link: if it links to the one before that, the record
                 * in between was inserted; else the one before it was changed */
                if (c->pending >= 2)
                        hexify(c->hashes[c->pending - 2], want);
                if (streq(prev, want))
                        chain_fail(c, "record %" PRIu64 " was inserted (record %" PRIu64 " links to record %" PRIu64 ")",
                                   c->pending, seq, c->pending - 1);
                else
                        chain_fail(c, "record %" PRIu64 " was changed (record %" PRIu64 " recorded its hash as %.16s…)",
                                   c->pending - 1, c->pending, c->pending_prev);
                return 0;
        }
        if (!json_is_integer(js) || (uint64_t) json_integer_value(js) != seq) {
                if (json_is_integer(js) && (uint64_t) json_integer_value(js) > seq)
                        chain_fail(c, "record %" PRIu64 " says it is record %" PRIu64 ": record %" PRIu64 " was removed "
                                   "(the records after it were renumbered)", seq, (uint64_t) json_integer_value(js), seq);
                else if (json_is_integer(js))
                        chain_fail(c, "record %" PRIu64 " was inserted (it says it is record %" PRIu64 "; the records "
                                   "after an insertion are renumbered)", seq, (uint64_t) json_integer_value(js));
                else
                        chain_fail(c, "record %" PRIu64 " was changed: its \"seq\" is not its number", seq);
                return 0;
        }
        if (seq > 1)
                hexify(c->hashes[seq - 2], want);
        if (!streq(prev, want)) {
                c->pending = seq;
                snprintf(c->pending_prev, sizeof c->pending_prev, "%s", prev);
        }
        return 0;
}

static int fetch(Chain *c, uint64_t *ret_head_seq, char **ret_head) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        uint64_t after = 0;
        int r;

        r = cli_bus_open(&bus);
        if (r < 0)
                return cli_error(r, "Failed to connect to the system bus: %s", strerror(-r));
        polkit_agent_open();
        for (;;) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                const char *text, *head;
                uint64_t seq, head_seq;
                unsigned n = 0;

                r = sd_bus_call_method(bus, RUNBOOKD_BUS_NAME, RUNBOOKD_MANAGER_PATH, RUNBOOKD_MANAGER_INTERFACE,
                                       "GetAuditRecords", &error, &reply, "tu", after, PAGE);
                if (r < 0) {
                        polkit_agent_close();
                        return cli_bus_error(r, &error, RUNBOOKD_ACTION_READ_AUDIT, "read the audit records");
                }
                r = sd_bus_message_enter_container(reply, 'a', "(ts)");
                while (r >= 0 && (r = sd_bus_message_read(reply, "(ts)", &seq, &text)) > 0) {
                        r = take(c, seq, text);
                        after = seq;
                        n++;
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "ts", &head_seq, &head);
                if (r < 0) {
                        polkit_agent_close();
                        return cli_error(r, "Failed to read runbookd's reply: %s", strerror(-r));
                }
                if (n == 0) {
                        *ret_head_seq = head_seq;
                        *ret_head = strdup(head);
                        break;
                }
        }
        polkit_agent_close();
        return *ret_head ? 0 : cli_error(-ENOMEM, "Out of memory.");
}

/* The chain heads runbookd wrote to the journal at each session's end; 0 with *ret_n checked. */
static int check_journal(Chain *c, const char *store_id, unsigned *ret_n) {
        sd_journal *j = NULL;
        _cleanup_free_ char *store_match = NULL;
        struct passwd *pw = getpwnam("runbookd");
        unsigned n = 0;
        int r;

        *ret_n = 0;
        r = arg_directory ? sd_journal_open_directory(&j, arg_directory, 0) : sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return r;
        /* runbookd's own records (the fields journald adds), of this store */
        if (asprintf_safe(&store_match, "RUNBOOK_STORE_ID=%s", strempty(store_id)) < 0) {
                sd_journal_close(j);
                return -ENOMEM;
        }
        r = sd_journal_add_match(j, "MESSAGE_ID=6719122ff9d54508a2e3b8610b273926", 0);
        if (r >= 0 && store_id)
                r = sd_journal_add_match(j, store_match, 0);
        if (r >= 0)
                r = sd_journal_add_match(j, "_COMM=runbookd", 0);
        SD_JOURNAL_FOREACH(j) {
                const void *d;
                size_t len;
                char seqs[32] = "", head[80] = "", uid[32] = "";
                struct { const char *name; char *buf; size_t size; } f[] = {
                        { "RUNBOOK_AUDIT_SEQ=", seqs, sizeof seqs }, { "RUNBOOK_AUDIT_HEAD=", head, sizeof head },
                        { "_UID=", uid, sizeof uid },
                };
                for (size_t i = 0; i < ELEMENTSOF(f); i++)
                        if (sd_journal_get_data(j, f[i].name[0] == '_' ? "_UID" : (i == 0 ? "RUNBOOK_AUDIT_SEQ" :
                                                "RUNBOOK_AUDIT_HEAD"), &d, &len) >= 0 && len > strlen(f[i].name) &&
                            len - strlen(f[i].name) < f[i].size)
                                snprintf(f[i].buf, f[i].size, "%.*s", (int) (len - strlen(f[i].name)),
                                         (const char *) d + strlen(f[i].name));
                if (!*seqs || !*head)
                        continue;
                /* records of runbookd's uid (root for a daemon run by hand) */
                if (!(streq(uid, "0") || (pw && (uid_t) strtoul(uid, NULL, 10) == pw->pw_uid)))
                        continue;
                uint64_t seq = strtoull(seqs, NULL, 10);
                char have[65];
                if (seq == 0)
                        continue;
                n++;
                if (seq > c->last_seq) {
                        chain_fail(c, "the journal saw record %" PRIu64 " (a session's end record), but the store's records "
                                   "end at %" PRIu64 ": records were removed", seq, c->last_seq);
                        break;
                }
                hexify(c->hashes[seq - 1], have);
                if (!streq(have, head)) {
                        chain_fail(c, "record %" PRIu64 " is not the one the journal saw at a session's end (journal: "
                                   "%.16s…, store: %.16s…): the chain was changed and computed again", seq, head, have);
                        break;
                }
        }
        /* none opened (no permission to read the journal's files): nothing was compared */
        uint64_t usage = 0;
        bool opened = sd_journal_get_usage(j, &usage) >= 0 && usage > 0;
        sd_journal_close(j);
        *ret_n = n;
        return opened ? 0 : -EACCES;
}

int verb_audit(int argc, char *argv[]) {
        _cleanup_free_ char *head = NULL, *store_id = NULL;
        Chain c = { .export = streq(argv[1], "export") };
        uint64_t head_seq = 0;
        unsigned n_journal = 0;
        int r;

        if (!streq(argv[1], "verify") && !streq(argv[1], "export"))
                return cli_error(-EINVAL, "Unknown audit command '%s' (verify, export).", argv[1]);
        r = fetch(&c, &head_seq, &head);
        if (r < 0 || c.export) {
                free(c.hashes);
                free(c.problem);
                return r < 0 ? r : fflush(stdout) == 0 ? 0 : -EIO;
        }
        if (!c.problem && c.pending)
                chain_fail(&c, "record %" PRIu64 " was changed (record %" PRIu64 " recorded its hash as %.16s…)",
                           c.pending - 1, c.pending, c.pending_prev);
        if (!c.problem && c.last_seq != head_seq)
                chain_fail(&c, "the records end at %" PRIu64 ", but the store's head is record %" PRIu64 ": records were "
                           "removed at the end, or added", c.last_seq, head_seq);
        if (!c.problem && c.last_seq > 0 && !isempty(head)) {
                char have[65];
                hexify(c.hashes[c.last_seq - 1], have);
                if (!streq(have, head))
                        chain_fail(&c, "record %" PRIu64 " (the last) was changed: the store's head is %.16s…, it "
                                   "hashes to %.16s…", c.last_seq, head, have);
        }
        bool journal = false;
        if (!c.problem) {
                _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
                if (cli_bus_open(&bus) >= 0)
                        (void) sd_bus_get_property_string(bus, RUNBOOKD_BUS_NAME, RUNBOOKD_MANAGER_PATH,
                                                          RUNBOOKD_MANAGER_INTERFACE, "StoreId", NULL, &store_id);
                journal = check_journal(&c, store_id, &n_journal) >= 0;
        }
        free(c.hashes);
        if (c.problem) {
                r = cli_error(-EBADMSG, "The audit chain is broken: %s.", c.problem);
                free(c.problem);
                return r;
        }
        printf("The audit chain is intact: %" PRIu64 " records", c.n);
        if (c.n_unchained > 0)
                printf(" (the first %" PRIu64 " written before the chain, not linked)", c.n_unchained);
        printf(", head %s.\n", isempty(head) ? "(none)" : head);
        if (!journal)
                printf("The journal could not be read (are you in group systemd-journal?): its session end records "
                       "were not compared.\n");
        else if (n_journal == 0)
                printf("The journal has no session end record of this store to compare with.\n");
        else
                printf("%u session end records in the journal name records of this chain; they agree.\n", n_journal);
        return 0;
}
