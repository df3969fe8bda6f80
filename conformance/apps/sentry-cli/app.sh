#!/usr/bin/env bash
# sentry-cli as a "client": send-event and monitors run, one scenario per run.
# Usage: SENTRY_DSN=... CC_MARKER=... CC_RELEASE=... app.sh <scenario>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cli="${SENTRY_CLI:-$here/../../../node_modules/.bin/sentry-cli}"
M="${CC_MARKER:-}"
common=(--release "$CC_RELEASE" --env conformance --no-environ)
case "$1" in
  message) exec "$cli" send-event "${common[@]}" -m "conformance message $M" ;;
  release) exec "$cli" send-event "${common[@]}" -m "conformance release $M" ;;
  context) exec "$cli" send-event "${common[@]}" -m "conformance context $M" -t "cc_marker:$M" -u "id:user-$M" -u "email:conformance@example.com" -e "answer:42" ;;
  breadcrumbs)
    log="$(mktemp)"
    printf 'crumb-1 %s\ncrumb-2 %s\ncrumb-3 %s\n' "$M" "$M" "$M" > "$log"
    "$cli" send-event "${common[@]}" -m "conformance breadcrumbs $M" --logfile "$log"
    rm -f "$log" ;;
  checkin) exec "$cli" monitors run -e conformance "$CC_MONITOR" -- true ;;
  *) echo "unsupported scenario $1" >&2; exit 3 ;;
esac
