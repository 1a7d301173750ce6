#!/usr/bin/env bash
# Benchmarks of a release build over loopback HTTP, printed as tables:
# - transfer: upload and download throughput for 1 MiB, 100 MiB and 1 GiB, the server's peak
#   RSS during each transfer, and the same disk's dd figures from the same run as the baseline;
# - latency: `GET /health` p50 / p99 / max, idle, then while 4 clients upload 256 MiB files
#   back to back and 4 clients log in continuously (the same run), with the uploads' throughput;
# - fleet: share-link downloads of a 1 MiB file by 64 clients (wrk) through one instance, then
#   through two (the same run, half the clients each), on PostgreSQL + Redis + S3 (SeaweedFS):
#   requests/s, p99, and the CPU seconds per 1000 requests of every process; then uploads of
#   1 GiB to S3 and to the filesystem: MB/s and the server's peak RSS;
# - tus: a 1 GiB upload by tus in 8 MiB requests (curl on one connection, and tuspy) against
#   the plain streaming upload of the same file (curl, one request), alternately, in the same
#   run: MB/s and the server's peak RSS;
# - zip: "Download all" of a share link to 4 files of 256 MiB (stored: already compressed) and to
#   4 text files of 64 MiB (deflated), against downloading the same files one by one through
#   the same link, alternately in the same run: MB/s and the server's peak RSS.
# - peer: a 1 GiB download from Coffer (decrypting as it streams) against the same file from
#   rustypaste (a plaintext Rust file server), alternately, page cache warm for both, in the
#   same run: MB/s, the ratio, and each server's peak RSS; the uploads too, for context.
# - concurrent: on a fresh server, the peak RSS while 1, then 4, then 16 uploads of 256 MiB
#   run at once, and the same for downloads (every scan finished first), with what each
#   transfer past the first added, and the transfers' combined MB/s;
# - page: the site's script, wasm and styles as sent (raw, and the brotli and gzip copies the
#   build made), then the time until a page is interactive in Chromium (the `coffer-hydrated`
#   mark, end2end/bench/page-load.mjs; DOMContentLoaded on the pages sent without wasm) for
#   `/files` listing 100 files, a share link's recipient page and `/login`, cold and warm
#   cache, on loopback and on an emulated 10 Mbit/s link; each against the same build served
#   without its compressed copies, in the same run.
#
#   scripts/bench.sh                               # all; builds the release binary if needed
#   BENCH_SIZES_MIB="1 100" scripts/bench.sh
#   BENCH_PARTS=latency BENCH_LOAD_SECS=30 scripts/bench.sh
#   BENCH_PERF=1 BENCH_PARTS=latency scripts/bench.sh  # also records `perf` under load
#   BENCH_PARTS=fleet BENCH_FLEET_SECS=20 scripts/bench.sh
#
# Files are written under $BENCH_DIR (default /var/tmp), which should be on the disk the data
# directory would use.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-tools.sh
log() { printf '\033[1;34m[bench]\033[0m %s\n' "$*" >&2; }

SIZES_MIB=${BENCH_SIZES_MIB:-"1 100 1024"}
PARTS=${BENCH_PARTS:-"transfer peer concurrent tus zip page latency fleet"}
LOAD_SECS=${BENCH_LOAD_SECS:-20}
# The load's two halves, to tell their costs apart: uploaders and login loops (4 and 4).
UPLOADERS=${BENCH_UPLOADERS:-4}
LOGINS=${BENCH_LOGINS:-4}
part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
PORT=${BENCH_PORT:-3490}
BASE="http://127.0.0.1:$PORT"
BIN=${BENCH_BIN:-"$CARGO_TARGET_DIR/release/coffer"}
# scripts/build.sh leaves hash.txt in the site; without it the site is a debug build's (the tests
# build one in the same place), whose files the release binary does not name.
if [ ! -x "$BIN" ] || [ ! -f target/site/hash.txt ] || [ -n "${BENCH_REBUILD:-}" ]; then
  log "building the release binary and site"
  scripts/build.sh
fi

source scripts/services.sh
part fleet && install_services postgres redis s3 wrk
part tus && install_services tuspy
part page && install_services playwright
RUSTYPASTE_VERSION=0.18.1
if part peer && ! command -v rustypaste >/dev/null; then
  log "installing rustypaste $RUSTYPASTE_VERSION (crates.io), the plaintext peer"
  CARGO_TARGET_DIR="$COFFER_CACHE/peer-target" cargo install "rustypaste@$RUSTYPASTE_VERSION" --locked \
    --root "$COFFER_CACHE/tools"
fi
WORK=$(mktemp -d -p "${BENCH_DIR:-/var/tmp}" coffer-bench.XXXXXX)
trap stop_services EXIT

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

part transfer || SIZES_MIB=""
largest=0
for mib in $SIZES_MIB; do
  # A zip header first: uploads are checked by content, and .zip is on the default allow-list.
  { printf 'PK\003\004'; head -c $((mib * 1048576 - 4)) /dev/urandom; } >"$WORK/in-$mib.zip"
  [ "$mib" -gt "$largest" ] && largest=$mib
done

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
SERVER=$(start_instance "$PORT" COFFER_MAX_UPLOAD_BYTES=$((4 * 1024 * 1024 * 1024)) COFFER_RATE_UPLOAD_PER_MIN=0 \
  COFFER_RATE_DOWNLOAD_PER_MIN=0 COFFER_RATE_LOGIN_PER_MIN=0 COFFER_RATE_REQUESTS_PER_SEC=0 RUST_LOG=warn \
  LEPTOS_SITE_ROOT=target/site)
PIDS+=("$SERVER")
AUTH="Authorization: Bearer $(token_for "$BASE" bench)"

rows=()
for mib in $SIZES_MIB; do
  bytes=$((mib * 1048576))
  ups=() downs=() up_rss=0 down_rss=0
  for run in $(seq "$(runs_for "$mib")"); do
    log "${mib} MiB: upload and download, run $run"
    reset_peak "$SERVER"
    up_secs=$(curl -sf -o "$WORK/resp.json" -w '%{time_total}' -H "$AUTH" \
      -F "file=@$WORK/in-$mib.zip;filename=bench-$mib.zip" "$BASE/api/v1/files/upload")
    up_rss=$(python3 -c "print(max($up_rss, $(peak_mib "$SERVER")))")
    id=$(json id <"$WORK/resp.json")
    scanned "$BASE" "$AUTH" "$id"
    reset_peak "$SERVER"
    read -r down_secs down_bytes < <(curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' \
      -H "$AUTH" "$BASE/api/v1/files/$id/download")
    down_rss=$(python3 -c "print(max($down_rss, $(peak_mib "$SERVER")))")
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

if part peer; then
  PEER_RUNS=${BENCH_PEER_RUNS:-5}
  PEER_SIZE=$((1024 * 1048576))
  PEER_FILE="$WORK/peer-1024.zip"
  { printf 'PK\003\004'; head -c $((PEER_SIZE - 4)) /dev/urandom; } >"$PEER_FILE"
  PEER_PORT=$((PORT + 7))
  mkdir -p "$WORK/rustypaste"
  cat >"$WORK/rustypaste.toml" <<TOML
[server]
address = "127.0.0.1:$PEER_PORT"
max_content_length = "4GB"
upload_path = "$WORK/rustypaste"
timeout = "600s"
[paste]
default_extension = "txt"
duplicate_files = true
TOML
  CONFIG="$WORK/rustypaste.toml" rustypaste >"$WORK/rustypaste.log" 2>&1 &
  PEER_PID=$!
  PIDS+=("$PEER_PID")
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PEER_PORT/" && break; sleep 0.1; done
  log "peer: 1 GiB to Coffer and to rustypaste"
  reset_peak "$SERVER"; reset_peak "$PEER_PID"
  up_c=$(curl -sf -o "$WORK/resp.json" -w '%{time_total}' -H "$AUTH" \
    -F "file=@$PEER_FILE;filename=peer.zip" "$BASE/api/v1/files/upload")
  up_c_rss=$(peak_mib "$SERVER")
  peer_id=$(json id <"$WORK/resp.json")
  up_p=$(curl -sf -o "$WORK/peer-url.txt" -w '%{time_total}' -F "file=@$PEER_FILE;filename=peer.zip" \
    "http://127.0.0.1:$PEER_PORT/")
  up_p_rss=$(peak_mib "$PEER_PID")
  PEER_URL=$(tr -d '\r\n' <"$WORK/peer-url.txt")
  scanned "$BASE" "$AUTH" "$peer_id"
  # Both files into the page cache first: the comparison is of the servers, not the disk.
  curl -sf -o /dev/null -H "$AUTH" "$BASE/api/v1/files/$peer_id/download"
  curl -sf -o /dev/null "$PEER_URL"
  downs_c=() downs_p=() down_c_rss=0 down_p_rss=0
  for run in $(seq "$PEER_RUNS"); do
    log "peer: downloads, run $run"
    reset_peak "$SERVER"
    read -r secs got < <(curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' -H "$AUTH" \
      "$BASE/api/v1/files/$peer_id/download")
    [ "$got" = "$PEER_SIZE" ] || { log "Coffer sent $got of $PEER_SIZE bytes"; exit 1; }
    downs_c+=("$(mbps "$PEER_SIZE" "$secs")")
    down_c_rss=$(python3 -c "print(max($down_c_rss, $(peak_mib "$SERVER")))")
    reset_peak "$PEER_PID"
    read -r secs got < <(curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' "$PEER_URL")
    [ "$got" = "$PEER_SIZE" ] || { log "rustypaste sent $got of $PEER_SIZE bytes"; exit 1; }
    downs_p+=("$(mbps "$PEER_SIZE" "$secs")")
    down_p_rss=$(python3 -c "print(max($down_p_rss, $(peak_mib "$PEER_PID")))")
  done
  curl -sf -X DELETE -H "$AUTH" "$BASE/api/v1/files/$peer_id"
  kill "$PEER_PID" 2>/dev/null || true
  down_c=$(median "${downs_c[@]}") down_p=$(median "${downs_p[@]}")
  echo
  echo "Coffer against rustypaste $RUSTYPASTE_VERSION, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, 1 GiB, curl on loopback"
  echo "Downloads: medians of $PEER_RUNS alternating runs, page cache warm for both. Uploads: one each."
  echo
  echo "              Coffer (encrypted) | rustypaste (plaintext) | Coffer / rustypaste"
  printf 'download   %8.0f MB/s %6s MiB | %8.0f MB/s %6s MiB | %.2fx\n' "$down_c" "$down_c_rss" "$down_p" "$down_p_rss" \
    "$(ratio "$down_c" "$down_p")"
  printf 'upload     %8.0f MB/s %6s MiB | %8.0f MB/s %6s MiB | %.2fx\n' "$(mbps "$PEER_SIZE" "$up_c")" "$up_c_rss" \
    "$(mbps "$PEER_SIZE" "$up_p")" "$up_p_rss" "$(ratio "$(mbps "$PEER_SIZE" "$up_c")" "$(mbps "$PEER_SIZE" "$up_p")")"
  echo "(MB/s, then the server's peak RSS during that transfer)"
fi

if part concurrent; then
  # A fresh server, so that the figures are not those of a heap earlier parts grew. The sizes
  # are taken in order (1, then 4, then 16 at once), as a server's load would grow.
  CONC_PORT=$((PORT + 9))
  CONC_SIZE=$((256 * 1048576))
  CONC_FILE="$WORK/conc-256.zip"
  { printf 'PK\003\004'; head -c $((CONC_SIZE - 4)) /dev/urandom; } >"$CONC_FILE"
  CONC_BASE="http://127.0.0.1:$CONC_PORT"
  CONC=$(start_instance "$CONC_PORT" COFFER_MAX_UPLOAD_BYTES=$((1024 * 1048576)) COFFER_RATE_UPLOAD_PER_MIN=0 \
    COFFER_RATE_DOWNLOAD_PER_MIN=0 COFFER_RATE_LOGIN_PER_MIN=0 COFFER_RATE_REQUESTS_PER_SEC=0 \
    COFFER_MAX_UPLOADS_PER_USER=16 RUST_LOG=warn LEPTOS_SITE_ROOT=target/site)
  PIDS+=("$CONC")
  CONC_AUTH="Authorization: Bearer $(token_for "$CONC_BASE" concurrent)"
  idle=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$CONC/status")
  declare -A conc_up conc_down conc_up_rate conc_down_rate
  for n in ${BENCH_CONCURRENT:-1 4 16}; do
    log "concurrent: $n uploads of 256 MiB at once"
    reset_peak "$CONC"
    start=$(date +%s.%N)
    for i in $(seq "$n"); do
      curl -sf -o "$WORK/conc-$i.json" -H "$CONC_AUTH" -F "file=@$CONC_FILE;filename=conc-$i.zip" \
        "$CONC_BASE/api/v1/files/upload" &
    done
    wait
    conc_up[$n]=$(peak_mib "$CONC")
    conc_up_rate[$n]=$(mbps $((n * CONC_SIZE)) "$(since "$start")")
    ids=()
    for i in $(seq "$n"); do ids+=("$(json id <"$WORK/conc-$i.json")"); done
    # Every scan done first, so that the downloads' peak is theirs alone.
    for id in "${ids[@]}"; do scanned "$CONC_BASE" "$CONC_AUTH" "$id"; done
    log "concurrent: $n downloads of 256 MiB at once"
    reset_peak "$CONC"
    start=$(date +%s.%N)
    for id in "${ids[@]}"; do
      curl -sf -o /dev/null -w '%{size_download}\n' -H "$CONC_AUTH" \
        "$CONC_BASE/api/v1/files/$id/download" >"$WORK/conc-got-$id" &
    done
    wait
    conc_down[$n]=$(peak_mib "$CONC")
    conc_down_rate[$n]=$(mbps $((n * CONC_SIZE)) "$(since "$start")")
    for id in "${ids[@]}"; do
      [ "$(cat "$WORK/conc-got-$id")" = "$CONC_SIZE" ] || { log "a download sent $(cat "$WORK/conc-got-$id") bytes"; exit 1; }
      curl -sf -X DELETE -H "$CONC_AUTH" "$CONC_BASE/api/v1/files/$id"
    done
  done
  kill "$CONC" 2>/dev/null || true
  first=${BENCH_CONCURRENT:-1}; first=${first%% *}
  echo
  echo "Concurrent transfers of 256 MiB, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, curl on loopback"
  echo "A fresh server: ${idle} MiB resident when idle. Peak RSS while n transfers ran at once, and"
  echo "what each transfer past the first added (MiB); then the n transfers' combined MB/s."
  echo
  echo " at once | upload peak  +each   MB/s | download peak  +each   MB/s"
  # extra N PEAK FIRST: what each of N transfers past the first added to the peak.
  extra() { python3 -c "import sys; n, a, b = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]); print(f'{(a - b) / (n - 1):.2f}' if n > 1 else '-')" "$@"; }
  for n in ${BENCH_CONCURRENT:-1 4 16}; do
    printf '%8s | %8s MiB %6s %6s | %10s MiB %6s %6s\n' "$n" "${conc_up[$n]}" \
      "$(extra "$n" "${conc_up[$n]}" "${conc_up[$first]}")" "${conc_up_rate[$n]}" "${conc_down[$n]}" \
      "$(extra "$n" "${conc_down[$n]}" "${conc_down[$first]}")" "${conc_down_rate[$n]}"
  done
fi

if part tus; then
  # The same client for both, so that the figures compare the server's two paths: curl sends
  # the file as one multipart request, or as a tus upload of 8 MiB PATCH requests on one
  # keep-alive connection (`--next`). tuspy, a real client, is timed too, as users would run it.
  TUS_RUNS=${BENCH_TUS_RUNS:-5}
  TUS_SIZE=$((1024 * 1048576))
  TUS_FILE="$WORK/tus-1024.zip"
  { printf 'PK\003\004'; head -c $((TUS_SIZE - 4)) /dev/urandom; } >"$TUS_FILE"
  split -b 8M -d -a 3 "$TUS_FILE" "$WORK/tus-part-"
  TUS_TOKEN=$(token_for "$BASE" tus)
  TUS_AUTH="Authorization: Bearer $TUS_TOKEN"
  # Waits for a file's scan and deletes the file, so that no scan runs under the next upload.
  settle() {
    scanned "$BASE" "$TUS_AUTH" "$1"
    curl -sf -X DELETE -H "$TUS_AUTH" "$BASE/api/v1/files/$1"
  }
  # tus_by_curl: creates an upload, sends the parts; prints "seconds id".
  tus_by_curl() {
    local location args=() offset=0 part size start codes
    location=$(curl -sf -o /dev/null -D - -X POST -H "$TUS_AUTH" -H 'Tus-Resumable: 1.0.0' \
      -H "Upload-Length: $TUS_SIZE" -H "Upload-Metadata: filename $(printf tus.zip | base64)" \
      "$BASE/api/v1/uploads" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
    for part in "$WORK"/tus-part-*; do
      size=$(stat -c %s "$part")
      [ ${#args[@]} -gt 0 ] && args+=(--next)
      args+=(-s -o /dev/null -w '%{http_code}\n' -X PATCH -H "$TUS_AUTH" -H 'Tus-Resumable: 1.0.0'
        -H "Upload-Offset: $offset" -H 'Content-Type: application/offset+octet-stream'
        -T "$part" "$BASE$location")
      offset=$((offset + size))
    done
    start=$(date +%s.%N)
    codes=$(curl "${args[@]}" | sort -u | tr '\n' ' ')
    [ "$codes" = "204 " ] || { log "tus answered $codes"; exit 1; }
    python3 -c "import time, sys; print(time.time() - float(sys.argv[1]), sys.argv[2].rsplit('/', 1)[1])" \
      "$start" "$location"
  }
  plain_up=() tus_up=() tuspy_up=() plain_rss=0 tus_rss=0 tuspy_rss=0
  for run in $(seq "$TUS_RUNS"); do
    log "tus: 1 GiB plain upload, run $run"
    reset_peak "$SERVER"
    secs=$(curl -sf -o "$WORK/resp.json" -w '%{time_total}' -H "$TUS_AUTH" \
      -F "file=@$TUS_FILE;filename=plain.zip" "$BASE/api/v1/files/upload")
    plain_rss=$(python3 -c "print(max($plain_rss, $(peak_mib "$SERVER")))")
    plain_up+=("$(mbps "$TUS_SIZE" "$secs")")
    settle "$(json id <"$WORK/resp.json")"

    log "tus: 1 GiB by tus in 8 MiB requests (curl), run $run"
    reset_peak "$SERVER"
    read -r secs id < <(tus_by_curl)
    tus_rss=$(python3 -c "print(max($tus_rss, $(peak_mib "$SERVER")))")
    tus_up+=("$(mbps "$TUS_SIZE" "$secs")")
    size=$(curl -sf -H "$TUS_AUTH" "$BASE/api/v1/files/$id" | json size)
    [ "$size" = "$TUS_SIZE" ] || { log "tus stored $size bytes"; exit 1; }
    settle "$id"

    log "tus: 1 GiB by tuspy in 8 MiB requests, run $run"
    rm -f "$WORK/tus-urls.json"
    reset_peak "$SERVER"
    start=$(date +%s.%N)
    out=$("$COFFER_TEST_PYTHON" tests/clients/tuspy_upload.py --endpoint "$BASE/api/v1/uploads" \
      --token "$TUS_TOKEN" --file "$TUS_FILE" --storage "$WORK/tus-urls.json" --chunk-size $((8 * 1048576)))
    secs=$(since "$start")
    tuspy_rss=$(python3 -c "print(max($tuspy_rss, $(peak_mib "$SERVER")))")
    tuspy_up+=("$(mbps "$TUS_SIZE" "$secs")")
    settle "$(echo "$out" | python3 -c "import json, sys; print(json.load(sys.stdin)['url'].rsplit('/', 1)[1])")"
  done
  plain=$(median "${plain_up[@]}")
  tus=$(median "${tus_up[@]}")
  tuspy=$(median "${tuspy_up[@]}")
  echo
  echo "Coffer tus benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build"
  echo "A 1 GiB upload, medians of $TUS_RUNS runs each, alternating, same server; each file's"
  echo "scan is over before the next upload starts."
  echo
  echo "upload                            MB/s  runs                      | /plain | server peak RSS"
  printf 'plain (curl, one request)        %5.0f  %-25s |  1.00  | %5.1f MiB\n' "$plain" "${plain_up[*]}" "$plain_rss"
  printf 'tus (curl, 8 MiB requests)       %5.0f  %-25s |  %s  | %5.1f MiB\n' "$tus" "${tus_up[*]}" "$(ratio "$tus" "$plain")" "$tus_rss"
  printf 'tus (tuspy 1.1, 8 MiB requests)  %5.0f  %-25s |  %s  | %5.1f MiB\n' "$tuspy" "${tuspy_up[*]}" "$(ratio "$tuspy" "$plain")" "$tuspy_rss"
fi

if part zip; then
  ZIP_RUNS=${BENCH_ZIP_RUNS:-3}
  ZIP_TOKEN=$(token_for "$BASE" zipper)
  ZIP_AUTH="Authorization: Bearer $ZIP_TOKEN"
  # zip_set KIND COUNT MIB: uploads COUNT files, waits for their scans; prints the link's token.
  zip_set() {
    local kind=$1 count=$2 mib=$3 ids=() file id
    for n in $(seq "$count"); do
      file="$WORK/zip-$kind-$n.$kind"
      if [ "$kind" = zip ]; then
        { printf 'PK\003\004'; head -c $((mib * 1048576 - 4)) /dev/urandom; } >"$file"
      else
        yes "line $n of a text file that deflates well, like logs and CSV exports do" \
          | head -c $((mib * 1048576)) >"$file"
      fi
      id=$(curl -sf -H "$ZIP_AUTH" -F "file=@$file" "$BASE/api/v1/files/upload" | json id)
      scanned "$BASE" "$ZIP_AUTH" "$id"
      ids+=("\"$id\"")
      rm -f "$file"
    done
    local list
    list=$(IFS=,; echo "${ids[*]}")
    curl -sf -H "$ZIP_AUTH" -H 'Content-Type: application/json' \
      -d "{\"file_ids\": [$list], \"expires_hours\": 2}" "$BASE/api/v1/shares" | json share_token
  }
  # zip_run TOKEN: "singles_mbps zip_mbps singles_rss zip_rss", one run of each.
  zip_run() {
    local token=$1 total=0 secs=0 id size s zsecs zsize srss zrss
    reset_peak "$SERVER"
    for id in $(curl -sf "$BASE/api/v1/files/shared/$token/files" \
        | python3 -c "import json, sys; print(' '.join(f['id'] for f in json.load(sys.stdin)['files']))"); do
      read -r s size < <(curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' \
        "$BASE/api/v1/files/shared/$token/files/$id")
      secs=$(python3 -c "print($secs + $s)")
      total=$((total + size))
    done
    srss=$(peak_mib "$SERVER")
    reset_peak "$SERVER"
    read -r zsecs zsize < <(curl -sf -o "$WORK/all.zip" -w '%{time_total} %{size_download}\n' \
      "$BASE/api/v1/files/shared/$token/zip")
    zrss=$(peak_mib "$SERVER")
    python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None" "$WORK/all.zip" \
      || { log "the zip does not read back"; exit 1; }
    rm -f "$WORK/all.zip"
    echo "$(mbps "$total" "$secs") $(mbps "$total" "$zsecs") $srss $zrss $zsize $total"
  }
  log "zip: uploading 4 x 256 MiB (stored) and 4 x 64 MiB of text (deflated)"
  STORED=$(zip_set zip 4 256)
  DEFLATED=$(zip_set txt 4 64)
  declare -A zip_single zip_all zip_srss zip_zrss zip_bytes
  for kind in stored deflated; do
    token=$STORED; [ "$kind" = deflated ] && token=$DEFLATED
    singles=() alls=() srss=0 zrss=0
    for run in $(seq "$ZIP_RUNS"); do
      log "zip: $kind, run $run"
      read -r single all s_rss z_rss zsize total < <(zip_run "$token")
      singles+=("$single") alls+=("$all")
      srss=$(python3 -c "print(max($srss, $s_rss))") zrss=$(python3 -c "print(max($zrss, $z_rss))")
    done
    zip_single[$kind]=$(median "${singles[@]}") zip_all[$kind]=$(median "${alls[@]}")
    zip_srss[$kind]=$srss zip_zrss[$kind]=$zrss
    zip_bytes[$kind]="$zsize of $total"
  done
  echo
  echo "Coffer zip benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build"
  echo "\"Download all\" of a share link against its files one by one through the same link;"
  echo "MB/s of the files' bytes, medians of $ZIP_RUNS runs, alternating."
  echo
  echo "files                        one by one  zip   | zip/one | peak RSS one / zip | zip bytes of files' bytes"
  for kind in stored deflated; do
    label="4 x 256 MiB (stored)"; [ "$kind" = deflated ] && label="4 x 64 MiB text (deflated)"
    printf '%-28s %6.0f    %6.0f  |  %s   | %5.1f / %5.1f MiB  | %s\n' "$label" "${zip_single[$kind]}" \
      "${zip_all[$kind]}" "$(ratio "${zip_all[$kind]}" "${zip_single[$kind]}")" \
      "${zip_srss[$kind]}" "${zip_zrss[$kind]}" "${zip_bytes[$kind]}"
  done
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

if part page; then
  PAGE_RUNS=${BENCH_PAGE_RUNS:-5}
  echo
  echo "Coffer page weight, $(date -u +%Y-%m-%dT%H:%MZ), release build (scripts/build.sh)"
  echo "file                                     raw |  brotli |    gzip"
  for kind in js wasm css; do
    hash=$(awk -v k="$kind:" '$1 == k { print $2 }' target/site/hash.txt)
    file="target/site/pkg/coffer.$hash.$kind"
    printf '%-36s %8d | %7d | %7d\n' "$(basename "$file")" "$(stat -c %s "$file")" \
      "$(stat -c %s "$file.br")" "$(stat -c %s "$file.gz")"
  done
  # The pages split off the main wasm (cargo leptos --split): fetched only by the routes using
  # them, with the loader that fetches them.
  split_js=$(awk '$1 == "split:" { print $2 }' target/site/hash.txt)
  if [ -n "$split_js" ]; then
    file="target/site/pkg/__wasm_split.$split_js.js"
    printf '%-36s %8d | %7d | %7d\n' "$(basename "$file")" "$(stat -c %s "$file")" \
      "$(stat -c %s "$file.br")" "$(stat -c %s "$file.gz")"
    pieces=(target/site/pkg/split_*.wasm target/site/pkg/chunk_*.wasm)
    sizes() { stat -c %s "$@" | awk '{ s += $1 } END { print s }'; }
    printf '%-36s %8d | %7d | %7d\n' "split-off wasm (${#pieces[@]} files)" "$(sizes "${pieces[@]}")" \
      "$(sizes "${pieces[@]/%/.br}")" "$(sizes "${pieces[@]/%/.gz}")"
  fi
  # The same build without its compressed copies: what every visitor downloaded before.
  rm -rf "$WORK/site-plain" && cp -r target/site "$WORK/site-plain"
  find "$WORK/site-plain" \( -name '*.br' -o -name '*.gz' \) -delete
  PAGE_ENV=(COFFER_RATE_UPLOAD_PER_MIN=0 COFFER_RATE_DOWNLOAD_PER_MIN=0 COFFER_RATE_LOGIN_PER_MIN=0
    COFFER_RATE_REQUESTS_PER_SEC=0 RUST_LOG=warn)
  PP1=$((PORT + 5)) PP2=$((PORT + 6))
  PPID1=$(start_instance "$PP1" "${PAGE_ENV[@]}" LEPTOS_SITE_ROOT=target/site)
  PPID2=$(start_instance "$PP2" "${PAGE_ENV[@]}" LEPTOS_SITE_ROOT="$WORK/site-plain")
  PIDS+=("$PPID1" "$PPID2")
  # page_user BASE: a user with 100 files, one shared; prints the share link's path.
  page_user() {
    local base=$1 token auth id share
    token=$(token_for "$base" pages)
    auth="Authorization: Bearer $token"
    for i in $(seq 100); do
      printf 'Quarterly report %s\n' "$i" >"$WORK/page-$i.txt"
      id=$(curl -sf -H "$auth" -F "file=@$WORK/page-$i.txt;filename=report-$i.txt" \
        "$base/api/v1/files/upload" | json id)
    done
    scanned "$base" "$auth" "$id"
    share=$(curl -sf -H "$auth" -H 'Content-Type: application/json' -d '{}' \
      "$base/api/v1/files/$id/share" | json share_token)
    echo "/s/$share"
  }
  log "page: 100 files for a user on each of two instances"
  SHARE1=$(page_user "http://127.0.0.1:$PP1")
  SHARE2=$(page_user "http://127.0.0.1:$PP2")
  log "page: loading /files, a recipient page and /login in Chromium, $PAGE_RUNS runs each"
  page_load() { # BASE SHARE_PATH LABEL
    node end2end/bench/page-load.mjs "$1" pages@example.org "benchmark password" "$PAGE_RUNS" /files "$2" /login \
      | python3 -c "
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    page = {'/files': '/files (100)', '/login': 'sign-in /login'}.get(r['path'], 'recipient /s/…')
    print(f\"{sys.argv[1]:14} {page:15} {r['network']:17} | {r['cold_ms']:6.0f} ms {r['dcl_ms']:6.0f} ms \"
          f\"{r['wasm_bytes']:8d} B in {r['wasm_files']:2d} {r['wasm_encoding'] or '-':8} | {r['warm_ms']:6.0f} ms {r['warm_wasm_bytes']:6d} B\")
" "$3"
  }
  page_rows=$(page_load "http://127.0.0.1:$PP1" "$SHARE1" precompressed; page_load "http://127.0.0.1:$PP2" "$SHARE2" "not compressed")
  echo
  echo "Time to interactive (the coffer-hydrated mark; on a page sent without wasm, DOMContentLoaded;"
  echo "from navigation start), medians of $PAGE_RUNS runs,"
  echo "each in a new browser context; then the same page again in that context (warm cache)."
  echo "site           page            network           |  cold: interactive  DOMContentLoaded  wasm sent (files) | warm: interactive  wasm sent"
  echo "$page_rows"
fi

if part fleet; then
  FLEET_SECS=${BENCH_FLEET_SECS:-20}
  start_postgres_and_redis
  start_s3
  PGPASSWORD=ci "$PG_BIN/psql" -qX -h 127.0.0.1 -p 55432 -U ci -d postgres -c 'CREATE DATABASE bench_fleet' >/dev/null
  FLEET_ENV=(DATABASE_URL=postgresql://ci:ci@127.0.0.1:55432/bench_fleet REDIS_URL="$COFFER_TEST_REDIS_URL"
    COFFER_STORAGE=s3 COFFER_S3_ENDPOINT=http://127.0.0.1:8333 COFFER_S3_BUCKET=coffer-test
    COFFER_S3_ROOT="/bench-$$/" COFFER_S3_ACCESS_KEY_ID=coffer COFFER_S3_SECRET_ACCESS_KEY=coffer-secret
    COFFER_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" COFFER_MAX_UPLOAD_BYTES=$((4 * 1024 * 1024 * 1024))
    COFFER_RATE_UPLOAD_PER_MIN=0 COFFER_RATE_DOWNLOAD_PER_MIN=0 COFFER_RATE_LOGIN_PER_MIN=0
    COFFER_RATE_REQUESTS_PER_SEC=0 RUST_LOG=warn LEPTOS_SITE_ROOT=target/site)
  P1=$((PORT + 1)) P2=$((PORT + 2)) P3=$((PORT + 3))
  log "fleet: two release instances on PostgreSQL + Redis + S3 (ports $P1, $P2)"
  PID1=$(start_instance "$P1" "${FLEET_ENV[@]}")
  PID2=$(start_instance "$P2" "${FLEET_ENV[@]}")
  PIDS+=("$PID1" "$PID2")
  F1="http://127.0.0.1:$P1"
  FTOKEN=$(token_for "$F1" fleet)
  { printf 'PK\003\004'; head -c $((1048576 - 4)) /dev/urandom; } >"$WORK/share-1.zip"
  fid=$(curl -sf -H "Authorization: Bearer $FTOKEN" -F "file=@$WORK/share-1.zip;filename=share.zip" \
    "$F1/api/v1/files/upload" | json id)
  scanned "$F1" "Authorization: Bearer $FTOKEN" "$fid"
  share=$(curl -sf -H "Authorization: Bearer $FTOKEN" -H 'Content-Type: application/json' -d '{}' \
    "$F1/api/v1/files/$fid/share" | json share_token)
  SHARE_PATH="/api/v1/files/shared/$share"

  # CPU seconds (user + system) so far of: coffer-1 coffer-2 postgres(all) redis s3
  cpu_now() {
    python3 - "$PID1" "$PID2" "$REDIS_PID" "$S3_PID" <<'PY'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
def cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
def comm(pid):
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return ""
pg = sum(cpu(p) for p in os.listdir("/proc") if p.isdigit() and comm(p) == "postgres")
c1, c2, redis, s3 = (cpu(p) for p in sys.argv[1:])
print(c1, c2, pg, redis, s3)
PY
  }
  # run_load NAME URL… : 64 connections in all, split over the URLs; "req/s p99 non2xx cpu…".
  run_load() {
    local name=$1; shift
    local per=$((64 / $#)) i=0 wrks=()
    local before after
    before=$(cpu_now)
    for url in "$@"; do
      wrk -t $((2 / $#)) -c "$per" -d "${FLEET_SECS}s" --latency "$url$SHARE_PATH" >"$WORK/wrk-$name-$i.txt" 2>&1 &
      wrks+=($!); i=$((i + 1))
    done
    wait "${wrks[@]}"
    after=$(cpu_now)
    python3 - "$before" "$after" "$WORK"/wrk-"$name"-*.txt <<'PY'
import re, sys
before, after = ([float(x) for x in a.split()] for a in sys.argv[1:3])
rps, p99, bad = 0.0, 0.0, 0
for path in sys.argv[3:]:
    text = open(path).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", text, re.M).groups()
    p99 = max(p99, float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit])
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    bad += int(m.group(1)) if m else 0
print(rps, p99, bad, *(after[i] - before[i] for i in range(5)))
PY
  }
  log "fleet: ${FLEET_SECS} s of share-link downloads through instance 1 (64 connections)"
  read -r one_rps one_p99 one_bad one_c1 one_c2 one_pg one_redis one_s3 < <(run_load one "$F1")
  log "fleet: ${FLEET_SECS} s through both instances (32 connections each)"
  read -r two_rps two_p99 two_bad two_c1 two_c2 two_pg two_redis two_s3 < <(run_load two "$F1" "http://127.0.0.1:$P2")

  echo
  echo "Coffer fleet benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build"
  echo "Share-link downloads of a 1 MiB file (S3 blob), 64 keep-alive connections (wrk), ${FLEET_SECS} s each;"
  echo "p99 is the worse of the two wrk runs' with two instances. CPU: seconds per 1000 requests."
  echo
  python3 - "$FLEET_SECS" "$(nproc)" "$one_rps $one_p99 $one_bad $one_c1 $one_c2 $one_pg $one_redis $one_s3" \
            "$two_rps $two_p99 $two_bad $two_c1 $two_c2 $two_pg $two_redis $two_s3" <<'PY'
import sys
secs, cores = float(sys.argv[1]), int(sys.argv[2])
print("              req/s |  p99 ms | non-2xx | coffer-1 coffer-2 postgres  redis     s3 |  total")
runs = []
for name, line in (("1 instance", sys.argv[3]), ("2 instances", sys.argv[4])):
    rps, p99, bad, *cpu = (float(x) for x in line.split())
    per_k = [c / (rps * secs) * 1000 for c in cpu]
    runs.append((rps, sum(per_k)))
    print(f"{name:12} {rps:7.0f} | {p99:7.1f} | {bad:7.0f} | " + " ".join(f"{c:8.3f}" for c in per_k[:3])
          + f" {per_k[3]:6.3f} {per_k[4]:6.3f} | {sum(per_k):6.3f}")
(one, _), (two, total) = runs
print(f"\n2 instances / 1 instance: {two / one:.2f}x the requests/s")
print(f"CPU per request, all processes: {total:.3f} ms; {cores} cores busy at most {cores / total * 1000:.0f} req/s,"
      f" one more core at most {(cores + 1) / total * 1000:.0f} req/s (if the work spreads, as it does over instances)")
PY
  # 1 GiB uploads: to S3, then to the filesystem.
  { printf 'PK\003\004'; head -c $((1024 * 1048576 - 4)) /dev/urandom; } >"$WORK/up-1g.zip"
  upload_1g() { # BASE PID: "MB/s peakMiB"
    local base=$1 pid=$2 token secs
    token=$(token_for "$base" uploader)
    reset_peak "$pid"
    secs=$(curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" \
      -F "file=@$WORK/up-1g.zip;filename=up.zip" "$base/api/v1/files/upload")
    echo "$(mbps $((1024 * 1048576)) "$secs") $(peak_mib "$pid")"
  }
  # Each to an instance of its own, started for it: the download load left its buffers behind.
  P4=$((PORT + 4))
  PID4=$(start_instance "$P4" "${FLEET_ENV[@]}")
  PIDS+=("$PID4")
  log "fleet: a 1 GiB upload to S3"
  read -r s3_mbps s3_rss < <(upload_1g "http://127.0.0.1:$P4" "$PID4")
  PID3=$(start_instance "$P3" COFFER_MAX_UPLOAD_BYTES=$((4 * 1024 * 1024 * 1024)) COFFER_RATE_REQUESTS_PER_SEC=0 \
    RUST_LOG=warn LEPTOS_SITE_ROOT=target/site)
  PIDS+=("$PID3")
  log "fleet: a 1 GiB upload to the filesystem"
  read -r fs_mbps fs_rss < <(upload_1g "http://127.0.0.1:$P3" "$PID3")

  echo
  echo "1 GiB upload        MB/s | server peak RSS"
  printf 'to S3 (SeaweedFS)  %5s | %6s MiB\n' "$s3_mbps" "$s3_rss"
  printf 'to the filesystem  %5s | %6s MiB\n' "$fs_mbps" "$fs_rss"
fi
