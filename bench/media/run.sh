#!/usr/bin/env bash
# bench/media/run.sh: the media figure of issue 13 (docs/benchmarks.md, "Issue 13:
# 500 media legs with sipp"). N concurrent legs from sipp, each a menu of
# `xc5 media` playing a 60 s prompt from the store, then the same load against
# bench/media/anchor (diago's own playback loop, AudioPlayback.Play, of the same
# WAV), and against a second anchor that also reads and drops the caller's RTP
# as xc5 does ("diago+r"); the order reversed at each N. While the N legs are up it measures,
# over a WINDOW of seconds: the server process's CPU (utime+stime from
# /proc/PID/stat) as cores and ms of CPU per leg-second, and the gaps between
# the RTP packets the server sends, captured by tcpdump on lo (timestamps at
# the loopback transmit, i.e. the server's pacing) and read by bench/media/gaps:
# raw gap p50/p99/p99.9/max and p99 of |gap - 20 ms|. 127.0.0.1 only; needs
# root (tcpdump). Everything it starts is killed on exit.
#
#   bash bench/media/run.sh
#   LEGS="100 300 500" ROUNDS=1 WINDOW=10 RATE=100 bash bench/media/run.sh
#
# sipp: bench/media/uac.xml, `sipp 127.0.0.1:PORT -sf uac.xml -s menu -key prompt GUID
# -l N -m N -r RATE -d HOLD -mi 127.0.0.1 -mp 20000`; each call's RTP (sipp's rtp_stream,
# a 440 Hz μ-law tone looped) goes from and to its own port 20000+2i, which
# also receives the server's RTP.
set -euo pipefail
cd "$(dirname "$0")/../.."
LEGS=${LEGS:-"100 300 500"}
ROUNDS=${ROUNDS:-1}
WINDOW=${WINDOW:-10}
RATE=${RATE:-100}
SETTLE=${SETTLE:-3}
HTTP_PORT=${HTTP_PORT:-18180}
XC5_PORT=${XC5_PORT:-15080}
ANCHOR_PORT=${ANCHOR_PORT:-15090}
READER_PORT=${READER_PORT:-15091}
SIPP_PORT=${SIPP_PORT:-15070}
SIPP_CP=${SIPP_CP:-18889}
MP=${MP:-20000}
PROMPT=5b0f1c2e-8a3d-4e6f-9b1a-2c3d4e5f6a7b
PASS=bench-media-pw

command -v sipp >/dev/null || apt-get install -y -qq sip-tester >/dev/null
command -v tcpdump >/dev/null || apt-get install -y -qq tcpdump >/dev/null
ulimit -n 65536 2>/dev/null || true

TMP=$(mktemp -d /tmp/xc5-mediabench.XXXXXX)
# cleanup kills the background jobs of this shell still running (servers,
# sipp, tcpdump): jobs -p lists only children not yet waited for, whose ids
# cannot have been reused by another process.
cleanup() {
	local jobs
	jobs=$(jobs -p)
	[ -z "$jobs" ] || kill $jobs 2>/dev/null || true
	for p in $jobs; do
		for _ in $(seq 50); do
			[ "$(cut -d' ' -f3 /proc/"$p"/stat 2>/dev/null || echo Z)" = Z ] && break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	[ -n "${KEEP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

go build -o "$TMP/xc5" ./cmd/xc5
go build -o "$TMP/anchor" ./bench/media/anchor
go build -o "$TMP/gaps" ./bench/media/gaps
go build -o "$TMP/tone" ./bench/media/tone
(cd "$TMP" && ./tone -wav prompt.wav -ulaw caller.ulaw -seconds 60)
sed "s#@CALLER_AUDIO@#$TMP/caller.ulaw#" bench/media/uac.xml >"$TMP/uac.xml"

# Bootstrap the data directory and upload the prompt to _prompt.shared.
mkdir "$TMP/data"
XC5_ADMIN_PASSWORD=$PASS "$TMP/xc5" serve --data "$TMP/data" --http 127.0.0.1:$HTTP_PORT --sip "" 2>"$TMP/serve.log" &
serve=$!
for _ in $(seq 100); do
	curl -fs -u admin:$PASS http://127.0.0.1:$HTTP_PORT/api-sys/ >/dev/null && break
	sleep 0.1
done
code=$(curl -s -o "$TMP/upload.json" -w '%{http_code}' -u admin:$PASS -X PUT -H 'Content-Type: audio/wav' \
	--data-binary @"$TMP/prompt.wav" http://127.0.0.1:$HTTP_PORT/api-sys/account/_prompt.shared/prompt/$PROMPT)
[ "$code" = 200 ] || [ "$code" = 201 ] || { echo "prompt upload: $code $(cat "$TMP/upload.json")"; exit 1; }
kill "$serve"
wait "$serve" 2>/dev/null || true

"$TMP/xc5" media --sip 127.0.0.1:$XC5_PORT --data "$TMP/data" 2>"$TMP/media.log" &
XC5_PID=$!
"$TMP/anchor" -port $ANCHOR_PORT -wav "$TMP/prompt.wav" 2>"$TMP/anchor.log" &
ANCHOR_PID=$!
"$TMP/anchor" -port $READER_PORT -read -wav "$TMP/prompt.wav" 2>"$TMP/reader.log" &
READER_PID=$!
for port in $XC5_PORT $ANCHOR_PORT $READER_PORT; do
	for _ in $(seq 100); do ss -uln | grep -q "127.0.0.1:$port " && break; sleep 0.1; done
done

for p in $XC5_PID $ANCHOR_PID $READER_PID; do
	kill -0 "$p" 2>/dev/null || { echo "a server did not start:"; tail -3 "$TMP"/*.log; exit 1; }
done

TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' /proc/"$1"/stat; }
# busy: the whole machine's busy CPU seconds so far (every process: the server,
# sipp, tcpdump and whatever else shares the machine).
busy() { awk -v t="$TCK" '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / t }' /proc/stat; }

# leg NAME PID PORT N: one run of N legs against the server at PORT.
leg() {
	local name=$1 pid=$2 port=$3 n=$4
	local hold=$(((n / RATE + SETTLE + WINDOW + 4) * 1000))
	local out=$TMP/$name-$n
	kill -0 "$pid" 2>/dev/null || { echo "$name exited"; exit 1; }
	sipp 127.0.0.1:$port -sf "$TMP/uac.xml" -s menu -key prompt $PROMPT -i 127.0.0.1 -p $SIPP_PORT \
		-cp $SIPP_CP -mi 127.0.0.1 -mp $MP -l "$n" -m "$n" -r "$RATE" -d "$hold" -nostdin \
		-trace_stat -stf "$out.stat.csv" -trace_err -error_file "$out.err" >"$out.sipp" 2>&1 &
	local sp=$!
	sleep $((n / RATE + SETTLE))
	tcpdump -i lo -n -s 64 -B 65536 -w "$out.pcap" "udp and dst portrange $MP-$((MP + 2 * n + 1))" 2>"$out.tcpdump" &
	local tp=$!
	sleep 0.5
	local c0 t0 c1 t1 s0 s1 b0 b1
	c0=$(cpu "$pid")
	s0=$(cpu "$sp")
	b0=$(busy)
	t0=$(date +%s.%N)
	sleep "$WINDOW"
	c1=$(cpu "$pid")
	s1=$(cpu "$sp")
	b1=$(busy)
	t1=$(date +%s.%N)
	kill -INT "$tp"
	wait "$tp" 2>/dev/null || true
	local rc=0
	wait "$sp" || rc=$?
	local drops
	drops=$(grep -o '[0-9]* packets dropped by kernel' "$out.tcpdump" | cut -d' ' -f1)
	awk -v n="$n" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v name="$name" -v rc="$rc" -v d="${drops:-?}" \
		-v sc="$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')" -v bc="$(awk -v a="$b0" -v b="$b1" 'BEGIN { print b - a }')" \
		'BEGIN { s = t1 - t0; printf "%-7s legs=%d window=%.1fs cpu=%.2fs cores=%.3f cpu_ms_per_leg_s=%.3f sipp_cores=%.2f machine_busy_cores=%.2f sipp_rc=%d tcpdump_drops=%s  ", name, n, s, c1 - c0, (c1 - c0) / s, 1000 * (c1 - c0) / (n * s), sc / s, bc / s, rc, d }'
	"$TMP/gaps" -pcap "$out.pcap"
	rm -f "$out.pcap"
}

echo "xc5 $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) cores; $(date -u +%FT%TZ); $(uptime)"
echo "sipp: sipp 127.0.0.1:PORT -sf bench/media/uac.xml -s menu -key prompt GUID -l N -m N -r $RATE -d HOLD -mi 127.0.0.1 -mp $MP; window ${WINDOW}s"
i=0
for round in $(seq "$ROUNDS"); do
	for n in $LEGS; do
		if [ $((i % 2)) = 0 ]; then
			leg xc5 "$XC5_PID" $XC5_PORT "$n"
			leg diago "$ANCHOR_PID" $ANCHOR_PORT "$n"
			leg diago+r "$READER_PID" $READER_PORT "$n"
		else
			leg diago+r "$READER_PID" $READER_PORT "$n"
			leg diago "$ANCHOR_PID" $ANCHOR_PORT "$n"
			leg xc5 "$XC5_PID" $XC5_PORT "$n"
		fi
		i=$((i + 1))
		echo "  $(uptime)"
	done
done
echo "--- media node warnings:"
grep -E "level=(WARN|ERROR)" "$TMP/media.log" | tail -5 || true
