# Part "peer" of scripts/bench.sh (sourced by it, after scripts/bench/lib.sh and the main
# server, $SERVER at $BASE with $AUTH, have been set up):
# a 1 GiB download from Coffer (decrypting as it streams) against the same file from
# rustypaste (a plaintext Rust file server), alternately, page cache warm for both, in the
# same run: MB/s, the ratio, and each server's peak RSS; the uploads too, for context.

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
