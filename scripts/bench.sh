#!/usr/bin/env bash
# Benchmarks of a release build over loopback HTTP, printed as tables:
# - transfer: upload and download throughput for 1 MiB, 100 MiB and 1 GiB, the server's peak
#   RSS during each transfer, and the same disk's dd figures from the same run as the baseline;
# - latency: `GET /health` p50 / p99 / max, idle, then while 4 clients upload 256 MiB files
#   back to back and 4 clients log in continuously (the same run), with the uploads' throughput.
#
#   scripts/bench.sh                               # both; builds the release binary if needed
#   BENCH_SIZES_MIB="1 100" scripts/bench.sh
#   BENCH_PARTS=latency BENCH_LOAD_SECS=30 scripts/bench.sh
#   BENCH_PERF=1 BENCH_PARTS=latency scripts/bench.sh  # also records `perf` under load
#
# Files are written under $BENCH_DIR (default /var/tmp), which should be on the disk the data
# directory would use.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-tools.sh
log() { printf '\033[1;34m[bench]\033[0m %s\n' "$*" >&2; }

SIZES_MIB=${BENCH_SIZES_MIB:-"1 100 1024"}
PARTS=${BENCH_PARTS:-"transfer latency"}
LOAD_SECS=${BENCH_LOAD_SECS:-20}
# The load's two halves, to tell their costs apart: uploaders and login loops (4 and 4).
UPLOADERS=${BENCH_UPLOADERS:-4}
LOGINS=${BENCH_LOGINS:-4}
part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
PORT=${BENCH_PORT:-3490}
BASE="http://127.0.0.1:$PORT"
BIN=${BENCH_BIN:-"$CARGO_TARGET_DIR/release/coffer"}
if [ ! -x "$BIN" ] || [ -n "${BENCH_REBUILD:-}" ]; then
  log "building the release binary"
  cargo leptos build --release
fi

WORK=$(mktemp -d -p "${BENCH_DIR:-/var/tmp}" coffer-bench.XXXXXX)
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

part transfer || SIZES_MIB=""
largest=0
for mib in $SIZES_MIB; do
  # A zip header first: uploads are checked by content, and .zip is on the default allow-list.
  { printf 'PK\003\004'; head -c $((mib * 1048576 - 4)) /dev/urandom; } >"$WORK/in-$mib.zip"
  [ "$mib" -gt "$largest" ] && largest=$mib
done

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

# Baselines: dd of the same bytes on the same disk, for every size, since a small dd is dominated
# by the same fdatasync a durable upload pays. The largest size's figures also serve as the
# streaming baseline every size is compared with: dd with direct I/O, so the page cache does not
# flatter it.
declare -A dd_write dd_read
for mib in $SIZES_MIB; do
  log "baseline: dd of the ${mib} MiB file on the same disk"
  writes=() reads=()
  for _ in $(seq "$(runs_for "$mib")"); do
    writes+=("$(dd if="$WORK/in-$mib.zip" of="$WORK/dd-copy" bs=1M conv=fdatasync 2>&1 | dd_rate)")
    reads+=("$(dd if="$WORK/dd-copy" of=/dev/null bs=1M iflag=direct 2>&1 | dd_rate)")
    rm -f "$WORK/dd-copy"
  done
  dd_write[$mib]=$(median "${writes[@]}")
  dd_read[$mib]=$(median "${reads[@]}")
done

log "starting the release server on $BASE"
COFFER_DATA_DIR="$WORK/data" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" COFFER_PUBLIC_URL="$BASE" \
  COFFER_MAX_UPLOAD_BYTES=$((4 * 1024 * 1024 * 1024)) COFFER_RATE_UPLOAD_PER_MIN=0 \
  COFFER_RATE_DOWNLOAD_PER_MIN=0 COFFER_RATE_LOGIN_PER_MIN=0 COFFER_RATE_REQUESTS_PER_SEC=0 RUST_LOG=warn \
  LEPTOS_SITE_ROOT=target/site "$BIN" >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.1; done

json() { python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
curl -sf -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.org","username":"bench","password":"benchmark password"}' \
  "$BASE/api/v1/auth/register" >/dev/null
TOKEN=$(curl -sf -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.org","password":"benchmark password"}' \
  "$BASE/api/v1/auth/login" | json access_token)
AUTH="Authorization: Bearer $TOKEN"

# Peak RSS of the server since the last reset, in MiB (writing 5 to clear_refs resets VmHWM).
reset_peak() { echo 5 >"/proc/$SERVER/clear_refs"; }
peak_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER/status"; }

rows=()
for mib in $SIZES_MIB; do
  bytes=$((mib * 1048576))
  ups=() downs=() up_rss=0 down_rss=0
  for run in $(seq "$(runs_for "$mib")"); do
    log "${mib} MiB: upload and download, run $run"
    reset_peak
    up_secs=$(curl -sf -o "$WORK/resp.json" -w '%{time_total}' -H "$AUTH" \
      -F "file=@$WORK/in-$mib.zip;filename=bench-$mib.zip" "$BASE/api/v1/files/upload")
    up_rss=$(python3 -c "print(max($up_rss, $(peak_mib)))")
    id=$(json id <"$WORK/resp.json")
    for _ in $(seq 600); do
      status=$(curl -sf -H "$AUTH" "$BASE/api/v1/files/$id" | json scan_status)
      [ "$status" != pending ] && break
      sleep 0.2
    done
    [ "$status" = clean ] || { log "scan ended as $status"; exit 1; }
    reset_peak
    read -r down_secs down_bytes < <(curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' \
      -H "$AUTH" "$BASE/api/v1/files/$id/download")
    down_rss=$(python3 -c "print(max($down_rss, $(peak_mib)))")
    [ "$down_bytes" = "$bytes" ] || { log "downloaded $down_bytes of $bytes bytes"; exit 1; }
    curl -sf -X DELETE -H "$AUTH" "$BASE/api/v1/files/$id"
    ups+=("$(mbps "$bytes" "$up_secs")")
    downs+=("$(mbps "$bytes" "$down_secs")")
  done
  up=$(median "${ups[@]}")
  down=$(median "${downs[@]}")
  rows+=("$(printf '%5s MiB %2s | %5.0f MB/s  %5s  %5s | %5.0f MB/s  %5s  %5s | %5.0f / %5.0f | %5.0f / %5.0f MiB' \
    "$mib" "$(runs_for "$mib")" "$up" "$(ratio "$up" "${dd_write[$mib]}")" \
    "$(ratio "$up" "${dd_write[$largest]}")" "$down" "$(ratio "$down" "${dd_read[$mib]}")" \
    "$(ratio "$down" "${dd_read[$largest]}")" "${dd_write[$mib]}" "${dd_read[$mib]}" \
    "$up_rss" "$down_rss")")
done

if part transfer; then
echo
echo "Coffer transfer benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build"
echo "Medians of n runs. Ratios: to dd of the same file, and to dd of the ${largest} MiB file."
echo "dd: write with conv=fdatasync, read with iflag=direct, same disk, same run."
echo
echo "   size    n | upload      /same  /${largest}M | download    /same  /${largest}M | dd write / read | peak RSS up / down"
for row in "${rows[@]}"; do echo "$row"; done
fi

if part latency; then
  LOAD_FILE="$WORK/load-256.zip"
  { printf 'PK\003\004'; head -c $((256 * 1048576 - 4)) /dev/urandom; } >"$LOAD_FILE"
  for n in 1 2 3 4; do
    curl -sf -H 'Content-Type: application/json' \
      -d "{\"email\":\"login$n@example.org\",\"username\":\"login$n\",\"password\":\"benchmark password\"}" \
      "$BASE/api/v1/auth/register" >/dev/null
  done
  # `/health` once every 10 ms on one keep-alive connection for $1 seconds: "count p50 p99 max".
  probe() {
    python3 - "$PORT" "$1" <<'PY'
import http.client, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
lat, end = [], time.monotonic() + seconds
while time.monotonic() < end:
    t = time.perf_counter()
    conn.request("GET", "/health")
    conn.getresponse().read()
    lat.append((time.perf_counter() - t) * 1000)
    time.sleep(0.01)
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
print(f"{len(lat)} {q(0.5):.2f} {q(0.99):.2f} {lat[-1]:.2f}")
PY
  }
  log "latency: /health idle for 10 s"
  read -r idle_n idle_p50 idle_p99 idle_max < <(probe 10)

  log "latency: /health for ${LOAD_SECS} s under $UPLOADERS uploaders (256 MiB each, back to back) and $LOGINS login loops"
  deadline=$(( $(date +%s) + LOAD_SECS ))
  loaders=()
  for n in $(seq "$UPLOADERS"); do
    ( bytes=0; start=$(date +%s.%N)
      while [ "$(date +%s)" -lt "$deadline" ]; do
        id=$(curl -sf -H "$AUTH" -F "file=@$LOAD_FILE;filename=load-$n.zip" "$BASE/api/v1/files/upload" | json id)
        bytes=$((bytes + 256 * 1048576))
        curl -sf -X DELETE -H "$AUTH" "$BASE/api/v1/files/$id" || true
      done
      python3 -c "import sys, time; print(int(sys.argv[1]) / (time.time() - float(sys.argv[2])) / 1e6)" \
        "$bytes" "$start" >"$WORK/upload-$n.rate" ) &
    loaders+=($!)
  done
  for n in $(seq "$LOGINS"); do
    ( count=0
      while [ "$(date +%s)" -lt "$deadline" ]; do
        curl -sf -o /dev/null -H 'Content-Type: application/json' \
          -d "{\"email\":\"login$n@example.org\",\"password\":\"benchmark password\"}" \
          "$BASE/api/v1/auth/login" && count=$((count + 1))
      done
      echo "$count" >"$WORK/logins-$n.count" ) &
    loaders+=($!)
  done
  sleep 1
  if [ -n "${BENCH_PERF:-}" ]; then
    command -v perf >/dev/null || { apt-get install -y -qq linux-perf >/dev/null; }
    perf record -F 499 -g -p "$SERVER" -o "$WORK/perf.data" -- sleep $((LOAD_SECS / 2)) 2>/dev/null &
    PERF=$!
  fi
  read -r load_n load_p50 load_p99 load_max < <(probe $((LOAD_SECS - 2)))
  wait "${loaders[@]}"
  sum_of() { python3 -c "import glob, sys; print(f'{sum(float(open(f).read()) for f in glob.glob(sys.argv[1])):.0f}')" "$1"; }
  logins=$(sum_of "$WORK/logins-*.count")
  upload_total=$(sum_of "$WORK/upload-*.rate")
  echo
  echo "Coffer /health latency, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build"
  echo "one request every 10 ms on a keep-alive connection; milliseconds"
  echo
  echo "                      n |   p50 |   p99 |   max"
  printf 'idle              %5s | %5s | %5s | %5s\n' "$idle_n" "$idle_p50" "$idle_p99" "$idle_max"
  printf 'under load        %5s | %5s | %5s | %5s\n' "$load_n" "$load_p50" "$load_p99" "$load_max"
  echo "load: $UPLOADERS uploaders at ${upload_total} MB/s together; $LOGINS login loops, $logins logins ($(python3 -c "print(f'{$logins / $LOAD_SECS:.1f}')")/s); ${LOAD_SECS} s"
  if [ -n "${BENCH_PERF:-}" ]; then
    wait "$PERF" || true
    perf report -i "$WORK/perf.data" --no-children --sort comm,dso,symbol --stdio 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -400 >"${BENCH_PERF_OUT:-/tmp/coffer-perf.txt}" || true
    perf report -i "$WORK/perf.data" --no-children --sort comm --stdio 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -20 >>"${BENCH_PERF_OUT:-/tmp/coffer-perf.txt}" || true
    log "perf profile written to ${BENCH_PERF_OUT:-/tmp/coffer-perf.txt}"
  fi
fi
