#!/usr/bin/env bash
# Runs sdk-check.js, Cloudflare's official TypeScript SDK, against a
# cflive-server started here on 127.0.0.1 with a data directory of its own.
#
#   tests/sdk/run.sh PATH/TO/cflive-server [WORK_DIR]
#
# The SDK and its dependencies are installed from the tarballs in vendor/
# with `npm install --offline` (no network) into WORK_DIR/node_modules
# (default: a temporary directory), once per set of tarballs. Needs node and
# npm, python3 (free ports) and curl.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
server=${1:?usage: run.sh PATH/TO/cflive-server [WORK_DIR]}
server=$(cd "$(dirname "$server")" && pwd)/$(basename "$server")

for tool in node npm python3 curl; do
  command -v "$tool" >/dev/null || {
    echo "$tool is missing (scripts/install-deps.sh installs it)" >&2
    exit 1
  }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cflive-sdk.XXXXXX")
work=${2:-$tmp/work}
server_pid=
cleanup() {
  local rc=$?
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 && -f $tmp/server.log ]]; then
    echo "---- server log ----"
    tail -n 60 "$tmp/server.log"
  fi
  rm -rf -- "$tmp"
  return "$rc"
}
trap cleanup EXIT

# --- the SDK, offline, from vendor/ ---
mkdir -p "$work"
stamp=$(cd "$here/vendor" && sha256sum -- *.tgz | sha256sum | cut -c1-16)
if [[ ! -f $work/node_modules/.cflive-vendor-$stamp ]]; then
  rm -rf -- "$work/node_modules" "$work/package.json" "$work/package-lock.json"
  echo '{"name":"cflive-sdk-check","version":"1.0.0","private":true}' >"$work/package.json"
  # an empty cache and a registry that does not exist: nothing can be fetched
  (cd "$work" && npm_config_cache="$tmp/npm-cache" \
    npm_config_registry=http://127.0.0.1:9/ npm install --offline \
    --no-audit --no-fund --no-save --ignore-scripts --loglevel=error \
    "$here"/vendor/*.tgz)
  touch "$work/node_modules/.cflive-vendor-$stamp"
fi
echo "SDK: cloudflare $(node -p "require('$work/node_modules/cloudflare/package.json').version"), node $(node --version)"

# --- the server ---
read -r api_port rtmp_port srt_port < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
ports = [s.getsockname()[1] for s in socks]
while True:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    socks.append(u)
    if u.getsockname()[1] not in ports:
        ports.append(u.getsockname()[1])
        break
print(*ports)
EOF
)
account=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
email=sdk-check@example.com
printf '%s\n' "$token" >"$tmp/token"
printf '%s\n' "$key" >"$tmp/key"
chmod 600 "$tmp/token" "$tmp/key"

"$server" --data-dir "$tmp/data" --api-port "$api_port" \
  --rtmp-port "$rtmp_port" --srt-port "$srt_port" --public-host 127.0.0.1 \
  --account-id "$account" --api-token-file "$tmp/token" \
  --api-key-file "$tmp/key" --auth-email "$email" >"$tmp/server.log" 2>&1 &
server_pid=$!

base=http://127.0.0.1:$api_port/client/v4
for _ in $(seq 100); do
  kill -0 "$server_pid" 2>/dev/null || {
    echo "cflive-server exited at start" >&2
    exit 1
  }
  curl -s -o /dev/null "$base/accounts/$account/stream/live_inputs" && break
  sleep 0.1
done

cd "$work"
CFLIVE_API_BASE=$base CFLIVE_ACCOUNT=$account CFLIVE_TOKEN=$token \
  CFLIVE_EMAIL=$email CFLIVE_KEY=$key NODE_PATH="$work/node_modules" \
  node "$here/sdk-check.js"
