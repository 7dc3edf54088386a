#!/usr/bin/env bash
# Install the Debian packages sfagent needs, only those missing (run as root on Debian).
set -euo pipefail
pkgs=(cmake gcc make pkg-config libsqlite3-dev libcurl4-openssl-dev libcjson-dev
      libcmocka-dev libmicrohttpd-dev libinih-dev libssl-dev zlib1g-dev clang-format)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
