#!/usr/bin/env bash
# bench/import.sh: times `xc5 import` of a 100,000-account / 200,000-number
# dump into PostgreSQL, for the "Bulk import" figures of docs/benchmarks.md.
#
#   XC5_DB=postgres://postgres@127.0.0.1:5432/test?sslmode=disable bash bench/import.sh
#   OLD=/tmp/xc5-old XC5_DB=… bash bench/import.sh   # also time another build, same dump
#
# It builds xc5 from this tree, seeds a temporary SQLite directory (xc5 seed),
# exports it (xc5 export), then imports the dump into a fresh schema of the
# database with each binary in turn (OLD first, when given), under
# /usr/bin/time for the wall time and peak RSS, checks the counts with psql,
# and drops the schemas it made.
#
# Knobs: ACCOUNTS [100000], NUMBERS [200000], OLD [unset], KEEP [0],
# DUMP [unset]: an existing dump to import instead of seeding one.
# ONLY_NEW_IMPORT=1 skips the dry run.
set -euo pipefail
PGURL=${XC5_DB:?set XC5_DB to a postgres:// URL}
unset XC5_DB
ACCOUNTS=${ACCOUNTS:-100000}
NUMBERS=${NUMBERS:-200000}
OLD=${OLD:-}
KEEP=${KEEP:-0}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d /tmp/xc5-import.XXXXXX)
SCHEMAS=()
cleanup() {
	for s in "${SCHEMAS[@]:-}"; do
		[ -n "$s" ] && psql -q "$PGURL" -c "DROP SCHEMA $s CASCADE" >/dev/null 2>&1 || true
	done
	[ "$KEEP" = 1 ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '== %s\n' "$*" >&2; }

log "building xc5"
(cd "$ROOT" && go build -o "$WORK/xc5" ./cmd/xc5)
if [ -n "${DUMP:-}" ]; then
	ln -s "$(realpath "$DUMP")" "$WORK/dump.json"
else
	log "seeding $ACCOUNTS accounts and $NUMBERS numbers"
	"$WORK/xc5" seed --data "$WORK/seed" --accounts "$ACCOUNTS" --numbers "$NUMBERS" >&2
	"$WORK/xc5" export --data "$WORK/seed" -o "$WORK/dump.json"
fi
log "dump: $(stat -L -c %s "$WORK/dump.json") bytes"

run() { # label binary [flags]
	local label=$1 bin=$2 schema=xc5imp_$$_${#SCHEMAS[@]} url
	shift 2
	psql -q -v ON_ERROR_STOP=1 "$PGURL" -c "CREATE SCHEMA $schema" >/dev/null
	SCHEMAS+=("$schema")
	case "$PGURL" in *\?*) url="$PGURL&search_path=$schema" ;; *) url="$PGURL?search_path=$schema" ;; esac
	"$bin" migrate --db "$url" >/dev/null
	/usr/bin/time -f "%e %M %U %S" -o "$WORK/time" "$bin" import --db "$url" "$@" "$WORK/dump.json" >/dev/null
	read -r secs kb user sys <"$WORK/time"
	counts=$(psql -XAtq "$PGURL" -c "SET search_path = $schema" -c "SELECT (SELECT count(*) FROM accounts) || ' accounts, ' || (SELECT count(*) FROM numbers) || ' numbers'")
	printf '%-28s %7.2f s  xc5 CPU %6.2f s  peak RSS %5d MB  (%s)  load %s\n' "$label" "$secs" \
		"$(awk "BEGIN{print $user + $sys}")" $((kb / 1024)) "$counts" "$(cut -d' ' -f1 /proc/loadavg)"
}

[ -z "$OLD" ] || run "old ($OLD)" "$OLD"
[ "${ONLY_NEW_IMPORT:-0}" = 1 ] || run "new: import --dry-run" "$WORK/xc5" --dry-run
run "new: import" "$WORK/xc5"
