# Part "concurrent" of scripts/bench.sh (sourced by it, after scripts/bench/lib.sh and the main
# server, $SERVER at $BASE with $AUTH, have been set up):
# on a fresh server, the peak RSS while 1, then 4, then 16 uploads of 256 MiB
# run at once, and the same for downloads (every scan finished first), with what each
# transfer past the first added, and the transfers' combined MB/s;

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
