# Part "fleet" of scripts/bench.sh (sourced by it, after scripts/bench/lib.sh and the main
# server, $SERVER at $BASE with $AUTH, have been set up):
# share-link downloads of a 1 MiB file by 64 clients (wrk) through one instance, then
# through two (the same run, half the clients each), on PostgreSQL + Redis + S3 (SeaweedFS):
# requests/s, p99, and the CPU seconds per 1000 requests of every process; then uploads of
# 1 GiB to S3 and to the filesystem: MB/s and the server's peak RSS;

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
