#!/usr/bin/env bash
# Benchmarks of a release build over loopback HTTP, printed as tables, one part a script of its
# own (scripts/bench/<part>.sh, with scripts/bench/lib.sh shared by all):
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

source scripts/bench/lib.sh

log "starting the release server on $BASE"
SERVER=$(start_instance "$PORT" COFFER_MAX_UPLOAD_BYTES=$((4 * 1024 * 1024 * 1024)) COFFER_RATE_UPLOAD_PER_MIN=0 \
  COFFER_RATE_DOWNLOAD_PER_MIN=0 COFFER_RATE_LOGIN_PER_MIN=0 COFFER_RATE_REQUESTS_PER_SEC=0 RUST_LOG=warn \
  LEPTOS_SITE_ROOT=target/site)
PIDS+=("$SERVER")
AUTH="Authorization: Bearer $(token_for "$BASE" bench)"

# The parts, in this order, each from a script of its own.
for name in transfer peer concurrent tus zip latency page fleet; do
  if part "$name"; then source "scripts/bench/$name.sh"; fi
done
