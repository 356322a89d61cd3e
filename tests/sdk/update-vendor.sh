#!/usr/bin/env bash
# Refills vendor/ with `npm pack` tarballs of the `cloudflare` SDK at
# VERSION (default: the one vendored now) and of every package it depends
# on, as npm resolves them today. Needs the npm registry; the check itself
# (run.sh) never does.
#
#   tests/sdk/update-vendor.sh [VERSION]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
current=$(cd "$here/vendor" && ls cloudflare-*.tgz 2>/dev/null | sed 's/^cloudflare-//; s/\.tgz$//' | head -n1)
version=${1:-$current}
[[ -n $version ]] || { echo "usage: update-vendor.sh VERSION" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
cd "$tmp"
echo '{"name":"t","version":"1.0.0","private":true}' >package.json
npm install --no-audit --no-fund --ignore-scripts --loglevel=error "cloudflare@$version"
specs=$(node -e '
  const lock = require("./package-lock.json");
  for (const [path, p] of Object.entries(lock.packages))
    if (path) console.log(path.replace(/.*node_modules\//, "") + "@" + p.version);
' | sort -u)
mkdir packs
(cd packs && npm pack --silent $specs >/dev/null)
rm -f -- "$here"/vendor/*.tgz
mv packs/*.tgz "$here/vendor/"
echo "vendored $(ls "$here/vendor" | wc -l) tarballs, $(du -cb "$here"/vendor/*.tgz | tail -n1 | cut -f1) bytes"
