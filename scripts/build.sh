#!/usr/bin/env bash
# Configures (once) and builds gst-cflive in ./build. Quiet when all is well;
# on failure it prints what meson or ninja said.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ ! -f build/build.ninja ]; then
  if ! meson setup build >"$log" 2>&1; then
    cat "$log" >&2
    echo "build.sh: meson setup failed (full log: build/meson-logs/meson-log.txt)" >&2
    exit 1
  fi
fi
if ! ninja -C build >"$log" 2>&1; then
  cat "$log" >&2
  echo "build.sh: the build failed" >&2
  exit 1
fi
