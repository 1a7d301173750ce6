#!/usr/bin/env bash
# Runs every test: the structure check; unit and integration tests on SQLite (with real clamd
# daemons for the ClamAV tests); the OpenAPI fuzzer (Schemathesis) against a server on SQLite;
# the integration tests again on a real PostgreSQL with a real Redis; the file tests on a real
# S3 server (SeaweedFS); the deployment files and a fleet of two coffer processes behind nginx
# on all of those plus clamd; the Playwright browser tests in Debian's Chromium. Installs what
# is missing (build tools, Debian, npm and PyPI packages) and starts PostgreSQL, Redis,
# SeaweedFS, clamd and nginx on loopback for the run.
# Run from the repo root, as root, on Debian 12.
#
#   scripts/test.sh                          every stage (what CI runs)
#   scripts/test.sh --only sqlite            one stage, or several: --only postgres,s3
#   scripts/test.sh --only postgres shares   a test filter for the Rust stages (a file name for e2e)
#   scripts/test.sh --only e2e -- -g "title"  everything after -- goes to the test runner as it is
#
# Stages: structure (scripts/check-structure.py), sqlite (unit + integration), fuzz
# (scripts/fuzz-api.sh, 300 examples per operation), postgres (integration on PostgreSQL +
# Redis), s3 (the file tests on SeaweedFS), fleet (scripts/check-deploy.sh, then tests/fleet:
# two instances on all of them), e2e (Playwright).
#
# Everything is built first; then the stages run side by side, each into a log of its own
# (they wait on sockets and child processes far more than they use the CPU). Each stage's
# result and time is printed as it ends; a failed stage's log follows the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ALL_STAGES="structure sqlite fuzz postgres s3 fleet e2e"
STAGES=$ALL_STAGES
FILTER=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only)
      [ $# -ge 2 ] || { echo "--only needs a stage: $ALL_STAGES" >&2; exit 2; }
      STAGES=${2//,/ }; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    --) shift; FILTER+=("$@"); break ;;
    -*) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
    *) FILTER+=("$1"); shift ;;
  esac
done
for stage in $STAGES; do
  case " $ALL_STAGES " in *" $stage "*) ;; *) echo "unknown stage $stage: $ALL_STAGES" >&2; exit 2 ;; esac
done
wants() { case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
STARTED=$SECONDS

if wants structure; then
  echo "[test] structure: import cycles, and the map (ARCHITECTURE.md) against the files" >&2
  python3 scripts/check-structure.py
fi
[ "$STAGES" = structure ] && exit 0

# The site's tools (cargo-leptos, wasm-bindgen, wasm-opt) are built, when missing, beside the
# stages that do not need them (below); only the browser tests wait for them.
COFFER_TOOLS_LATER=1 source scripts/ensure-tools.sh
log() { printf '\033[1;34m[test]\033[0m %s\n' "$*" >&2; }

WORK=$(mktemp -d)
# Each stage runs in a process group of its own (job control), so that whatever a stage started
# stops with the run, however it ends.
set -m
STAGE_PIDS=()
stop_stages() {
  local pid
  for pid in "${STAGE_PIDS[@]}" ${SITE_TOOLS_PID:-} ${SITE_WASM_PID:-}; do kill -TERM -- "-$pid" 2>/dev/null || true; done
}
trap 'stop_stages; stop_services' EXIT

# Building the site's tools takes the largest part of a cold run's CPU, and the browser tests
# wait for them: they build beside everything else, at the same priority as the server's build
# and ahead of the test stages (which then run at nice 10 and have time to spare).
SITE_TOOLS_PID=""
SITE_WASM_PID=""
if wants e2e && site_tools_missing; then
  log "building the site's tools in the background (cargo-leptos, wasm-bindgen): $WORK/site-tools.log"
  (
    if env -u COFFER_TOOLS_LATER bash -c 'source scripts/ensure-tools.sh' \
      >"$WORK/site-tools.log" 2>&1; then
      echo ok >"$WORK/site-tools.done"
    else
      echo failed >"$WORK/site-tools.done"
    fi
  ) &
  SITE_TOOLS_PID=$!
  # The site's wasm, built as cargo-leptos' debug `--split` build builds it (its flags, its
  # target directory): its dependencies compile meanwhile, not after the tools.
  log "building the site's wasm in the background: $WORK/site-wasm.log"
  (
    RUSTFLAGS="-Clink-args=--emit-relocs --cfg erase_components" LEPTOS_OUTPUT_NAME=coffer \
      cargo build --package=coffer-front --lib --target-dir="$CARGO_TARGET_DIR/front" \
      --target=wasm32-unknown-unknown --no-default-features --features=hydrate \
      >"$WORK/site-wasm.log" 2>&1 || true
  ) &
  SITE_WASM_PID=$!
fi

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

# The same RUSTFLAGS as cargo-leptos' debug build, so tests reuse its compiled dependencies.
export RUSTFLAGS="--cfg erase_components"
# The integration tests wait on sockets, child processes and each other far more than they
# use the CPU: many run at once even on two cores.
TEST_THREADS=${COFFER_TEST_THREADS:-8}
# cargo-leptos compiles with this set; leptos reads it at compile time to name the wasm file,
# and `cargo test` rebuilds the same `coffer` binary the browser tests run.
export LEPTOS_OUTPUT_NAME=coffer

# Build everything the stages run, before any starts (the browser tests' site is built by their
# stage, once the site's tools are there).
if wants sqlite || wants postgres || wants s3 || wants fleet || wants fuzz; then
  log "building the tests and the server"
  targets=(--lib --bins --test api)
  if wants fleet; then targets+=(--test fleet); fi
  cargo test --features ssr --no-run "${targets[@]}" 2>&1 | grep -v '^  Executable' >&2
  wants sqlite && cargo test -p coffer-crypto --no-run 2>&1 | grep -v '^  Executable' >&2
  cargo build --features ssr
fi

# Services every stage that wants them shares; each test makes its own database, key prefix
# and bucket folder.
if wants postgres || wants fleet; then start_postgres_and_redis; fi
if wants s3 || wants fleet; then start_s3; fi
if wants fleet; then start_clamd; fi

# The stages run side by side; the fuzzer, the longest and mostly Python (one core at most),
# ahead of the others, at nice 10: they have the rest of the machine while it runs, and all of it
# after, so that none is left running alone at the end. Measured warm on two cores: the others at
# nice 5, 9 min 08 s and 10 min 30 s (the fuzzer the last 2-3 minutes alone, the machine 60 %
# busy); at nice 10, 7 min 34 s to 8 min 44 s in three runs.
RUN=()

# run_stage NAME: runs the stage's function, stage_NAME, its output in $WORK/NAME.log, and
# reports how it went. (Within `||`, a function does not stop at a failing command: each stage
# function chains its commands with `&&` or returns the failure itself.)
run_stage() {
  local name=$1 start=$SECONDS outcome=passed summary
  log "$name: started"
  "stage_$name" >"$WORK/$name.log" 2>&1 || outcome=FAILED
  echo "$outcome" >"$WORK/$name.result"
  summary=$(grep -aE '^test result:|[0-9]+ passed|No issues found' "$WORK/$name.log" | tail -4 | tr -s ' ' | paste -sd ';' - || true)
  log "$name: $outcome in $((SECONDS - start)) s ($summary)"
}

stage_sqlite() {
  # The doctests first: rustdoc compiles them when they run, so run last they would build
  # whatever the sources had become by then.
  cargo test -p coffer-crypto -- "${FILTER[@]}" &&
    cargo test --features ssr --doc -- "${FILTER[@]}" &&
    cargo test --features ssr --lib --bins --tests -- --test-threads "$TEST_THREADS" "${FILTER[@]}"
}
wants sqlite && RUN+=(sqlite)

stage_fuzz() {
  scripts/fuzz-api.sh --max-examples 300
}
wants fuzz && RUN+=(fuzz)

stage_postgres() {
  cargo test --features ssr --test api -- --test-threads "$TEST_THREADS" "${FILTER[@]}"
}
wants postgres && RUN+=(postgres)

stage_s3() {
  local filter=(files uploads)  # the tests that store blobs; a filter given on the command line instead
  [ ${#FILTER[@]} -gt 0 ] && filter=("${FILTER[@]}")
  # On SQLite: only the blobs are the subject here.
  env -u COFFER_TEST_POSTGRES_URL -u COFFER_TEST_REDIS_URL "${S3_ENV[@]}" \
    cargo test --features ssr --test api -- --test-threads "$TEST_THREADS" "${filter[@]}"
}
wants s3 && RUN+=(s3)

stage_fleet() {
  echo "deployment files (hadolint, dclint, nginx -t, systemd-analyze)"
  scripts/check-deploy.sh "$CARGO_TARGET_DIR/debug/coffer" &&
    echo "fleet tests: two coffer processes behind nginx on PostgreSQL, Redis, S3 and clamd" &&
    env "${S3_ENV[@]}" COFFER_TEST_NGINX="$(command -v nginx)" COFFER_TEST_PG_BIN="$PG_BIN" \
      cargo test --features ssr --test fleet -- --test-threads 2 "${FILTER[@]}"
}
wants fleet && RUN+=(fleet)

stage_e2e() {
  local port=3417
  if [ -n "$SITE_TOOLS_PID" ]; then
    echo "waiting for the site's tools"
    while [ ! -f "$WORK/site-tools.done" ]; do sleep 2; done
    cat "$WORK/site-tools.log"
    [ "$(cat "$WORK/site-tools.done")" = ok ] || { echo "the site's tools did not build"; return 1; }
  fi
  echo "building the app (cargo leptos build --split, as scripts/build.sh)"
  # cargo-leptos adds `--cfg erase_components` to the RUSTFLAGS it finds: given ours, it would
  # build the crate with the flag twice, and each `cargo test` after it would build it again.
  env -u RUSTFLAGS cargo leptos build --split || return 1
  # The admin the admin dashboard's tests sign in as, made the way an operator makes one.
  export COFFER_E2E_ADMIN_EMAIL=e2e-admin@example.org COFFER_E2E_ADMIN_PASSWORD="e2e admin password"
  COFFER_DATA_DIR="$WORK/e2e-data" COFFER_ADMIN_PASSWORD="$COFFER_E2E_ADMIN_PASSWORD" \
    "$CARGO_TARGET_DIR/debug/coffer" create-admin --email "$COFFER_E2E_ADMIN_EMAIL" --username e2eadmin >/dev/null || return 1
  # Every browser test registers an account of its own, all from 127.0.0.1: more than the
  # default 20 an hour from one address (the limit itself is tested in tests/api).
  COFFER_DATA_DIR="$WORK/e2e-data" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$ROOT/target/site" \
    COFFER_PUBLIC_URL="http://127.0.0.1:$port" COFFER_RATE_REGISTER_PER_HOUR=200 \
    "$CARGO_TARGET_DIR/debug/coffer" >"$WORK/e2e-server.log" 2>&1 &
  local server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
  local status=0
  # Chromium raises the priority of its busiest threads (to nice -8) when it may, as root may:
  # without the capability it stays at its stage's priority and does not run ahead of the fuzzer.
  (cd end2end && COFFER_E2E_URL="http://127.0.0.1:$port" \
    setpriv --bounding-set -sys_nice --inh-caps -sys_nice npx playwright test "${FILTER[@]}") || status=$?
  kill "$server" 2>/dev/null || true
  if [ $status -ne 0 ]; then
    echo "browser tests failed; server log follows"
    tail -50 "$WORK/e2e-server.log"
  fi
  return $status
}
wants e2e && RUN+=(e2e)

for name in "${RUN[@]}"; do
  (
    [ "$name" = fuzz ] || renice -n 10 "$BASHPID" >/dev/null
    run_stage "$name"
  ) &
  STAGE_PIDS+=($!)
done
wait "${STAGE_PIDS[@]}"
failed=()
for name in "${RUN[@]}"; do
  [ "$(cat "$WORK/$name.result")" = passed ] || failed+=("$name")
done

for name in "${failed[@]}"; do
  log "---- $name: the end of its log ($WORK/$name.log) ----"
  tail -120 "$WORK/$name.log" >&2
done
if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED: ${failed[*]} ($((SECONDS - STARTED)) s in all)"
  exit 1
fi
log "passed: $STAGES ($((SECONDS - STARTED)) s in all)"
