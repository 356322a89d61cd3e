#!/usr/bin/env bash
# API benchmark: requests per second of cflive-server's live-input API
# (create, get, list) under wrk, next to nginx serving static JSON files of
# the same sizes as the server's replies (the ceiling of what HTTP does on
# this machine), and the server's resident memory with 1000 idle live
# inputs (each with its pipeline), per input.  See bench/README.md.
#
# Usage: bench/api.sh [--help]
#
# Environment:
#   BUILD_DIR          meson build dir holding cflive-server and the plugin
#                      (default <repo>/build)
#   BENCH_SECONDS      wrk duration of each get / list run (default 10)
#   BENCH_CONNECTIONS  wrk connections (default 16; one wrk thread)
#   BENCH_INPUTS       idle live inputs made for the memory figure, through
#                      the create run (default 1000, the per-account limit)
#   BENCH_JSON         if set, also write the results as JSON to this file
#   NGINX              nginx binary (default: nginx from PATH)
#   BENCH_KEEP_LOGS    if set to 1, keep the temp dir (logs) after the run

set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-16}
BENCH_INPUTS=${BENCH_INPUTS:-1000}
BENCH_JSON=${BENCH_JSON:-}
BENCH_KEEP_LOGS=${BENCH_KEEP_LOGS:-0}
NGINX=${NGINX:-nginx}
SMALL_LIST=10

case ${1:-} in
  -h | --help)
    usage
    exit 0
    ;;
  "") ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac

for tool in wrk curl "$NGINX" python3 awk; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done
SERVER=
for f in "$BUILD_DIR/tools/server/cflive-server" "$BUILD_DIR/tools/cflive-server"; do
  [[ -x $f ]] && SERVER=$f && break
done
[[ -n $SERVER ]] || die "cflive-server not found in $BUILD_DIR (meson setup $BUILD_DIR && ninja -C $BUILD_DIR)"
((BENCH_INPUTS > BENCH_CONNECTIONS + SMALL_LIST)) || die "BENCH_INPUTS must be above $((BENCH_CONNECTIONS + SMALL_LIST))"

bench_setup_tmp cflive-bench-api
read -r API_PORT NGINX_PORT RTMP_PORT SRT_PORT < <(pick_ports 3 1)
ACCOUNT=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$TOKEN" >"$TMP_DIR/token"
chmod 600 "$TMP_DIR/token"
AUTH="Authorization: Bearer $TOKEN"
API=http://127.0.0.1:$API_PORT/client/v4/accounts/$ACCOUNT/stream
ANCHOR=http://127.0.0.1:$NGINX_PORT

# ---------------------------------------------------------------- servers

log "starting $SERVER (API on $API_PORT)"
export GST_PLUGIN_PATH=$BUILD_DIR${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}
start_bg "$TMP_DIR/server.log" "$SERVER" --data-dir "$TMP_DIR/data" \
  --api-port "$API_PORT" --rtmp-port "$RTMP_PORT" --srt-port "$SRT_PORT" \
  --public-host 127.0.0.1 --account-id "$ACCOUNT" --api-token-file "$TMP_DIR/token"
SERVER_PID=$STARTED_PID
wait_listening "$API_PORT" "" "$SERVER_PID" cflive-server "$TMP_DIR/server.log" 20 || die "$WAIT_ERROR"

mkdir -p "$TMP_DIR/nginx/logs" "$TMP_DIR/nginx/tmp" "$TMP_DIR/www"
{
  echo "daemon off;"
  echo "master_process on;"
  echo "worker_processes 1;"
  [[ $(id -u) == 0 ]] && echo "user root;"
  echo "error_log $TMP_DIR/nginx/logs/error.log warn;"
  echo "pid $TMP_DIR/nginx/nginx.pid;"
  echo "events { worker_connections 1024; }"
  echo "http {"
  echo "    access_log off;"
  echo "    default_type application/json;"
  echo "    keepalive_requests 1000000;"
  for t in client_body proxy fastcgi uwsgi scgi; do
    echo "    ${t}_temp_path $TMP_DIR/nginx/tmp/$t;"
  done
  echo "    server {"
  echo "        listen 127.0.0.1:$NGINX_PORT;"
  echo "        root $TMP_DIR/www;"
  echo "    }"
  echo "}"
} >"$TMP_DIR/nginx/nginx.conf"
"$NGINX" -t -q -e "$TMP_DIR/nginx/logs/error.log" -p "$TMP_DIR/nginx/" -c "$TMP_DIR/nginx/nginx.conf" ||
  die "nginx config test failed ($TMP_DIR/nginx/nginx.conf)"
start_bg "$TMP_DIR/nginx/stdout.log" "$NGINX" -e "$TMP_DIR/nginx/logs/error.log" \
  -p "$TMP_DIR/nginx/" -c "$TMP_DIR/nginx/nginx.conf"
NGINX_PID=$STARTED_PID
wait_listening "$NGINX_PORT" "" "$NGINX_PID" nginx "$TMP_DIR/nginx/stdout.log" 10 || die "$WAIT_ERROR"

# ---------------------------------------------------------------- helpers

# api METHOD PATH [BODY]: prints the reply body; dies unless 2xx
api() {
  local method=$1 path=$2 body=${3:-} code
  code=$(curl -s -o "$TMP_DIR/reply" -w '%{http_code}' -X "$method" -H "$AUTH" \
    -H 'Content-Type: application/json' ${body:+--data "$body"} "$API$path") ||
    die "$method $path: curl failed"
  [[ $code == 2* ]] || die "$method $path: HTTP $code: $(head -c 300 "$TMP_DIR/reply")"
  cat "$TMP_DIR/reply"
}

json_get() { # json_get EXPR < json: prints a field with python3
  python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# The Lua of a wrk run: a summary line at the end (done); with a body, it
# POSTs it.  With STOP_AFTER > 0 the thread stops after that many responses
# and writes "n seconds non2xx" (wall clock from /proc/uptime, from its
# start) to STOP_FILE, for the caller to end wrk at once: wrk itself would
# wait for the end of its -d duration.
write_lua() {
  local file=$1 method=$2 body=$3 stop_after=$4 stop_file=${5:-}
  {
    echo "wrk.method = \"$method\""
    [[ -n $body ]] && printf 'wrk.body = [[%s]]\n' "$body"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    echo "local stop_after = $stop_after"
    echo "local stop_file = \"$stop_file\""
    echo 'local n, bad, t0 = 0, 0, 0'
    echo 'local function uptime()'
    echo '  local f = io.open("/proc/uptime"); local t = f:read("*n"); f:close(); return t'
    echo 'end'
    echo 'function init(args) t0 = uptime() end'
    echo 'function response(status, headers, body)'
    echo '  n = n + 1'
    echo '  if status >= 300 then bad = bad + 1 end'
    echo '  if stop_after > 0 and n == stop_after then'
    echo '    local f = io.open(stop_file .. ".part", "w")'
    echo '    f:write(string.format("%d %.3f %d\n", n, uptime() - t0, bad)); f:close()'
    echo '    os.rename(stop_file .. ".part", stop_file)'
    echo '    wrk.thread:stop()'
    echo '  end'
    echo 'end'
    echo 'function done(summary, latency, requests)'
    echo '  local e = summary.errors'
    echo '  io.write(string.format("WRK %d %.6f %.3f %.3f %.3f %d\n",'
    echo '    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,'
    echo '    latency:percentile(99) / 1000, latency.mean / 1000,'
    echo '    e.connect + e.read + e.write + e.status + e.timeout))'
    echo 'end'
  } >"$file"
}

# run_wrk NAME URL METHOD BODY DURATION: sets WRK_RPS, WRK_P50, WRK_P99
# (ms), WRK_N, WRK_ERRORS (transport errors and non-2xx answers)
run_wrk() {
  local name=$1 url=$2 method=$3 body=$4 duration=$5 line
  write_lua "$TMP_DIR/$name.lua" "$method" "$body" 0
  wrk -t1 -c"$BENCH_CONNECTIONS" -d"${duration}s" --timeout 10s -H "$AUTH" \
    -s "$TMP_DIR/$name.lua" "$url" >"$TMP_DIR/$name.wrk" 2>&1 ||
    die "wrk $name failed: $(cat "$TMP_DIR/$name.wrk")"
  line=$(grep '^WRK ' "$TMP_DIR/$name.wrk") || die "wrk $name: no summary: $(cat "$TMP_DIR/$name.wrk")"
  read -r _ WRK_N secs WRK_P50 WRK_P99 _ WRK_ERRORS <<<"$line"
  WRK_RPS=$(awk -v n="$WRK_N" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
}

# run_wrk_count NAME URL METHOD BODY COUNT: as run_wrk, until COUNT
# responses arrived (at most 300 s); no latency figures
run_wrk_count() {
  local name=$1 url=$2 method=$3 body=$4 count=$5 stop=$TMP_DIR/$1.stop pid i n secs bad
  write_lua "$TMP_DIR/$name.lua" "$method" "$body" "$count" "$stop"
  wrk -t1 -c"$BENCH_CONNECTIONS" -d300s --timeout 10s -H "$AUTH" \
    -s "$TMP_DIR/$name.lua" "$url" >"$TMP_DIR/$name.wrk" 2>&1 &
  pid=$!
  for ((i = 0; i < 3000; i++)); do
    [[ -f $stop ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [[ -f $stop ]] || die "wrk $name: $count responses did not arrive: $(cat "$TMP_DIR/$name.wrk")"
  read -r n secs bad <"$stop"
  WRK_N=$n WRK_ERRORS=$bad WRK_P50=- WRK_P99=-
  WRK_RPS=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
}

n_inputs() {
  api GET "/live_inputs?include_counts=true" | json_get 'len(d["result"]["liveInputs"])'
}

mem_kb() { proc_status_kb "$SERVER_PID" "$1"; }
n_threads() { awk '$1 == "Threads:" { print $2 }' "/proc/$SERVER_PID/status"; }

ROWS=()
# row NAME REPLY_BYTES URL_ANCHOR: runs nothing; records the last cflive
# wrk figures and measures the anchor on URL_ANCHOR (empty: none)
row() {
  local name=$1 bytes=$2 anchor_url=$3 c_rps=$WRK_RPS c_p50=$WRK_P50 c_p99=$WRK_P99 c_err=$WRK_ERRORS
  local a_rps=- a_p50=- a_p99=- ratio=-
  if [[ -n $anchor_url ]]; then
    run_wrk "anchor-$name" "$anchor_url" GET "" "$BENCH_SECONDS"
    ((WRK_ERRORS == 0)) || die "nginx answered $WRK_ERRORS errors for $name"
    a_rps=$WRK_RPS a_p50=$WRK_P50 a_p99=$WRK_P99
    ratio=$(awk -v c="$c_rps" -v a="$a_rps" 'BEGIN { printf "%.3f", (a > 0 ? c / a : 0) }')
  fi
  ROWS+=("$name $bytes $c_rps $c_p50 $c_p99 $c_err $a_rps $a_p50 $a_p99 $ratio")
}

# ---------------------------------------------------------------- runs

sleep 1
RSS0=$(mem_kb VmRSS)
THREADS0=$(n_threads)
log "server idle with no input: RSS $((RSS0 / 1024)) MiB, $THREADS0 threads"

CREATE_BODY='{"meta":{"name":"bench"},"recording":{"mode":"off"}}'
api POST /live_inputs "$CREATE_BODY" >"$TMP_DIR/www/create.json"
CREATE_REPLY_BYTES=$(stat -c %s "$TMP_DIR/www/create.json")
for ((i = 1; i < SMALL_LIST; i++)); do api POST /live_inputs "$CREATE_BODY" >/dev/null; done
UID1=$(api GET "/live_inputs" | json_get 'd["result"]["liveInputs"][0]["uid"]')

api GET "/live_inputs/$UID1" >"$TMP_DIR/www/get.json"
GET_BYTES=$(stat -c %s "$TMP_DIR/www/get.json")
api GET /live_inputs >"$TMP_DIR/www/list-small.json"
LIST_SMALL_BYTES=$(stat -c %s "$TMP_DIR/www/list-small.json")
chmod -R a+rX "$TMP_DIR/www"

log "get: $BENCH_SECONDS s"
run_wrk get "$API/live_inputs/$UID1" GET "" "$BENCH_SECONDS"
row get "$GET_BYTES" "$ANCHOR/get.json"
log "list ($SMALL_LIST inputs): $BENCH_SECONDS s"
run_wrk list-small "$API/live_inputs" GET "" "$BENCH_SECONDS"
row "list_$SMALL_LIST" "$LIST_SMALL_BYTES" "$ANCHOR/list-small.json"

# create: wrk POSTs until the inputs number BENCH_INPUTS (in-flight requests
# of the stopping thread may add up to connections-1 more: it stops early,
# curl makes the rest)
have=$(n_inputs)
want=$((BENCH_INPUTS - have - BENCH_CONNECTIONS + 1))
log "create: $want live inputs"
run_wrk_count create "$API/live_inputs" POST "$CREATE_BODY" "$want"
((WRK_ERRORS == 0)) || die "$WRK_ERRORS creates were refused"
# requests of the stopped wrk may still be in the server: wait for the count
# to settle
have=$(n_inputs)
for ((i = 0; i < 50; i++)); do
  sleep 0.2
  now_have=$(n_inputs)
  ((now_have == have)) && break
  have=$now_have
done
while ((have < BENCH_INPUTS)); do
  api POST /live_inputs "$CREATE_BODY" >/dev/null
  have=$((have + 1))
done
have=$(n_inputs)
((have == BENCH_INPUTS)) || die "$have live inputs instead of $BENCH_INPUTS"
# nginx cannot POST to a static file: its row is a GET of a reply as big
row create "$CREATE_REPLY_BYTES" "$ANCHOR/create.json"

log "$BENCH_INPUTS idle live inputs: settling 5 s"
sleep 5
RSS1=$(mem_kb VmRSS)
HWM1=$(mem_kb VmHWM)
PSS1=$(sum_pss_kb "$SERVER_PID")
THREADS1=$(n_threads)

api GET /live_inputs >"$TMP_DIR/www/list-full.json"
LIST_FULL_BYTES=$(stat -c %s "$TMP_DIR/www/list-full.json")
chmod a+r "$TMP_DIR/www/list-full.json"
log "list ($BENCH_INPUTS inputs): $BENCH_SECONDS s"
run_wrk list-full "$API/live_inputs" GET "" "$BENCH_SECONDS"
row "list_$BENCH_INPUTS" "$LIST_FULL_BYTES" "$ANCHOR/list-full.json"
RSS2=$(mem_kb VmRSS)
kill -0 "$SERVER_PID" 2>/dev/null || die "cflive-server died during the run"

# ---------------------------------------------------------------- report

CORES=$(nproc)
echo
echo "cflive-server API under wrk (1 thread, $BENCH_CONNECTIONS connections, keep-alive), $CORES cores;"
echo "anchor: nginx (1 worker) serving a static file of the same size as the reply"
printf '%s\n' "${ROWS[@]}" | awk '
  BEGIN {
    printf "%-10s %8s %10s %8s %8s %7s %10s %8s %8s %9s\n", "request", "reply_B",
      "req/s", "p50_ms", "p99_ms", "errors", "nginx_r/s", "p50_ms", "p99_ms", "ratio"
  }
  { printf "%-10s %8d %10d %8s %8s %7d %10s %8s %8s %9s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
echo "create: POST /live_inputs until $BENCH_INPUTS inputs exist (each with its pipeline);"
echo " its anchor is nginx GETting a file as big as the create reply (nginx has no create)"
awk -v r0="$RSS0" -v r1="$RSS1" -v r2="$RSS2" -v h="$HWM1" -v p="$PSS1" -v n="$BENCH_INPUTS" \
  -v t0="$THREADS0" -v t1="$THREADS1" 'BEGIN {
  printf "\nmemory of cflive-server (VmRSS):\n"
  printf " %-34s %9.1f MiB, %d threads\n", "no live input", r0 / 1024, t0
  printf " %-34s %9.1f MiB, %d threads (peak %.1f MiB, Pss %.1f MiB)\n", n " idle live inputs", r1 / 1024, t1, h / 1024, p / 1024
  printf " %-34s %9.1f KiB per input\n", "cost of an idle live input", (r1 - r0) / n
  printf " %-34s %9.1f MiB\n", "after the list runs", r2 / 1024
}'

if [[ -n $BENCH_JSON ]]; then
  {
    printf '{\n  "benchmark": "api",\n  "cores": %s,\n  "connections": %s,\n  "seconds": %s,\n' "$CORES" "$BENCH_CONNECTIONS" "$BENCH_SECONDS"
    printf '  "anchor": "nginx static file",\n  "rows": [\n'
    printf '%s\n' "${ROWS[@]}" | awk '{
      rows[NR] = sprintf("    {\"request\": \"%s\", \"reply_bytes\": %d, \"rps\": %d, \"p50_ms\": %s, \"p99_ms\": %s, \"errors\": %d, \"anchor_rps\": %s, \"ratio\": %s}",
        $1, $2, $3, ($4 == "-" ? "null" : $4), ($5 == "-" ? "null" : $5), $6,
        ($7 == "-" ? "null" : $7), ($10 == "-" ? "null" : $10)) }
      END { for (i = 1; i <= NR; i++) printf "%s%s\n", rows[i], (i < NR ? "," : "") }'
    printf '  ],\n  "memory": {"inputs": %s, "rss_kib_empty": %s, "rss_kib_inputs": %s, "pss_kib_inputs": %s, "kib_per_input": %s, "threads_empty": %s, "threads_inputs": %s}\n}\n' \
      "$BENCH_INPUTS" "$RSS0" "$RSS1" "$PSS1" "$(awk -v a="$RSS0" -v b="$RSS1" -v n="$BENCH_INPUTS" 'BEGIN { printf "%.1f", (b - a) / n }')" "$THREADS0" "$THREADS1"
  } >"$BENCH_JSON"
  log "JSON written to $BENCH_JSON"
fi
