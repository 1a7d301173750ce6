# Part "latency" of scripts/bench.sh (sourced by it, after scripts/bench/lib.sh and the main
# server, $SERVER at $BASE with $AUTH, have been set up):
# `GET /health` p50 / p99 / max, idle, then while 4 clients upload 256 MiB files
# back to back and 4 clients log in continuously (the same run), with the uploads' throughput;

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
