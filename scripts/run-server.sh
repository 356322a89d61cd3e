#!/usr/bin/env bash
# The main job: installs what is missing, builds, and starts cflive-server on
# its defaults: the API on http://127.0.0.1:8787/client/v4, RTMP ingest on
# port 1935, SRT on 8890, state and recordings in ./cflive-data. On the first
# start it prints the API token it made; every start prints the API base and
# a curl line that creates a live input. Options go to cflive-server
# (build/tools/server/cflive-server --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/tools/server/cflive-server "$@"
