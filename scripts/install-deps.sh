#!/usr/bin/env bash
# Installs the Debian 12 packages that building, running, testing and
# benchmarking gst-cflive need, and only those that are missing.
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config gcc
  # build: gstreamer-codecparsers-1.0 (H.264 SPS parsing)
  libgstreamer-plugins-bad1.0-dev
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libsrt-gnutls-dev
  # build: the API server (json-glib also for cfrecordsink)
  libsoup-3.0-dev libjson-glib-dev libsqlite3-dev
  # run: GStreamer core tools and TLS for rtmps://
  gstreamer1.0-tools gstreamer1.0-plugins-base glib-networking
  # tests: real encoders and decoders as peers (good and bad also at run
  # time: cfrecordsink makes its MP4 with tsdemux, h264parse and mp4mux)
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  gstreamer1.0-libav ffmpeg openssl python3 procps srt-tools curl jq
  # fuzzers (libFuzzer)
  clang libclang-rt-14-dev
  # benchmarks: the anchor
  nginx-light libnginx-mod-rtmp wrk
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# tests: Cloudflare's TypeScript SDK against the server (tests/sdk) runs on
# Node.js: Debian's nodejs and npm, unless a node and an npm are there already
# (a nodejs from elsewhere that bundles npm conflicts with Debian's npm)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing: ${missing[*]}"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
