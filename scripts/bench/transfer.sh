# Part "transfer" of scripts/bench.sh (sourced by it, after scripts/bench/lib.sh and the main
# server, $SERVER at $BASE with $AUTH, have been set up):
# upload and download throughput for 1 MiB, 100 MiB and 1 GiB, the server's peak
# RSS during each transfer, and the same disk's dd figures from the same run as the baseline;

largest=0
for mib in $SIZES_MIB; do
  # A zip header first: uploads are checked by content, and .zip is on the default allow-list.
  { printf 'PK\003\004'; head -c $((mib * 1048576 - 4)) /dev/urandom; } >"$WORK/in-$mib.zip"
  [ "$mib" -gt "$largest" ] && largest=$mib
done

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

echo
echo "Coffer transfer benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build"
echo "Medians of n runs. Ratios: to dd of the same file, and to dd of the ${largest} MiB file."
echo "dd: write with conv=fdatasync, read with iflag=direct, same disk, same run."
echo
echo "   size    n | upload      /same  /${largest}M | download    /same  /${largest}M | dd write / read | peak RSS up / down"
for row in "${rows[@]}"; do echo "$row"; done
