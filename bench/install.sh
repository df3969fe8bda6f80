#!/bin/sh
# Installs what `npm run bench` prefers beyond npm packages: wrk, the load generator (Debian package;
# C + LuaJIT, ~5x the requests per core of a Node client). Without it the bench falls back to its
# Node generator, which on 2 cores caps the ceiling well below what the server can do.
set -e
if command -v wrk >/dev/null 2>&1; then
  echo "wrk is installed: $(command -v wrk)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq wrk
command -v wrk
