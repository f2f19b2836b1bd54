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
# /usr/bin/time for the wall time and peak RSS, notes the CPU time of the
# import's PostgreSQL backends (when PostgreSQL runs on this machine),
# checks the counts with psql, and drops the schemas it made.
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
# pgcpu APP OUT: until killed, notes the CPU ticks of the PostgreSQL
# backends whose application_name is APP (PostgreSQL on this machine), and
# writes their sum to OUT: the database's share, which the wall time under
# other sessions' load hides.
pgcpu() {
	local -A ticks
	trap 'local t=0 p; for p in "${!ticks[@]}"; do t=$((t + ticks[$p])); done; echo "$t" >"$2"; exit' TERM
	while :; do
		for p in $(psql -XAtq "$PGURL" -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'"); do
			local f
			[ -r "/proc/$p/stat" ] && read -r -a f <"/proc/$p/stat" && ticks[$p]=$((f[13] + f[14]))
		done
		sleep 0.2
	done
}

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
	url="$url&application_name=$schema"
	"$bin" migrate --db "$url" >/dev/null
	pgcpu "$schema" "$WORK/pgcpu" &
	local watcher=$!
	/usr/bin/time -f "%e %M %U %S" -o "$WORK/time" "$bin" import --db "$url" "$@" "$WORK/dump.json" >/dev/null
	kill "$watcher" && wait "$watcher" || true
	read -r secs kb user sys <"$WORK/time"
	counts=$(psql -XAtq "$PGURL" -c "SET search_path = $schema" -c "SELECT (SELECT count(*) FROM accounts) || ' accounts, ' || (SELECT count(*) FROM numbers) || ' numbers'")
	printf '%-28s %7.2f s  xc5 CPU %6.2f s  PostgreSQL CPU %6.2f s  peak RSS %5d MB  (%s)  load %s\n' "$label" "$secs" \
		"$(awk "BEGIN{print $user + $sys}")" "$(awk -v hz="$(getconf CLK_TCK)" '{print $1 / hz}' "$WORK/pgcpu")" $((kb / 1024)) "$counts" "$(cut -d' ' -f1 /proc/loadavg)"
}

[ -z "$OLD" ] || run "old ($OLD)" "$OLD"
[ "${ONLY_NEW_IMPORT:-0}" = 1 ] || run "new: import --dry-run" "$WORK/xc5" --dry-run
run "new: import" "$WORK/xc5"
