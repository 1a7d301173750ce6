# Part "page" of scripts/bench.sh (sourced by it, after scripts/bench/lib.sh and the main
# server, $SERVER at $BASE with $AUTH, have been set up):
# the site's script, wasm and styles as sent (raw, and the brotli and gzip copies the
# build made), then the time until a page is interactive in Chromium (the `coffer-hydrated`
# mark, end2end/bench/page-load.mjs; DOMContentLoaded on the pages sent without wasm) for
# `/files` listing 100 files, a share link's recipient page and `/login`, cold and warm
# cache, on loopback and on an emulated 10 Mbit/s link; each against the same build served
# without its compressed copies, in the same run.

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
