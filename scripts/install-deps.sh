#!/usr/bin/env bash
# Installs what Cohort needs from Debian's packages: only what is missing, so a second run is quick.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --bench    also the load tools used by bench/
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config make git
  # libraries
  libboost1.74-dev libsqlite3-dev libpqxx-dev libpq-dev nlohmann-json3-dev libsimdjson-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libcurl4-openssl-dev
  libhiredis-dev librabbitmq-dev libmongoc-dev libbson-dev libnlopt-cxx-dev libeigen3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev sqlite3 curl
  # `docker-compose config` validates docker-compose.yml (no Docker engine needed; docker.io is only recommended)
  docker-compose
  # services the integration tests start
  postgresql redis-server rabbitmq-server
)
# The MongoDB wire-protocol test peer (CongoDB, see scripts/test-services.sh) runs on Node.js 18+ with npm:
# Debian's nodejs and npm, unless a Node.js of 18 or newer with npm is there already (a Node.js build from
# elsewhere bundles npm and conflicts with Debian's npm package).
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ! command -v npm >/dev/null || [[ "$node_major" -lt 18 ]]; then
  packages+=(nodejs npm)
fi
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk nginx-light)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Services are started by the test scripts, never by the package's init hooks.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
