#!/usr/bin/env bash
# The test command: installs redis-server when it is missing (the cluster tests start a real one on a loopback
# port of their own), then runs every suite. Arguments go to dotnet test.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server is missing: installing the Debian package redis-server" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends redis-server
fi
exec dotnet test OrleansServe.sln "$@"
