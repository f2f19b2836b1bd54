#!/usr/bin/env bash
# bench/rtpengine/run.sh: the RTP relay figure of issue 13 in docs/benchmarks.md.
# Relays the same RTP load through one session of Debian's rtpengine (userspace
# forwarding, --table=-1, set up over the ng protocol: offer, answer, delete) and
# through one session of xc5's media/relay (in a child process), alternating the
# two, and prints packets/s relayed and packets per CPU-second of the relay
# process (the "per core" figure) for both. 127.0.0.1 only.
#
#   bash bench/rtpengine/run.sh
#   RATES="10000 20000" SECONDS_EACH=5 ROUNDS=3 bash bench/rtpengine/run.sh
#
# The load is paced (RATE packets/s of 172 bytes, in 1 ms bursts, at most 16 in
# flight, a late sender catching up by at most 1 ms of packets): rtpengine stops reading a socket from which it reads more than 50
# packets in one wake-up five times (its flood guard, MAX_RECV_ITERS), which an
# unpaced single stream trips; rtpengine's lines then show the loss.
# Knobs: RATES [5000 10000 20000], SECONDS_EACH [5], ROUNDS [2], NG_PORT [22230].
set -euo pipefail
cd "$(dirname "$0")/../.."
RATES=${RATES:-"5000 10000 20000"}
SECONDS_EACH=${SECONDS_EACH:-5}
ROUNDS=${ROUNDS:-2}
NG_PORT=${NG_PORT:-22230}

if ! command -v rtpengine >/dev/null; then
	apt-get install -y rtpengine-daemon >/dev/null
fi
tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/rtpbench" ./bench/rtpengine
rtpengine --config-file=none --table=-1 --interface=127.0.0.1 \
	--listen-ng=127.0.0.1:"$NG_PORT" --port-min=41000 --port-max=41999 \
	--foreground --log-stderr --log-level=4 >"$tmp/rtpengine.log" 2>&1 &
pid=$!
for _ in $(seq 50); do
	if ss -uln | grep -q "127.0.0.1:$NG_PORT "; then break; fi
	sleep 0.1
done
echo "rtpengine $(rtpengine --version 2>&1 | head -1) pid $pid; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); xc5 $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
for rate in $RATES; do
	for round in $(seq "$ROUNDS"); do
		"$tmp/rtpbench" -target xc5 -rate "$rate" -seconds "$SECONDS_EACH"
		"$tmp/rtpbench" -target rtpengine -ng 127.0.0.1:"$NG_PORT" -pid "$pid" -rate "$rate" -seconds "$SECONDS_EACH"
	done
done | tee "$tmp/results"
echo "--- rtpengine warnings:"
grep -E "ERR|WARN" "$tmp/rtpengine.log" | tail -5 || true
