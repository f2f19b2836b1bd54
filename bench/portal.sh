#!/usr/bin/env bash
# Load figures of the company portal (issue 15): server time per page for a
# company of 1,000 users and 100,000 CDRs, with wrk against the real
# `xc5 serve` (SQLite, SIP off) holding a portal session cookie, beside the
# bare net/http handler of bench/barehttp; and each page's weight.
# Everything talks to 127.0.0.1 only; every server started is stopped on exit.
#
#   bash bench/portal.sh                 # seed (about a minute), then 10 s per page
#   DURATION=3 bash bench/portal.sh      # quicker
#   DATA=/tmp/portal-seed bash bench/portal.sh   # seed once, reuse after
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-1}
THREADS=${THREADS:-1}
PORT=${XC5_PORT:-18090}
BARE=${BARE_PORT:-18091}
CO=acmebrick.x.co.nz
command -v wrk >/dev/null || apt-get install -y -qq wrk
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT

go build -o "$tmp/xc5" ./cmd/xc5
go build -o "$tmp/barehttp" ./bench/barehttp
# DATA=DIR reuses (or keeps) a seeded data directory between runs.
data=${DATA:-$tmp/data}
if [ ! -e "$data/xc5.db" ]; then
  echo "seeding $data ..."
  XC5_PORTAL_SEED="$data" go test -count=1 -run TestPortalSeed ./portal/ >/dev/null
fi
XC5_ADMIN_PASSWORD=bench-admin-pw "$tmp/xc5" serve --data "$data" --http 127.0.0.1:$PORT --sip "" 2>"${XC5_LOG:-/dev/null}" &
pids+=($!)
"$tmp/barehttp" --http 127.0.0.1:$BARE & pids+=($!)
base=http://127.0.0.1:$PORT/portal/$CO/
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "${base}login" 2>/dev/null && break
  sleep 0.2
done
# Log in as the company's administrator: the login form's token and cookie.
jar=$tmp/cookies
tok=$(curl -fsS -c "$jar" "${base}login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
curl -fsS -o /dev/null -b "$jar" -c "$jar" --data-urlencode "csrf=$tok" --data-urlencode "username=$CO" \
  --data-urlencode "password=bench-portal-pw" "${base}login"
cookie=$(awk '$6=="xc5_portal"{print $7}' "$jar")
[ -n "$cookie" ] || { echo "login failed" >&2; exit 1; }
user0=user0@$CO
pages=(
  ""                                        # overview: 50 users of 1,000, company numbers
  "users"                                   # users: the same with forms
  "users?after=900"                         # a later page of users
  "huntgroups"
  "trace?number=6495550000&at=2026-12-05T21:00"
  "calls?account=$user0"                    # the first 50 of 10,090
  "calls?account=$user0&since=2026-11-02&until=2026-11-03"
  "voicemail?account=$user0"
)
printf '%-55s %10s %10s %10s %9s\n' page req/s p50_ms p99_ms html_B
for p in "${pages[@]}"; do
  size=$(curl -fsS -H "Cookie: xc5_portal=$cookie" "$base$p" | wc -c)
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -H "Cookie: xc5_portal=$cookie" "$base$p")
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$out")
  printf '%-55s %10s %10s %10s %9s %s\n' "/${p:-}" "$rps" "$p50" "$p99" "$size" "${non2xx:+non-2xx: $non2xx}"
done
out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$BARE/")
printf '%-55s %10s %10s %10s\n' "bare net/http (bench/barehttp)" "$(awk '/Requests\/sec/{print $2}' <<<"$out")" \
  "$(awk '$1=="50%"{print $2}' <<<"$out")" "$(awk '$1=="99%"{print $2}' <<<"$out")"
css=$(curl -fsS "${base}static/portal.css" | wc -c)
js=$(curl -fsS "${base}static/htmx.min.js" | wc -c)
echo "static: portal.css $css B, htmx.min.js $js B (cached: Cache-Control max-age=3600)"
csv=$(curl -fsS -H "Cookie: xc5_portal=$cookie" -o /dev/null -w '%{size_download} B in %{time_total} s' "${base}calls.csv?account=$user0")
echo "calls.csv of user0 (10,090 rows): $csv"
