#!/usr/bin/env bash
# Installs and caches what the conformance suite needs on a fresh machine (Debian bookworm, root):
# Chromium and Ruby's sentry-ruby from Debian, sentry-sdk in a venv, @sentry/browser in an npm
# cache folder (not the project's package.json), and builds the Go, Java and Rust apps.
# Idempotent: each step is skipped when its result is already there (a warm run takes a few seconds).
# Usage: bash conformance/install.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="$here/.cache"
mkdir -p "$cache/bin"
step() { printf '[conformance/install] %s\n' "$*"; }

# --- Debian packages: Chromium for @sentry/browser, Ruby with sentry-ruby 5.3 ---
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v ruby >/dev/null || need+=(ruby)
dpkg -s ruby-sentry-ruby >/dev/null 2>&1 || need+=(ruby-sentry-ruby)
if [ ${#need[@]} -gt 0 ]; then
  step "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- Python: sentry-sdk in a venv ---
PY_SDK=2.75.0
if ! "$cache/venv/bin/python" -c "import sentry_sdk, sys; sys.exit(sentry_sdk.VERSION != '$PY_SDK')" 2>/dev/null; then
  step "pip install sentry-sdk==$PY_SDK"
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install -q --disable-pip-version-check "sentry-sdk==$PY_SDK"
fi

# --- @sentry/browser, same version as @sentry/node, in its own folder so package.json stays as it is ---
BROWSER_SDK="$(node -p "require('$here/../node_modules/@sentry/node/package.json').version")"
if [ "$(node -p "try{require('$cache/npm/node_modules/@sentry/browser/package.json').version}catch{''}")" != "$BROWSER_SDK" ]; then
  step "npm install @sentry/browser@$BROWSER_SDK into conformance/.cache/npm"
  mkdir -p "$cache/npm"
  # A package.json of its own keeps npm from walking up to the project's.
  [ -f "$cache/npm/package.json" ] || echo '{"name":"conformance-browser-sdk","private":true}' > "$cache/npm/package.json"
  (cd "$cache/npm" && npm install --no-audit --no-fund --no-package-lock --no-save --loglevel=error "@sentry/browser@$BROWSER_SDK")
fi

# --- Go: sentry-go (go.sum is committed) ---
if [ ! -x "$cache/bin/goapp" ] || [ -n "$(find "$here/apps/go" -newer "$cache/bin/goapp" -type f)" ]; then
  step "go build (sentry-go)"
  (cd "$here/apps/go" && go build -o "$cache/bin/goapp" .)
fi

# --- Java: io.sentry:sentry from Maven Central ---
jar="$here/apps/java/target/javaapp-1.0.jar"
if [ ! -f "$jar" ] || [ -n "$(find "$here/apps/java/src" "$here/apps/java/pom.xml" -newer "$jar" -type f)" ]; then
  step "mvn package (io.sentry:sentry)"
  (cd "$here/apps/java" && mvn -q -B package)
fi

# --- Rust: the sentry crate (Cargo.lock is committed; ureq transport, no TLS) ---
bin="$here/apps/rust/target/debug/rustapp"
if [ ! -x "$bin" ] || [ -n "$(find "$here/apps/rust/src" "$here/apps/rust/Cargo.toml" "$here/apps/rust/Cargo.lock" -newer "$bin" -type f)" ]; then
  step "cargo build (sentry crate)"
  (cd "$here/apps/rust" && cargo build --locked -q)
fi
step "ready"
