# Shared by scripts/bench.sh and its parts (scripts/bench/<part>.sh, which it sources in
# order): a release server on a port of its own, tokens, waiting for scans, peak RSS, and the
# arithmetic of the tables. Sourced by scripts/bench.sh once `log`, `WORK`, `BIN` and the
# services are set up.

json() { python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
# start_instance PORT [ENV…]: a release server on PORT with its own data directory, ready;
# prints its pid (add it to PIDS: this runs in a subshell).
start_instance() {
  local port=$1; shift
  env "$@" COFFER_DATA_DIR="$WORK/data-$port" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    COFFER_PUBLIC_URL="http://127.0.0.1:$port" "$BIN" >"$WORK/server-$port.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.1; done
  echo "$pid"
}
# token_for BASE NAME: registers NAME (if new) and prints an access token for it.
token_for() {
  curl -sf -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"email\":\"$2@example.org\",\"username\":\"$2\",\"password\":\"benchmark password\"}" \
    "$1/api/v1/auth/register" || true
  curl -sf -H 'Content-Type: application/json' \
    -d "{\"email\":\"$2@example.org\",\"password\":\"benchmark password\"}" "$1/api/v1/auth/login" \
    | json access_token
}
# scanned BASE AUTH_HEADER ID: waits (up to 4 minutes) until the file's scan is done, and stops
# the benchmark unless it came out clean: every part downloads or times files scanned clean.
scanned() {
  local status=pending
  for _ in $(seq 1200); do
    status=$(curl -sf -H "$2" "$1/api/v1/files/$3" | json scan_status)
    [ "$status" != pending ] && break
    sleep 0.2
  done
  [ "$status" = clean ] || { log "file $3: scan ended as $status"; exit 1; }
}
# Peak RSS of a server since its last reset, in MiB (writing 5 to clear_refs resets VmHWM).
reset_peak() { echo 5 >"/proc/$1/clear_refs"; }
peak_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# since START: seconds since START (a `date +%s.%N`).
since() { python3 -c "import time, sys; print(time.time() - float(sys.argv[1]))" "$1"; }
mbps() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1e6 / float(sys.argv[2]):.0f}')" "$1" "$2"; }
dd_rate() { # the MB/s dd prints on its last line, whatever unit it chose
  python3 -c "
import re, sys
m = re.search(r'([\d.,]+) ([kMG]?B)/s', sys.stdin.read().strip().splitlines()[-1])
value, unit = float(m.group(1).replace(',', '.')), m.group(2)
print(f'{value * {\"B\": 1e-6, \"kB\": 1e-3, \"MB\": 1, \"GB\": 1e3}[unit]:.0f}')"
}

# Each figure is the median of several runs: one 1 MiB transfer takes milliseconds, and a single
# one is mostly noise on a shared machine.
runs_for() { if [ "$1" -le 10 ]; then echo 9; elif [ "$1" -le 100 ]; then echo 3; else echo 1; fi; }
median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
