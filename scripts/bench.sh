#!/usr/bin/env bash
# Transfer benchmark (../shared/BENCHMARKS.md): upload and download throughput of a release
# build over loopback HTTP for 1 MiB, 100 MiB and 1 GiB, the server's peak RSS during each
# transfer, and the same disk's dd figures from the same run as the baseline. Prints a table.
#
#   scripts/bench.sh            # builds the release binary first if needed
#   BENCH_SIZES_MIB="1 100" scripts/bench.sh
#
# Files are written under $BENCH_DIR (default /var/tmp), which should be on the disk the data
# directory would use.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-tools.sh
log() { printf '\033[1;34m[bench]\033[0m %s\n' "$*" >&2; }

SIZES_MIB=${BENCH_SIZES_MIB:-"1 100 1024"}
PORT=${BENCH_PORT:-3490}
BASE="http://127.0.0.1:$PORT"
BIN="$CARGO_TARGET_DIR/release/coffer"
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

log "baseline: dd of the ${largest} MiB file on the same disk"
dd_write=$(dd if="$WORK/in-$largest.zip" of="$WORK/dd-copy" bs=1M conv=fdatasync 2>&1 | dd_rate)
dd_read=$(dd if="$WORK/dd-copy" of=/dev/null bs=1M iflag=direct 2>&1 | dd_rate)
rm -f "$WORK/dd-copy"

log "starting the release server on $BASE"
COFFER_DATA_DIR="$WORK/data" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" COFFER_PUBLIC_URL="$BASE" \
  COFFER_MAX_UPLOAD_BYTES=$((4 * 1024 * 1024 * 1024)) COFFER_RATE_UPLOAD_PER_MIN=0 \
  COFFER_RATE_DOWNLOAD_PER_MIN=0 COFFER_RATE_LOGIN_PER_MIN=0 RUST_LOG=warn \
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
  log "${mib} MiB: upload"
  reset_peak
  up_secs=$(curl -sf -o "$WORK/resp.json" -w '%{time_total}' -H "$AUTH" \
    -F "file=@$WORK/in-$mib.zip;filename=bench-$mib.zip" "$BASE/api/v1/files/upload")
  up_rss=$(peak_mib)
  id=$(json id <"$WORK/resp.json")
  for _ in $(seq 600); do
    status=$(curl -sf -H "$AUTH" "$BASE/api/v1/files/$id" | json scan_status)
    [ "$status" != pending ] && break
    sleep 0.2
  done
  [ "$status" = clean ] || { log "scan ended as $status"; exit 1; }
  log "${mib} MiB: download"
  reset_peak
  read -r down_secs down_bytes < <(curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' \
    -H "$AUTH" "$BASE/api/v1/files/$id/download")
  down_rss=$(peak_mib)
  [ "$down_bytes" = "$bytes" ] || { log "downloaded $down_bytes of $bytes bytes"; exit 1; }
  up=$(mbps "$bytes" "$up_secs")
  down=$(mbps "$bytes" "$down_secs")
  rows+=("$(printf '%8s MiB | %6s MB/s (%4s x dd) | %6s MB/s (%4s x dd) | %7s / %7s MiB' \
    "$mib" "$up" "$(python3 -c "print(f'{$up / $dd_write:.2f}')")" \
    "$down" "$(python3 -c "print(f'{$down / $dd_read:.2f}')")" "$up_rss" "$down_rss")")
done

echo
echo "Coffer transfer benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build"
echo "dd baseline on the same disk: write $dd_write MB/s (conv=fdatasync), read $dd_read MB/s (iflag=direct)"
echo
echo "    size     | upload                     | download                   | peak RSS up / down"
for row in "${rows[@]}"; do echo "$row"; done
