#!/usr/bin/env bash
# Checks the deployment files without Docker (which cannot run here): hadolint on the
# Dockerfile, dclint on compose.yaml (the Compose Specification's schema, then its lint rules),
# `nginx -t` on deploy/nginx.conf, `systemd-analyze verify` on deploy/coffer.service, and that
# every setting these files name is one Coffer reads (a row of the README's configuration
# table). The fleet tests then run compose's command and environment, and nginx on its
# configuration, for real. Called by scripts/test.sh's fleet stage, which installs the tools.
#
#   scripts/check-deploy.sh BINARY     BINARY: the built coffer, for the systemd unit's ExecStart
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:?usage: scripts/check-deploy.sh path/to/coffer}
log() { printf '\033[1;34m[check-deploy]\033[0m %s\n' "$*" >&2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

log "hadolint Dockerfile"
hadolint Dockerfile

log "dclint compose.yaml"
dclint compose.yaml

log "nginx -t deploy/nginx.conf (compose's service names on loopback)"
sed -e 's/coffer-[12]:3000/127.0.0.1:3000/' deploy/nginx.conf >"$tmp/nginx.conf"
nginx -t -q -p "$tmp" -c "$tmp/nginx.conf" -g "pid $tmp/nginx.pid;"

log "systemd-analyze verify deploy/coffer.service"
sed "s#/usr/local/bin/coffer #$BIN #" deploy/coffer.service >"$tmp/coffer.service"
systemd-analyze verify "$tmp/coffer.service"

log "every setting the deployment files name is one Coffer reads"
python3 - <<'PY'
import re, sys, yaml

readme = open("README.md").read()
table = re.search(r"^## Configuration\n(.*?)^## ", readme, re.M | re.S).group(1)
known = set()
for row in re.findall(r"^\| (.*?) \|", table, re.M):
    known |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", row))
compose = yaml.safe_load(open("compose.yaml"))
named = {}
for service in ("coffer-1", "coffer-2"):
    for name in compose["services"][service]["environment"]:
        named[name] = "compose.yaml"
    if compose["services"][service]["command"] != ["serve"]:
        sys.exit(f"compose.yaml: {service} should run `coffer serve`")
runtime = open("Dockerfile").read().rsplit("\nFROM ", 1)[1]  # the image's stage
docker_env = re.search(r"^ENV (.*?)(?=^\S)", runtime, re.M | re.S).group(1)
for name in re.findall(r"([A-Z][A-Z0-9_]+)=", docker_env):
    named[name] = "Dockerfile"
for name in re.findall(r"^Environment=([A-Z0-9_]+)=", open("deploy/coffer.service").read(), re.M):
    named[name] = "deploy/coffer.service"
for name in re.findall(r"^#?([A-Z][A-Z0-9_]+)=", open("deploy/coffer.env.example").read(), re.M):
    named[name] = "deploy/coffer.env.example"
unknown = sorted(f"{name} ({where})" for name, where in named.items() if name not in known)
if unknown:
    sys.exit("settings Coffer does not read (or the README does not list): " + ", ".join(unknown))
print(f"{len(named)} settings named, all known", file=sys.stderr)
PY
log "deployment files pass"
