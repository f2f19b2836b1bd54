#!/usr/bin/env bash
# bench/run.sh: reproduces the figures of issue 2 (and, with XC5_DB, the GET
# and create figures of issue 6 on PostgreSQL) recorded in
# docs/benchmarks.md, end to end, on this machine, against 127.0.0.1 only.
#
#   bash bench/run.sh                 # everything, defaults below
#   DURATION=5 ROUNDS=1 bash bench/run.sh   # a quick pass
#   XC5_DB=postgres://postgres@127.0.0.1:5432/xc5bench?sslmode=disable bash bench/run.sh
#                                     # the same on PostgreSQL (issue 6)
#
# What it does:
#   1. installs wrk, curl and sqlite3 with apt-get when they are missing;
#   2. builds xc5 (./cmd/xc5) and the bare comparison server (./bench/barehttp);
#   3. seeds a temporary data directory with ACCOUNTS accounts and NUMBERS numbers
#      (with XC5_DB: then moves them into a fresh schema of that PostgreSQL
#      database with xc5 export / xc5 import, and serves from there);
#   4. measures start-up of `xc5 serve` on it (process start -> first 200);
#   5. GET /api-sys/account/{guid} with Basic auth, wrk -t2 -c64, rotating over
#      every seeded GUID, against xc5 and against barehttp, alternating the two
#      ROUNDS times so that both see the same machine conditions;
#   6. durable creates, PUT /api-sys/account/{id}/number with a unique number a
#      request, wrk -t2 -c64, ROUNDS times; only 201s count as creates, and the
#      count is checked against the database after the server has stopped;
#   7. samples the server's RSS during each load (and reports VmHWM);
#   8. prints a summary. Every server it started is killed on exit (trap),
#      and the PostgreSQL schema it made is dropped.
#
# Environment knobs (defaults in brackets):
#   DURATION [15]  seconds of each wrk run      ROUNDS [3]   rounds of each load
#   ACCOUNTS [100000]  NUMBERS [200000]          STARTS [5]   timed start-ups
#   XC5_PORT [18080]  BARE_PORT [18081]          THREADS [2]  CONNS [64]
#   XC5_SRC [repository root] source tree that xc5 is built from, e.g. a
#           `git archive HEAD` export; XC5_REV labels it in the summary
#   XC5_LOG [/dev/null] where the server's stderr (request log) goes
#   KEEP [0] keep the temporary directory (binaries, data, logs) when 1
#   GUIDS_VIA_API [0] list the account GUIDs through GET /api-sys/account?limit=…
#           instead of sqlite3 (what happens anyway when sqlite3 is missing)
#   XC5_DB [unset] postgres:// URL of a database to run against instead of
#           SQLite: the script creates a schema xc5bench_PID in it (psql
#           needed; installed when missing), serves from that schema and
#           drops it on exit (kept with KEEP=1). Only local servers make
#           sense: its CPU is measured too (pg_cpu_us_per_req, the postgres
#           processes of that database plus the WAL writer, checkpointer and
#           background writer, found by their command lines)
#   XC5_SIP [127.0.0.1:18060] the server's SIP address (5060 is often taken
#           by other tests on a shared machine)
set -euo pipefail

DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-3}
ACCOUNTS=${ACCOUNTS:-100000}
NUMBERS=${NUMBERS:-200000}
STARTS=${STARTS:-5}
XC5_PORT=${XC5_PORT:-18080}
BARE_PORT=${BARE_PORT:-18081}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
KEEP=${KEEP:-0}
XC5_LOG=${XC5_LOG:-/dev/null}
# The URL moves to PGURL and leaves the environment: xc5's subcommands
# take XC5_DB as their default --db, and export must read the SQLite seed.
PGURL=${XC5_DB:-}
unset XC5_DB
XC5_SIP=${XC5_SIP:-127.0.0.1:18060}

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
XC5_SRC=${XC5_SRC:-$ROOT}
WORK=$(mktemp -d /tmp/xc5-bench.XXXXXX)
ADMIN_PW=bench-admin-$$-$RANDOM
SEED_PW=bench-seed-pw
HOST=127.0.0.1
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)

PIDS=()
SCHEMA=
cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null || true
	done
	if [ "$KEEP" = 1 ]; then
		echo "kept $WORK${SCHEMA:+ and schema $SCHEMA}" >&2
	else
		rm -rf "$WORK"
		[ -z "$SCHEMA" ] || psql -q "$PGURL" -c "DROP SCHEMA $SCHEMA CASCADE" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*" >&2; }
now_ns() { date +%s%N; }

# --- 1. tools ---------------------------------------------------------------
need=()
for t in wrk curl sqlite3; do command -v "$t" >/dev/null || need+=("$t"); done
[ -z "$PGURL" ] || command -v psql >/dev/null || need+=(postgresql-client)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y "${need[@]}" >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y "${need[@]}" >/dev/null; }
fi
for t in wrk curl go ${PGURL:+psql}; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }; done

for port in "$XC5_PORT" "$BARE_PORT"; do
	if curl -s -o /dev/null --max-time 1 "http://$HOST:$port/"; then
		echo "port $port is already in use on $HOST; set XC5_PORT/BARE_PORT" >&2
		exit 1
	fi
done

# --- 2. build ---------------------------------------------------------------
log "building xc5 from $XC5_SRC and bench/barehttp"
(cd "$XC5_SRC" && go build -o "$WORK/xc5" ./cmd/xc5)
(cd "$ROOT" && go build -o "$WORK/barehttp" ./bench/barehttp)
XC5_COMMIT=${XC5_REV:-$(cd "$XC5_SRC" && git rev-parse --short HEAD 2>/dev/null || echo "(not a git checkout)")}
XC5_DIRTY=$( (cd "$XC5_SRC" && git status --porcelain --untracked-files=no 2>/dev/null || true) | grep -cv ' bench/' || true)

# --- 3. seed ----------------------------------------------------------------
DATA=$WORK/data
log "seeding $ACCOUNTS accounts and $NUMBERS numbers"
"$WORK/xc5" seed --data "$DATA" --accounts "$ACCOUNTS" --numbers "$NUMBERS" --password "$SEED_PW" >&2
DB=$DATA/xc5.db
STORE=(--data "$DATA")
STORE_DESC="SQLite, $DATA"
if [ -n "$PGURL" ]; then
	# A schema of our own in the given database, named in the URL's
	# search_path (pgx passes it to the server), so nothing else is touched.
	SCHEMA=xc5bench_$$
	psql -q -v ON_ERROR_STOP=1 "$PGURL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
	case "$PGURL" in *\?*) DBURL="$PGURL&search_path=$SCHEMA" ;; *) DBURL="$PGURL?search_path=$SCHEMA" ;; esac
	log "moving the seed into PostgreSQL schema $SCHEMA (xc5 export, xc5 import)"
	t0=$(now_ns)
	"$WORK/xc5" export --data "$DATA" -o "$WORK/seed.json"
	"$WORK/xc5" import --db "$DBURL" "$WORK/seed.json" >&2
	log "moved in $((($(now_ns) - t0) / 1000000)) ms"
	rm -f "$WORK/seed.json"
	STORE=(--db "$DBURL")
	STORE_DESC="PostgreSQL $(psql -XAtq "$PGURL" -c "SHOW server_version"), schema $SCHEMA of $(sed 's|//[^@/]*@|//|; s|?.*||' <<<"$PGURL")"
	PG_DBNAME=$(psql -XAtq "$PGURL" -c "SELECT current_database()")
fi

# --- helpers ----------------------------------------------------------------
XC5_PID=
# start_xc5: starts the server, waits for the first 200 (OPTIONS /api-sys/
# needs no credentials, so no password hash is in the way), and sets
# XC5_PID and STARTUP_MS (process start to first successful response).
start_xc5() {
	local t0 t1 i
	t0=$(now_ns)
	XC5_ADMIN_PASSWORD=$ADMIN_PW "$WORK/xc5" serve --http "$HOST:$XC5_PORT" --sip "$XC5_SIP" "${STORE[@]}" 2>>"$XC5_LOG" &
	XC5_PID=$!
	PIDS+=("$XC5_PID")
	for i in $(seq 1 3000); do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "http://$HOST:$XC5_PORT/api-sys/")" = 200 ]; then
			t1=$(now_ns)
			STARTUP_MS=$(((t1 - t0) / 1000000))
			return 0
		fi
		kill -0 "$XC5_PID" 2>/dev/null || { echo "xc5 serve exited" >&2; return 1; }
		sleep 0.005
	done
	echo "xc5 serve did not answer within 15 s" >&2
	return 1
}
stop_pid() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
# rss_sampler PID FILE: writes the largest VmRSS (kB) seen every 0.2 s to FILE
# until the process is gone or the sampler is killed.
rss_sampler() {
	local pid=$1 out=$2 max=0 v
	while v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [ -n "$v" ]; do
		[ "$v" -gt "$max" ] && max=$v && echo "$max" >"$out"
		sleep 0.2
	done
}
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# --- 4. start-up ------------------------------------------------------------
log "start-up: first start (creates the system accounts), then $STARTS restarts"
start_xc5
FIRST_STARTUP_MS=$STARTUP_MS
stop_pid "$XC5_PID"
STARTUPS=()
for i in $(seq 1 "$STARTS"); do
	start_xc5
	STARTUPS+=("$STARTUP_MS")
	stop_pid "$XC5_PID"
done
STARTUP_MAX=$(printf '%s\n' "${STARTUPS[@]}" | sort -n | tail -1)
STARTUP_MED=$(printf '%s\n' "${STARTUPS[@]}" | median)

# --- 5. GET -----------------------------------------------------------------
GUIDS=$WORK/guids.txt
if [ "${GUIDS_VIA_API:-0}" != 1 ] && command -v sqlite3 >/dev/null; then
	sqlite3 "$DB" "SELECT guid FROM accounts WHERE username LIKE '%seed-%.test' ORDER BY random()" >"$GUIDS"
else # through the API, page by page
	: >"$GUIDS"
	next="/api-sys/account?limit=10000"
	start_xc5
	while [ -n "$next" ]; do
		hdr=$WORK/hdr
		curl -s -D "$hdr" -u "admin:$ADMIN_PW" "http://$HOST:$XC5_PORT$next" |
			grep -o '"guid":"[0-9A-F-]*","username":"[^"]*seed-[^"]*"' | cut -d'"' -f4 >>"$GUIDS"
		next=$(sed -n 's/^Link: <\([^>]*\)>; rel="next".*/\1/Ip' "$hdr" | tr -d '\r')
	done
	stop_pid "$XC5_PID"
fi
log "$(wc -l <"$GUIDS") account GUIDs for the GET load"

AUTH="Authorization: Basic $(printf 'admin:%s' "$ADMIN_PW" | base64 -w0)"
"$WORK/barehttp" --http "$HOST:$BARE_PORT" 2>/dev/null &
BARE_PID=$!
PIDS+=("$BARE_PID")
until curl -s -o /dev/null "http://$HOST:$BARE_PORT/"; do sleep 0.02; done
start_xc5
# One authenticated request first, so that the credential cache is warm (the
# first verification costs one slow password hash) and a bad setup fails here.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "http://$HOST:$XC5_PORT/api-sys/account/$(head -1 "$GUIDS")")
[ "$code" = 200 ] || { echo "GET of a seeded account answered $code" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# pg_ticks: CPU ticks of the local PostgreSQL processes that work for the
# benchmark's database (its backends, WAL writer, checkpointer, background
# writer); 0 without XC5_DB. Backends that end during a run are missed.
pg_ticks() {
	local p c n=0
	[ -n "$PGURL" ] || { echo 0; return; }
	for p in $(pgrep -x postgres 2>/dev/null); do
		c=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
		case "$c" in
		*" $PG_DBNAME "* | *walwriter* | *checkpointer* | *"background writer"*)
			n=$((n + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))) ;;
		esac
	done
	echo "$n"
}
us_per() { awk -v c="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", (n > 0 ? c * 1e6 / hz / n : 0)}'; }
# wrk_get PORT PID: one GET load; prints wrk's RESULT line plus the server's
# CPU time per request (user+sys of PID over the run / requests), a figure
# that other load on the machine disturbs much less than req/s.
wrk_get() {
	local c0 c1 p0 p1 line n pg=
	c0=$(cpu_ticks "$2")
	p0=$(pg_ticks)
	line=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -H "$AUTH" -s "$BENCH/get_accounts.lua" \
		"http://$HOST:$1" -- "$GUIDS" | tee -a "$WORK/wrk.log" | grep '^RESULT')
	c1=$(cpu_ticks "$2")
	p1=$(pg_ticks)
	n=$(field requests <<<"$line")
	[ -z "$PGURL" ] || [ "$2" != "$XC5_PID" ] || pg=" pg_cpu_us_per_req=$(us_per $((p1 - p0)) "$n")"
	echo "$line cpu_us_per_req=$(us_per $((c1 - c0)) "$n")$pg"
}
GET_RSS=$WORK/get.rss
echo 0 >"$GET_RSS"
rss_sampler "$XC5_PID" "$GET_RSS" &
SAMPLER=$!
PIDS+=("$SAMPLER")
BARE_RPS=()
XC5_RPS=()
BARE_CPU=()
XC5_CPU=()
XC5_PGCPU=()
RATIOS=()
GET_NON2XX=0
for r in $(seq 1 "$ROUNDS"); do
	# alternate which goes first, so that neither always runs on a warmer machine
	if [ $((r % 2)) = 1 ]; then order="bare xc5"; else order="xc5 bare"; fi
	for who in $order; do
		if [ "$who" = bare ]; then
			line=$(wrk_get "$BARE_PORT" "$BARE_PID")
			b=$(field rps <<<"$line")
			BARE_RPS+=("$b")
			BARE_CPU+=("$(field cpu_us_per_req <<<"$line")")
		else
			line=$(wrk_get "$XC5_PORT" "$XC5_PID")
			x=$(field rps <<<"$line")
			XC5_RPS+=("$x")
			XC5_CPU+=("$(field cpu_us_per_req <<<"$line")")
			XC5_PGCPU+=("$(field pg_cpu_us_per_req <<<"$line")")
			GET_NON2XX=$((GET_NON2XX + $(field non2xx3xx <<<"$line")))
		fi
		log "GET round $r $who: $line"
	done
	RATIOS+=("$(awk -v x="$x" -v b="$b" 'BEGIN {printf "%.3f", x / b}')")
done
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
GET_RSS_MAX=$(cat "$GET_RSS")
GET_HWM=$(hwm_kb "$XC5_PID")
stop_pid "$BARE_PID"
stop_pid "$XC5_PID"

# --- 6. PUT -----------------------------------------------------------------
start_xc5
# The routing view loads in the background after start-up; a call trace
# waits for it, so that the rounds measure creates, not the load.
curl -s -u "admin:$ADMIN_PW" "http://$HOST:$XC5_PORT/api-sys/calltrace?from=6421000000&dial=1" >/dev/null
PUT_RSS=$WORK/put.rss
echo 0 >"$PUT_RSS"
rss_sampler "$XC5_PID" "$PUT_RSS" &
SAMPLER=$!
PIDS+=("$SAMPLER")
PUT_RATE=()
PUT_CREATED=0
PUT_OTHER=()
PUT_CPU=()
PUT_PGCPU=()
RUNBASES=()
for r in $(seq 1 "$ROUNDS"); do
	runbase=$(((10#$(date +%s) + r) % 10000))
	RUNBASES+=("$runbase")
	c0=$(cpu_ticks "$XC5_PID")
	p0=$(pg_ticks)
	line=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s -H "$AUTH" -s "$BENCH/put_numbers.lua" \
		"http://$HOST:$XC5_PORT" -- "$GUIDS" "$runbase" | tee -a "$WORK/wrk.log" | grep '^RESULT')
	c1=$(cpu_ticks "$XC5_PID")
	p1=$(pg_ticks)
	n=$(field requests <<<"$line")
	line="$line cpu_us_per_req=$(us_per $((c1 - c0)) "$n")"
	[ -z "$PGURL" ] || line="$line pg_cpu_us_per_req=$(us_per $((p1 - p0)) "$n")"
	log "PUT round $r: $line"
	PUT_RATE+=("$(field creates_per_s <<<"$line")")
	PUT_CREATED=$((PUT_CREATED + $(field created201 <<<"$line")))
	PUT_OTHER+=("$(field other_statuses <<<"$line")")
	PUT_CPU+=("$(field cpu_us_per_req <<<"$line")")
	PUT_PGCPU+=("$(field pg_cpu_us_per_req <<<"$line")")
done
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
PUT_RSS_MAX=$(cat "$PUT_RSS")
PUT_HWM=$(hwm_kb "$XC5_PID")
stop_pid "$XC5_PID"
# Every 201 must be in the database (the server has stopped; WAL included).
IN_DB=unknown
BENCH_NUMBERS="SELECT count(*) FROM numbers WHERE number LIKE '7%' AND length(number) = 14"
if [ -n "$PGURL" ]; then
	IN_DB=$(psql -XAtq "$PGURL" -c "SET search_path = $SCHEMA" -c "$BENCH_NUMBERS")
elif command -v sqlite3 >/dev/null; then
	IN_DB=$(sqlite3 "$DB" "$BENCH_NUMBERS")
fi

# --- 8. summary -------------------------------------------------------------
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
BARE_MED=$(printf '%s\n' "${BARE_RPS[@]}" | median)
XC5_MED=$(printf '%s\n' "${XC5_RPS[@]}" | median)
RATIO_MED=$(printf '%s\n' "${RATIOS[@]}" | median)
PUT_MED=$(printf '%s\n' "${PUT_RATE[@]}" | median)
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {ok = (op == ">=") ? (v >= t) : (v < t); print ok ? "PASS" : "MISS"}'; }
cat <<EOF

xc5 benchmark summary ($(date -u +%Y-%m-%dT%H:%MZ))
machine: nproc=$(nproc), $(go version | cut -d' ' -f3-4), kernel $(uname -r), load average before $LOAD_BEFORE, after $(cut -d" " -f1-3 /proc/loadavg)
xc5 built from $XC5_SRC at $XC5_COMMIT ($XC5_DIRTY modified tracked files outside bench/)
store: $STORE_DESC
data: $ACCOUNTS accounts, $NUMBERS numbers, $(du -m "$DB" | cut -f1) MiB SQLite database as seeded; wrk -t$THREADS -c$CONNS -d${DURATION}s, $ROUNDS rounds

1. GET /api-sys/account/{guid}, Basic auth
   bare net/http req/s per round: ${BARE_RPS[*]}
   xc5 req/s per round:           ${XC5_RPS[*]}   (non-2xx: $GET_NON2XX)
   xc5/bare per round:            ${RATIOS[*]}
   server CPU us/request: bare ${BARE_CPU[*]}; xc5 ${XC5_CPU[*]}${PGURL:+; PostgreSQL ${XC5_PGCPU[*]}}
   median: xc5 $XC5_MED req/s, bare $BARE_MED req/s, ratio $RATIO_MED   target >= 0.50: $(verdict "$RATIO_MED" 0.5 ">=")
2. durable creates, PUT /api-sys/account/{id}/number
   201/s per round: ${PUT_RATE[*]}   other statuses per round: ${PUT_OTHER[*]}
   server CPU us/request: xc5 ${PUT_CPU[*]}${PGURL:+; PostgreSQL ${PUT_PGCPU[*]}}
   median $PUT_MED 201/s   target >= 5000: $(verdict "$PUT_MED" 5000 ">=")
   201s answered: $PUT_CREATED; benchmark numbers in the database after stop: $IN_DB
   (may exceed the 201s by the requests still in flight when wrk stopped, at most $CONNS a round)
3. start-up (process start -> first 200): first start $FIRST_STARTUP_MS ms (creates system accounts);
   restarts ${STARTUPS[*]} ms, median $STARTUP_MED ms, max $STARTUP_MAX ms   target < 2000: $(verdict "$STARTUP_MAX" 2000 "<")
   RSS during GET: max sampled $(mib "$GET_RSS_MAX") MiB, VmHWM $(mib "$GET_HWM") MiB
   RSS during PUT: max sampled $(mib "$PUT_RSS_MAX") MiB, VmHWM $(mib "$PUT_HWM") MiB   target < 300: $(verdict "$(awk -v a="$GET_HWM" -v b="$PUT_HWM" 'BEGIN {print (a > b ? a : b) / 1024}')" 300 "<")
EOF
