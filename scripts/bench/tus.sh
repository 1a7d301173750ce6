# Part "tus" of scripts/bench.sh (sourced by it, after scripts/bench/lib.sh and the main
# server, $SERVER at $BASE with $AUTH, have been set up):
# a 1 GiB upload by tus in 8 MiB requests (curl on one connection, and tuspy) against
# the plain streaming upload of the same file (curl, one request), alternately, in the same
# run: MB/s and the server's peak RSS;

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
