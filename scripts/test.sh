#!/usr/bin/env bash
# Runs every test: unit and integration tests on SQLite (with real clamd daemons for the
# ClamAV tests), the OpenAPI fuzzer (Schemathesis) against a server on SQLite, the integration
# tests again on a real PostgreSQL with a real Redis, the file tests on a real S3 server
# (SeaweedFS), the deployment files and a fleet of two coffer processes behind nginx on all of
# those plus clamd, then the Playwright browser tests in Debian's Chromium. Installs what is
# missing (build tools, Debian, npm and PyPI packages) and starts PostgreSQL, Redis, SeaweedFS,
# clamd and nginx on loopback for the run.
# Run from the repo root, as root, on Debian 12.
#
#   scripts/test.sh                          every stage (what CI runs)
#   scripts/test.sh --only sqlite            one stage, or several: --only postgres,s3
#   scripts/test.sh --only postgres shares   a cargo test filter for the Rust stages
#
# Stages: sqlite (unit + integration), fuzz (scripts/fuzz-api.sh, 300 examples per operation),
# postgres (integration on PostgreSQL + Redis), s3 (the file tests on SeaweedFS), fleet
# (scripts/check-deploy.sh, then tests/fleet: two instances on all of them), e2e (Playwright).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ALL_STAGES="sqlite fuzz postgres s3 fleet e2e"
STAGES=$ALL_STAGES
FILTER=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only)
      [ $# -ge 2 ] || { echo "--only needs a stage: $ALL_STAGES" >&2; exit 2; }
      STAGES=${2//,/ }; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
    *) FILTER+=("$1"); shift ;;
  esac
done
for stage in $STAGES; do
  case " $ALL_STAGES " in *" $stage "*) ;; *) echo "unknown stage $stage: $ALL_STAGES" >&2; exit 2 ;; esac
done
wants() { case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

source scripts/ensure-tools.sh
log() { printf '\033[1;34m[test]\033[0m %s\n' "$*" >&2; }

source scripts/services.sh
services=()
# A real clamd for the ClamAV tests (each starts its own on a database it writes) and the fleet.
if wants sqlite || wants postgres || wants fleet; then services+=(clamd); fi
# tuspy, the official Python tus client, resumes an upload in the integration and fleet tests.
# Python also reads the zips of the browser tests (zipfile, an independent reader).
if wants sqlite || wants postgres || wants s3 || wants fleet || wants e2e; then services+=(tuspy); fi
if wants postgres || wants fleet; then services+=(postgres redis); fi
if wants s3 || wants fleet; then services+=(s3); fi
if wants fleet; then services+=(nginx deploy-tools rclone); fi
if wants e2e; then services+=(playwright); fi
install_services "${services[@]}"

WORK=$(mktemp -d)
trap stop_services EXIT

# The same RUSTFLAGS as cargo-leptos' debug build, so tests reuse its compiled dependencies.
export RUSTFLAGS="--cfg erase_components"
# cargo-leptos compiles with this set; leptos reads it at compile time to name the wasm file,
# and `cargo test` rebuilds the same `coffer` binary the browser tests run.
export LEPTOS_OUTPUT_NAME=coffer

if wants e2e; then
  log "building the app (cargo leptos build --split, as scripts/build.sh)"
  cargo leptos build --split
fi

if wants sqlite; then
  log "unit and integration tests on SQLite"
  cargo test --features ssr -- "${FILTER[@]}" 2>&1 | tee "$WORK/sqlite.log"
fi

if wants fuzz; then
  log "fuzzing the REST API (Schemathesis, every phase and check)"
  cargo build --features ssr  # the binary the sqlite stage's tests built; a no-op after them
  scripts/fuzz-api.sh --max-examples 300
fi

if wants postgres; then
  start_postgres_and_redis
  log "integration tests on PostgreSQL + Redis"
  cargo test --features ssr --test api -- "${FILTER[@]}" 2>&1 | tee "$WORK/postgres.log"
fi

if wants s3; then
  start_s3
  log "file tests on S3 (SeaweedFS)"
  S3_FILTER=(files uploads)  # the tests that store blobs; a filter given on the command line instead
  [ ${#FILTER[@]} -gt 0 ] && S3_FILTER=("${FILTER[@]}")
  # On SQLite: only the blobs are the subject here.
  env -u COFFER_TEST_POSTGRES_URL -u COFFER_TEST_REDIS_URL "${S3_ENV[@]}" \
    cargo test --features ssr --test api -- "${S3_FILTER[@]}" 2>&1 | tee "$WORK/s3-tests.log"
fi

if wants fleet; then
  log "deployment files (hadolint, dclint, nginx -t, systemd-analyze)"
  cargo build --features ssr  # the binary the tests run; a no-op after the sqlite stage
  scripts/check-deploy.sh "$CARGO_TARGET_DIR/debug/coffer"
  start_postgres_and_redis
  start_s3
  start_clamd
  log "fleet tests: two coffer processes behind nginx on PostgreSQL, Redis, S3 and clamd"
  env "${S3_ENV[@]}" COFFER_TEST_NGINX="$(command -v nginx)" COFFER_TEST_PG_BIN="$PG_BIN" \
    cargo test --features ssr --test fleet -- --test-threads 2 "${FILTER[@]}" 2>&1 | tee "$WORK/fleet.log"
fi

if wants e2e; then
  log "browser tests (Playwright, Debian Chromium)"
  E2E_PORT=3417
  # The admin the admin dashboard's tests sign in as, made the way an operator makes one.
  export COFFER_E2E_ADMIN_EMAIL=e2e-admin@example.org COFFER_E2E_ADMIN_PASSWORD="e2e admin password"
  COFFER_DATA_DIR="$WORK/e2e-data" COFFER_ADMIN_PASSWORD="$COFFER_E2E_ADMIN_PASSWORD" \
    "$CARGO_TARGET_DIR/debug/coffer" create-admin --email "$COFFER_E2E_ADMIN_EMAIL" --username e2eadmin >/dev/null
  # Every browser test registers an account of its own, all from 127.0.0.1: more than the
  # default 20 an hour from one address (the limit itself is tested in tests/api).
  COFFER_DATA_DIR="$WORK/e2e-data" LEPTOS_SITE_ADDR="127.0.0.1:$E2E_PORT" LEPTOS_SITE_ROOT="$ROOT/target/site" \
    COFFER_PUBLIC_URL="http://127.0.0.1:$E2E_PORT" COFFER_RATE_REGISTER_PER_HOUR=200 \
    "$CARGO_TARGET_DIR/debug/coffer" >"$WORK/e2e-server.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$E2E_PORT/health" >/dev/null && break; sleep 0.2; done
  if ! (cd end2end && COFFER_E2E_URL="http://127.0.0.1:$E2E_PORT" npx playwright test); then
    log "browser tests failed; server log follows"; tail -50 "$WORK/e2e-server.log"; exit 1
  fi
fi
log "passed: $STAGES"
