# Part "zip" of scripts/bench.sh (sourced by it, after scripts/bench/lib.sh and the main
# server, $SERVER at $BASE with $AUTH, have been set up):
# "Download all" of a share link to 4 files of 256 MiB (stored: already compressed) and to
# 4 text files of 64 MiB (deflated), against downloading the same files one by one through
# the same link, alternately in the same run: MB/s and the server's peak RSS.

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
