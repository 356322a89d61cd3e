#!/usr/bin/env bash
# The main job: installs what is missing, builds, and starts a live input
# on rtmp://127.0.0.1:1935/live that prints how to push to it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/tools/cflive-server "$@"
