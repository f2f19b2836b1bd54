#!/usr/bin/env bash
# Kamailio's registrar against xc5's, same machine, same run, same sipp
# scenario (issue 5). Usage, from anywhere in the repository:
#
#   bash bench/kamailio/run.sh
#
# Environment (defaults in brackets): RATE [5000] registrations per second
# offered to both; REGS [50000] registrations; ACCOUNTS [50000] accounts
# (u{i%10}@seed-{i/10}.test with password seed-pw, i%10 != 0, as
# TestSippLoad seeds them); KAM_WORKERS [4] Kamailio UDP worker processes;
# KAM_DB_MODE [2] usrloc db_mode (2 write-back, 1 write-through); KAM_DB
# [sqlite] where auth_db and usrloc keep their tables: sqlite, or postgres
# (a database of its own on KAM_PG [postgres://postgres@127.0.0.1:5432],
# created and dropped by the script; db_mode 1 needs it, since Kamailio's
# db_sqlite has no busy timeout and its worker processes' concurrent
# writes fail); SKIP_XC5 set to measure Kamailio alone.
#
# It installs kamailio and sip-tester if missing, builds the subscriber
# database in a temporary directory (removed on exit), starts Kamailio on
# a free loopback port, runs sipp with sipserver/testdata/sipp/register_auth.xml
# against it, stops it, then runs xc5's TestSippLoad with
# XC5_LOAD_SKIP_CALLS=1 (the same users.csv and rate), and prints both
# figures, CPU per registration and the ratio. Everything it starts is
# killed on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
RATE=${RATE:-5000}
REGS=${REGS:-50000}
ACCOUNTS=${ACCOUNTS:-50000}
KAM_WORKERS=${KAM_WORKERS:-4}
KAM_DB_MODE=${KAM_DB_MODE:-2}
KAM_DB=${KAM_DB:-sqlite}
KAM_PG=${KAM_PG:-postgres://postgres@127.0.0.1:5432}

need=()
command -v kamailio >/dev/null 2>&1 || need+=(kamailio)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/db_sqlite.so ] || need+=(kamailio-sqlite-modules)
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
if [ "$KAM_DB" = postgres ]; then
  [ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/db_postgres.so ] || need+=(kamailio-postgres-modules)
  command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
fi
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${need[@]}" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi

WORK=$(mktemp -d /tmp/xc5-kamailio.XXXXXX)
KAM_PID=
PGDB=
cleanup() {
  if [ -n "$KAM_PID" ] && kill -0 "$KAM_PID" 2>/dev/null; then
    kids=$(pgrep -P "$KAM_PID" || true)
    kill "$KAM_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$KAM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$KAM_PID" 2>/dev/null || true
    # Kamailio's children leave with their main process; make sure.
    [ -n "$kids" ] && kill -9 $kids 2>/dev/null || true
  fi
  if [ -n "$PGDB" ]; then
    psql "$KAM_PG/postgres" -q -c "DROP DATABASE IF EXISTS $PGDB" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

freeport() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cpu_ticks() { # user+sys clock ticks of a process and its waited-for children
  awk '{print $14+$15+$16+$17}' "/proc/$1/stat"
}
kam_cpu() { # sum over Kamailio's processes (the main one and its children)
  local t=0 p
  for p in $KAM_PID $(pgrep -P "$KAM_PID" || true); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(cpu_ticks "$p")))
  done
  echo $t
}

# 1. Subscriber data: the same accounts as TestSippLoad, HA1 only.
#    ha1  = MD5(user:domain:password) for the digest username "u1";
#    ha1b = MD5(user@domain:domain:password) for "u1@seed-0.test", which
#    is what the scenario sends (-au '[field3]').
DB=$WORK/kamailio.db
python3 - "$DB" "$ACCOUNTS" "$WORK/users.csv" <<'PY'
import hashlib, sqlite3, sys
db, n, users = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = sqlite3.connect(db)
c.execute("PRAGMA journal_mode=WAL")
for f in ("standard", "auth_db", "usrloc"):
    c.executescript(open(f"/usr/share/kamailio/db_sqlite/{f}-create.sql").read())
md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
rows, lines = [], ["SEQUENTIAL"]
for i in range(n):
    if i % 10 == 0:
        continue
    u, d = f"u{i%10}", f"seed-{i//10}.test"
    rows.append((u, d, md5(f"{u}:{d}:seed-pw"), md5(f"{u}@{d}:{d}:seed-pw")))
    lines.append(f"{u};{d};seed-pw;{u}@{d}")
c.executemany("INSERT INTO subscriber (username, domain, ha1, ha1b) VALUES (?,?,?,?)", rows)
c.commit()
open(users, "w").write("\n".join(lines) + "\n")
open(users.replace("users.csv", "subscribers.csv"), "w").write("".join(",".join(r) + "\n" for r in rows))
PY
DB_URL=sqlite:///$DB
count_rows() { sqlite3 "$DB" "SELECT count(*) FROM $1"; }
if [ "$KAM_DB" = postgres ]; then
  PGDB=xc5_kamailio_$$
  psql "$KAM_PG/postgres" -q -c "CREATE DATABASE $PGDB" >/dev/null
  for f in standard auth_db usrloc; do
    psql "$KAM_PG/$PGDB" -q -f "/usr/share/kamailio/postgres/$f-create.sql" >/dev/null
  done
  psql "$KAM_PG/$PGDB" -q -c "\\copy subscriber (username, domain, ha1, ha1b) FROM '$WORK/subscribers.csv' WITH (FORMAT csv)" >/dev/null
  DB_URL=$KAM_PG/$PGDB
  count_rows() { psql "$KAM_PG/$PGDB" -tA -c "SELECT count(*) FROM $1"; }
fi
echo "subscribers: $(count_rows subscriber) ($KAM_DB)"

# 2. Kamailio.
PORT=$(freeport)
sed -e "s|^#!substdef \"!LISTEN_PORT!.*|#!substdef \"!LISTEN_PORT!$PORT!g\"|" \
    -e "s|^#!substdef \"!DB_URL!.*|#!substdef \"!DB_URL!$DB_URL!g\"|" \
    -e "s|^#!substdef \"!WORKERS!.*|#!substdef \"!WORKERS!$KAM_WORKERS!g\"|" \
    -e "s|^#!substdef \"!USRLOC_DB_MODE!.*|#!substdef \"!USRLOC_DB_MODE!$KAM_DB_MODE!g\"|" \
    -e "s|^loadmodule \"db_sqlite.so\"|loadmodule \"db_$KAM_DB.so\"|" \
    bench/kamailio/kamailio.cfg >"$WORK/kamailio.cfg"
kamailio -c -f "$WORK/kamailio.cfg" >"$WORK/check.log" 2>&1 || { cat "$WORK/check.log"; exit 1; }
kamailio -DD -E -f "$WORK/kamailio.cfg" -P "$WORK/kamailio.pid" -m 512 -M 32 -w "$WORK" >"$WORK/kamailio.log" 2>&1 &
KAM_PID=$!
for _ in $(seq 1 100); do
  ss -lun | grep -q "127.0.0.1:$PORT " && break
  sleep 0.1
done
ss -lun | grep -q "127.0.0.1:$PORT " || { echo "kamailio did not start:"; tail -20 "$WORK/kamailio.log"; exit 1; }
echo "kamailio $(kamailio -v | head -1 | awk '{print $3}') on udp:127.0.0.1:$PORT, $KAM_WORKERS workers, usrloc db_mode $KAM_DB_MODE on $KAM_DB"

# 3. The same sipp run as TestSippLoad's register phase.
echo "load average before Kamailio: $(cut -d' ' -f1-3 /proc/loadavg)"
c0=$(kam_cpu)
(cd "$WORK" && timeout 360 sipp 127.0.0.1:"$PORT" -sf "$ROOT/sipserver/testdata/sipp/register_auth.xml" \
  -inf users.csv -au '[field3]' -ap '[field2]' -r "$RATE" -rp 1000 -m "$REGS" -l 20000 \
  -i 127.0.0.1 -p "$(freeport)" -timeout 300s -timeout_error -trace_stat -stf kam_stat.csv -fd 1 \
  -max_socket 65000 -buff_size 4194304 -nostdin -trace_err -error_file kam_errors.log >"$WORK/sipp.log" 2>&1) || true
c1=$(kam_cpu)
KAM_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average after Kamailio: $KAM_LOAD"
if [ "$KAM_DB_MODE" = 2 ]; then sleep 12; fi # one usrloc timer round writes the bindings back
echo "location rows in Kamailio's database: $(count_rows location)"
read -r KAM_RATE KAM_OK KAM_FAIL KAM_RETR < <(python3 - "$WORK/kam_stat.csv" <<'PY'
import sys
lines = [l.rstrip("\n").split(";") for l in open(sys.argv[1]) if l.strip()]
h, last = lines[0], dict(zip(lines[0], lines[-1]))
t = lambda v: float(v.split()[-1])
el = t(last["CurrentTime"]) - t(last["StartTime"])
ok = int(last["SuccessfulCall(C)"])
print(f'{ok/el:.0f} {ok} {last["FailedCall(C)"]} {last["Retransmissions(C)"]}')
PY
)
TCK=$(getconf CLK_TCK)
KAM_CPU_US=$(( (c1 - c0) * 1000000 / TCK / (KAM_OK > 0 ? KAM_OK : 1) ))
echo "Kamailio: $KAM_OK successful, $KAM_FAIL failed, $KAM_RETR retransmissions: $KAM_RATE REGISTER/s at $RATE/s offered; ${KAM_CPU_US} µs CPU per registration"
if [ "$KAM_FAIL" != 0 ]; then head -c 2000 "$WORK/kam_errors.log" 2>/dev/null || true; fi
kill "$KAM_PID"; wait "$KAM_PID" 2>/dev/null || true; KAM_PID=

[ -n "${SKIP_XC5:-}" ] && exit 0

# 4. xc5, the same scenario, users and rate, in the same run.
go test -c -o "$WORK/sipserver.test" ./sipserver
echo "load average before xc5: $(cut -d' ' -f1-3 /proc/loadavg)"
(cd sipserver && XC5_SIPP_LOAD=1 XC5_LOAD_SKIP_CALLS=1 XC5_LOAD_TIMING=1 XC5_LOAD_ACCOUNTS="$ACCOUNTS" XC5_LOAD_REGS="$REGS" XC5_LOAD_REG_RATE="$RATE" \
  timeout 600 "$WORK/sipserver.test" -test.run 'TestSippLoad$' -test.v -test.timeout 10m) | tee "$WORK/xc5.log" | grep -E 'XC5_RESULT|REGISTER|load average|FAIL|seeded|store during|overload'
res=$(grep '^XC5_RESULT phase=register' "$WORK/xc5.log")
XC5_RATE=$(sed -n 's/.* per_s=\([0-9]*\).*/\1/p' <<<"$res")
XC5_FAIL=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$res")
XC5_CPU=$(sed -n 's/.* cpu_us=\([0-9]*\).*/\1/p' <<<"$res")
echo
echo "== REGISTER with MD5 digest, $REGS registrations of $ACCOUNTS accounts, $RATE/s offered =="
echo "Kamailio 5.6 (auth_db + usrloc db_mode $KAM_DB_MODE, $KAM_DB, $KAM_WORKERS workers): $KAM_RATE/s, $KAM_FAIL failed, ${KAM_CPU_US} µs CPU each (load $KAM_LOAD)"
echo "xc5:                                                       $XC5_RATE/s, $XC5_FAIL failed, ${XC5_CPU} µs CPU each"
python3 -c "import sys; k,x,kc,xc=map(float,sys.argv[1:]); print(f'ratio xc5/Kamailio: {x/k:.2f} in rate, {xc/kc if kc else 0:.1f}x the CPU per registration')" "$KAM_RATE" "$XC5_RATE" "$KAM_CPU_US" "$XC5_CPU"
