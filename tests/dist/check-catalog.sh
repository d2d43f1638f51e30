#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# check-catalog.sh CATALOG CATALOG_IDS_H JOURNAL_MD: every MESSAGE_ID the daemon sends
# (src/journal/catalog-ids.h) and every one documented (docs/journal.md) has exactly one entry in
# the journal catalog, each entry has Subject/Defined-By/Support, and the @FIELD@ references
# of an entry are fields the docs name. No journalctl --update-catalog (that writes /var).
set -euo pipefail
catalog=$1 ids_h=$2 doc=$3
fail=0
ids=$( { grep -oE '"[0-9a-f]{32}"' "$ids_h" | tr -d '"'; grep -oE '\b[0-9a-f]{32}\b' "$doc"; } | sort -u)
[ -n "$ids" ] || { echo "no MESSAGE_IDs found"; exit 1; }
fields=$(grep -oE '\b(RUNBOOK_[A-Z_]+|MESSAGE|PRIORITY)\b' "$doc" | sort -u)
for id in $ids; do
    n=$(grep -cE "^-- $id( |$)" "$catalog" || true)
    if [ "$n" != 1 ]; then echo "MESSAGE_ID $id: $n catalog entries (want 1)"; fail=1; continue; fi
    entry=$(awk -v id="$id" '/^-- / { on = ($2 == id) ; next } on' "$catalog")
    for h in Subject Defined-By Support; do
        grep -q "^$h: " <<<"$entry" || { echo "MESSAGE_ID $id: no $h:"; fail=1; }
    done
    for f in $(grep -oE '@[A-Z_]+@' <<<"$entry" | tr -d @ | sort -u); do
        grep -qx "$f" <<<"$fields" || { echo "MESSAGE_ID $id: @$f@ is not a field in $doc"; fail=1; }
    done
done
for id in $(grep -oE '^-- [0-9a-f]{32}' "$catalog" | cut -c4-); do
    grep -qx "$id" <<<"$ids" || { echo "catalog entry $id is not a known MESSAGE_ID"; fail=1; }
done
# the catalog parses: journalctl builds a database from it inside a scratch root (not /var)
if command -v journalctl >/dev/null; then
    root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
    mkdir -p "$root/usr/lib/systemd/catalog" "$root/var/lib/systemd/catalog"
    cp "$catalog" "$root/usr/lib/systemd/catalog/runbookd.catalog"
    if journalctl --root="$root" --update-catalog; then
        listed=$(journalctl --root="$root" --list-catalog | cut -d' ' -f1 | sort -u)
        [ "$listed" = "$ids" ] || { echo "journalctl --list-catalog lists: $listed"; fail=1; }
    else
        echo "journalctl --update-catalog failed to parse $catalog"; fail=1
    fi
fi
[ $fail = 0 ] && echo "catalog: $(wc -w <<<"$ids") MESSAGE_IDs, all with an entry"
exit $fail
