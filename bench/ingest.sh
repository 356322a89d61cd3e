#!/usr/bin/env bash
# Ingest benchmark: CPU and memory of one 720p30 4.5 Mbps ingest into
# `cfliveinputsrc ! fakesink`, over RTMP and over SRT (MPEG-TS, encrypted),
# and over RTMP into `cfliveinputsrc ! cfgopvalidator ! fakesink` (the
# validator's cost: with - without), measured side by side with nginx-rtmp
# receiving the same stream at the same time.  See bench/README.md.
#
# Usage: bench/ingest.sh [--only nginx|cflive|validator|srt] [--help]
#   --only cflive     the element over RTMP only; --only srt: over SRT only
#   --only validator  the element over RTMP, without and with cfgopvalidator
#
# Environment:
#   BUILD_DIR          meson build dir holding the plugin (default <repo>/build)
#   BENCH_SECONDS      measurement window in seconds (default 30)
#   BENCH_WARMUP       warm-up before the window, seconds (default 3)
#   BENCH_JSON         if set, also write the results as JSON to this file
#   BENCH_CACHE_DIR    where the generated input is kept between runs
#                      (default $BUILD_DIR/bench-cache if $BUILD_DIR exists,
#                      otherwise the input is made in the temp dir each run)
#   NGINX              nginx binary (default: nginx from PATH)
#   NGINX_RTMP_MODULE  path of the rtmp module
#                      (default /usr/lib/nginx/modules/ngx_rtmp_module.so)
#   BENCH_KEEP_LOGS    if set to 1, keep the temp dir (logs) after the run

set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)

BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
BENCH_SECONDS=${BENCH_SECONDS:-30}
BENCH_WARMUP=${BENCH_WARMUP:-3}
BENCH_JSON=${BENCH_JSON:-}
BENCH_KEEP_LOGS=${BENCH_KEEP_LOGS:-0}
NGINX=${NGINX:-nginx}
NGINX_RTMP_MODULE=${NGINX_RTMP_MODULE:-/usr/lib/nginx/modules/ngx_rtmp_module.so}

STREAM_KEY=benchkey
# SRT: stream id, passphrase (so that the AES path is measured; ffmpeg's
# pbkeylen default, 16 bytes, makes it AES-128) and receive latency.
SRT_STREAM_ID=benchkey
SRT_PASSPHRASE=cflive-bench-passphrase
SRT_LATENCY_MS=120
# Input: 1280x720 30 fps, H.264 4500k CBR-ish, 4 s GOP, AAC 128k 48 kHz stereo.
INPUT_SECONDS=20
VIDEO_ARGS=(-c:v libx264 -preset veryfast -pix_fmt yuv420p
  -b:v 4500k -maxrate 4500k -bufsize 9000k
  -g 120 -keyint_min 120 -sc_threshold 0)
AUDIO_ARGS=(-c:a aac -b:a 128k -ar 48000 -ac 2)

ONLY=all

usage() {
  sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

die() {
  echo "ingest.sh: error: $*" >&2
  exit 1
}

log() {
  echo "ingest.sh: $*" >&2
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --only)
      [[ $# -ge 2 ]] || die "--only needs an argument (nginx|cflive|validator|srt)"
      ONLY=$2
      shift 2
      ;;
    --only=*)
      ONLY=${1#--only=}
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      die "unknown argument: $1 (see --help)"
      ;;
  esac
done

case $ONLY in
  all | nginx | cflive | validator | srt) ;;
  *) die "--only takes nginx, cflive, validator or srt, not '$ONLY'" ;;
esac
[[ $BENCH_SECONDS =~ ^[0-9]+$ && $BENCH_SECONDS -gt 0 ]] ||
  die "BENCH_SECONDS must be a positive integer"
[[ $BENCH_WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be an integer"

# The validator row is read against the plain RTMP row: --only validator
# runs both.
want() {
  [[ $ONLY == all || $ONLY == "$1" ]] || [[ $1 == cflive && $ONLY == validator ]]
}

# ---------------------------------------------------------------- checks

for tool in ffmpeg awk stat; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
if want nginx; then
  command -v "$NGINX" >/dev/null || die "nginx not found ($NGINX)"
  [[ -f $NGINX_RTMP_MODULE ]] ||
    die "nginx rtmp module not found at $NGINX_RTMP_MODULE (apt-get install libnginx-mod-rtmp)"
fi
if want cflive || want srt; then
  command -v gst-launch-1.0 >/dev/null || die "gst-launch-1.0 not found"
  command -v gst-inspect-1.0 >/dev/null || die "gst-inspect-1.0 not found"
  [[ -d $BUILD_DIR ]] || die "build dir $BUILD_DIR not found (meson setup build && ninja -C build)"
  inspect=$(GST_PLUGIN_PATH=$BUILD_DIR gst-inspect-1.0 cfliveinputsrc 2>/dev/null) ||
    die "element cfliveinputsrc not found with GST_PLUGIN_PATH=$BUILD_DIR (build the plugin first, or use --only nginx)"
  if want validator; then
    GST_PLUGIN_PATH=$BUILD_DIR gst-inspect-1.0 cfgopvalidator >/dev/null 2>&1 ||
      die "element cfgopvalidator not found with GST_PLUGIN_PATH=$BUILD_DIR (rebuild: ninja -C $BUILD_DIR)"
  fi
  if want srt; then
    grep -q 'srt-url' <<<"$inspect" ||
      die "this cfliveinputsrc has no srt-url property (rebuild: ninja -C $BUILD_DIR)"
    protocols=$(ffmpeg -hide_banner -protocols 2>/dev/null || true)
    grep -qx ' *srt' <<<"$protocols" ||
      die "ffmpeg has no srt protocol (needed to publish over SRT)"
  fi
  unset inspect protocols
fi

CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- cleanup

TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cflive-bench.XXXXXX")
# PIDs started with setsid: each is the leader of its own process group.
PGIDS=()
CLEANED=0

cleanup() {
  local rc=$?
  [[ $CLEANED == 1 ]] && return
  CLEANED=1
  set +e
  local pg tries i
  # Publishers were started last: stop them first, then the servers.
  for ((i = ${#PGIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM -- "-${PGIDS[i]}" 2>/dev/null
    sleep 0.1
  done
  for ((tries = 0; tries < 30; tries++)); do
    local alive=0
    for pg in "${PGIDS[@]}"; do
      kill -0 -- "-$pg" 2>/dev/null && alive=1
    done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for pg in "${PGIDS[@]}"; do
    kill -KILL -- "-$pg" 2>/dev/null
  done
  wait 2>/dev/null
  if [[ $BENCH_KEEP_LOGS == 1 ]]; then
    log "logs kept in $TMP_DIR"
  else
    rm -rf -- "$TMP_DIR"
  fi
  return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Start "$@" in the background in a new session (own process group), with
# stdout/stderr to the given log.  Sets STARTED_PID.
start_bg() {
  local logfile=$1
  shift
  setsid "$@" </dev/null >"$logfile" 2>&1 &
  STARTED_PID=$!
  PGIDS+=("$STARTED_PID")
}

show_log() {
  local name=$1 file=$2
  echo "---- last lines of $name log ($file) ----" >&2
  tail -n 40 "$file" >&2 || true
  echo "----" >&2
}

# ---------------------------------------------------------------- input

input_tag="testsrc2-1280x720p30-x264vf-4500k-g120-aac128k-${INPUT_SECONDS}s"
if [[ -n ${BENCH_CACHE_DIR:-} ]]; then
  CACHE_DIR=$BENCH_CACHE_DIR
elif [[ -d $BUILD_DIR ]]; then
  CACHE_DIR=$BUILD_DIR/bench-cache
else
  CACHE_DIR=$TMP_DIR
fi
mkdir -p "$CACHE_DIR"
INPUT=$CACHE_DIR/$input_tag.flv

if [[ ! -s $INPUT ]]; then
  log "generating input ($INPUT_SECONDS s of 720p30) into $INPUT"
  partial="$INPUT.partial.$$"
  ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=1280x720:rate=30" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" \
    -t "$INPUT_SECONDS" "${VIDEO_ARGS[@]}" "${AUDIO_ARGS[@]}" \
    -f flv "$partial" || {
    rm -f -- "$partial"
    die "input generation failed"
  }
  mv -f -- "$partial" "$INPUT"
fi

# ---------------------------------------------------------------- ports

# Three distinct free TCP ports (RTMP: nginx, cfliveinputsrc, cfliveinputsrc
# with the validator) and one free UDP port (SRT) on 127.0.0.1, "tcp tcp tcp
# udp".  The kernel picks them; the UDP port is bind-tested as SOCK_DGRAM and
# never has the number of a TCP port, so that every port of the run is
# distinct.
pick_ports() {
  if command -v python3 >/dev/null 2>&1; then
    python3 - <<'EOF'
import socket
socks = []
for _ in range(3):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
tcp = [s.getsockname()[1] for s in socks]
udp = None
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    socks.append(u)
    if u.getsockname()[1] not in tcp:
        udp = u.getsockname()[1]
        break
if udp is None:
    raise SystemExit("no free UDP port")
print(tcp[0], tcp[1], tcp[2], udp)
for s in socks:
    s.close()
EOF
  else
    # Fallback: random ports that nothing is listening on / bound to.
    local ports=() p
    while [[ ${#ports[@]} -lt 4 ]]; do
      p=$((20000 + RANDOM % 40000))
      [[ " ${ports[*]} " == *" $p "* ]] && continue
      if [[ ${#ports[@]} -lt 3 ]]; then
        is_listening "$p" || ports+=("$p")
      else
        is_listening "$p" || is_udp_bound "$p" || ports+=("$p")
      fi
    done
    echo "${ports[*]}"
  fi
}

# True if some socket is in LISTEN state on TCP port $1 (any address).
# Reads /proc/net/tcp{,6} instead of connecting, so that the RTMP servers
# never see a stray connection.
is_listening() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v port="$hex" '
    FNR > 1 { split($2, a, ":"); if (a[2] == port && $4 == "0A") found = 1 }
    END { exit found ? 0 : 1 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# True if some UDP socket is bound to port $1 (any address), from
# /proc/net/udp{,6}: how the SRT listener is seen without sending it a
# packet (a UDP socket has no LISTEN state; bound is ready).
is_udp_bound() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v port="$hex" '
    FNR > 1 { split($2, a, ":"); if (a[2] == port) found = 1 }
    END { exit found ? 0 : 1 }' /proc/net/udp /proc/net/udp6 2>/dev/null
}

# Kernel receive drops (last column of /proc/net/udp{,6}) of the UDP
# socket(s) bound to port $1: datagrams lost before libsrt read them.
udp_drops() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v port="$hex" '
    FNR > 1 { split($2, a, ":"); if (a[2] == port) d += $NF }
    END { print d + 0 }' /proc/net/udp /proc/net/udp6 2>/dev/null || echo 0
}

# wait_listening PORT PROTO PID NAME LOG TIMEOUT_S   (PROTO tcp or udp)
wait_listening() {
  local port=$1 proto=$2 pid=$3 name=$4 logfile=$5 timeout=$6 i
  for ((i = 0; i < timeout * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log "$name" "$logfile"
      die "$name exited before listening on $proto port $port"
    fi
    if [[ $proto == udp ]]; then
      is_udp_bound "$port" && return 0
    else
      is_listening "$port" && return 0
    fi
    sleep 0.1
  done
  show_log "$name" "$logfile"
  die "$name did not listen on 127.0.0.1:$port ($proto) within ${timeout}s"
}

read -r NGINX_PORT CFLIVE_PORT VALIDATOR_PORT SRT_PORT < <(pick_ports)
[[ -n ${SRT_PORT:-} ]] || die "could not pick free ports"

# ---------------------------------------------------------------- /proc helpers

# utime+stime of one pid, in clock ticks.
proc_ticks() {
  local stat rest
  stat=$(<"/proc/$1/stat") || return 1
  rest=${stat##*) }
  local -a f
  read -ra f <<<"$rest"
  # f[0] is field 3 (state); utime is field 14, stime field 15.
  echo $((f[11] + f[12]))
}

# Sum of the on-CPU time (ns, /proc/<pid>/task/<tid>/schedstat) of all the
# live threads of the given pids, followed by the thread ids, comma-joined:
# "ns tid,tid,...".  Finer than clock ticks, but blind to threads that have
# exited, so the caller checks that the thread set only grew.
threads_ns() {
  local total=0 tids="" pid f ns tid
  for pid in "$@"; do
    for f in "/proc/$pid"/task/*/schedstat; do
      { read -r ns _ <"$f"; } 2>/dev/null || continue
      total=$((total + ns))
      tid=${f%/schedstat}
      tids+=${tid##*/},
    done
  done
  echo "$total ${tids%,}"
}

# Sum of the Pss (kB) of /proc/<pid>/smaps_rollup of the pids: shared pages
# split between the processes mapping them.  -1 if unavailable.
sum_pss_kb() {
  local total=0 p v
  for p in "$@"; do
    v=$(awk '$1 == "Pss:" { print $2; found = 1 } END { if (!found) print -1 }' \
      "/proc/$p/smaps_rollup" 2>/dev/null || echo -1)
    [[ $v -ge 0 ]] || {
      echo -1
      return 0
    }
    total=$((total + v))
  done
  echo "$total"
}

# Value in kB of a /proc/<pid>/status field (VmRSS, VmHWM).
proc_status_kb() {
  awk -v k="$2:" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status"
}

# Direct children of a pid.
proc_children() {
  local parent=$1 d stat rest
  local -a f
  for d in /proc/[0-9]*; do
    { stat=$(<"$d/stat"); } 2>/dev/null || continue
    rest=${stat##*) }
    read -ra f <<<"$rest"
    [[ ${f[1]} == "$parent" ]] && echo "${d#/proc/}"
  done
  return 0
}

sum_ticks() {
  local total=0 p t
  for p in "$@"; do
    t=$(proc_ticks "$p") || return 1
    total=$((total + t))
  done
  echo "$total"
}

sum_status_kb() {
  local field=$1 total=0 p
  shift
  for p in "$@"; do
    total=$((total + $(proc_status_kb "$p" "$field")))
  done
  echo "$total"
}

now() { echo "$EPOCHREALTIME"; }

# Last total_size of an ffmpeg -progress file and the file's mtime (the time
# that block was written): "bytes mtime".
progress_snapshot() {
  local file=$1 bytes
  bytes=$(awk -F= '$1 == "total_size" { v = $2 } END { print v + 0 }' "$file" 2>/dev/null || echo 0)
  echo "$bytes $(stat -c '%.9Y' "$file" 2>/dev/null || echo 0)"
}

# ---------------------------------------------------------------- servers

TARGETS=()
declare -A PID PORT PROTO LABEL URL LOGF FORMAT

if want nginx; then
  TARGETS+=(nginx)
  LABEL[nginx]=nginx-rtmp
  PORT[nginx]=$NGINX_PORT
  PROTO[nginx]=tcp
  ndir=$TMP_DIR/nginx
  mkdir -p "$ndir/logs"
  # master_process on (the default, as deployed) with one worker: the
  # measured cost is master + worker; the master is idle while streaming.
  cat >"$ndir/nginx.conf" <<EOF
load_module $NGINX_RTMP_MODULE;
daemon off;
master_process on;
worker_processes 1;
error_log $ndir/logs/error.log warn;
pid $ndir/nginx.pid;
events {
    worker_connections 64;
}
rtmp {
    server {
        listen 127.0.0.1:$NGINX_PORT;
        chunk_size 4096;
        application live {
            live on;
            record off;
        }
    }
}
EOF
  "$NGINX" -t -q -e "$ndir/logs/error.log" -p "$ndir/" -c "$ndir/nginx.conf" ||
    die "nginx config test failed ($ndir/nginx.conf)"
  start_bg "$ndir/stdout.log" "$NGINX" -e "$ndir/logs/error.log" -p "$ndir/" -c "$ndir/nginx.conf"
  PID[nginx]=$STARTED_PID
  URL[nginx]=rtmp://127.0.0.1:$NGINX_PORT/live/$STREAM_KEY
  FORMAT[nginx]=flv
  LOGF[nginx]=$ndir/logs/error.log
fi

if want cflive; then
  TARGETS+=(cflive)
  LABEL[cflive]="cfliveinputsrc (rtmp)"
  PORT[cflive]=$CFLIVE_PORT
  PROTO[cflive]=tcp
  start_bg "$TMP_DIR/gst.log" env GST_PLUGIN_PATH="$BUILD_DIR" gst-launch-1.0 \
    cfliveinputsrc "rtmp-url=rtmp://127.0.0.1:$CFLIVE_PORT/live" "stream-key=$STREAM_KEY" \
    ! fakesink
  PID[cflive]=$STARTED_PID
  URL[cflive]=rtmp://127.0.0.1:$CFLIVE_PORT/live/$STREAM_KEY
  FORMAT[cflive]=flv
  LOGF[cflive]=$TMP_DIR/gst.log
fi

# The same RTMP ingest with the validator behind the element, in its own
# gst-launch-1.0 with its own publisher of the same input: its cpu% minus the
# plain RTMP row's is the validator's share.
if want validator; then
  TARGETS+=(validator)
  LABEL[validator]="cfliveinputsrc+validator (rtmp)"
  PORT[validator]=$VALIDATOR_PORT
  PROTO[validator]=tcp
  start_bg "$TMP_DIR/gst-validator.log" env GST_PLUGIN_PATH="$BUILD_DIR" gst-launch-1.0 \
    cfliveinputsrc "rtmp-url=rtmp://127.0.0.1:$VALIDATOR_PORT/live" "stream-key=$STREAM_KEY" \
    ! cfgopvalidator ! fakesink
  PID[validator]=$STARTED_PID
  URL[validator]=rtmp://127.0.0.1:$VALIDATOR_PORT/live/$STREAM_KEY
  FORMAT[validator]=flv
  LOGF[validator]=$TMP_DIR/gst-validator.log
fi

# The same element in its own gst-launch-1.0, SRT only (no stream-key: no
# RTMP port), encrypted; the publisher sends the input as MPEG-TS.
if want srt; then
  TARGETS+=(srt)
  LABEL[srt]="cfliveinputsrc (srt)"
  PORT[srt]=$SRT_PORT
  PROTO[srt]=udp
  start_bg "$TMP_DIR/gst-srt.log" env GST_PLUGIN_PATH="$BUILD_DIR" gst-launch-1.0 \
    cfliveinputsrc "srt-url=srt://127.0.0.1:$SRT_PORT" "srt-stream-id=$SRT_STREAM_ID" \
    "srt-passphrase=$SRT_PASSPHRASE" "srt-latency=$SRT_LATENCY_MS" \
    ! fakesink
  PID[srt]=$STARTED_PID
  URL[srt]="srt://127.0.0.1:$SRT_PORT?streamid=$SRT_STREAM_ID&passphrase=$SRT_PASSPHRASE&pkt_size=1316"
  FORMAT[srt]=mpegts
  LOGF[srt]=$TMP_DIR/gst-srt.log
fi

for t in "${TARGETS[@]}"; do
  wait_listening "${PORT[$t]}" "${PROTO[$t]}" "${PID[$t]}" "${LABEL[$t]}" "${LOGF[$t]}" 20
  log "${LABEL[$t]} listening on 127.0.0.1:${PORT[$t]}/${PROTO[$t]} (pid ${PID[$t]})"
done

# ---------------------------------------------------------------- publishers

declare -A PUB_PID PUB_PROGRESS PUB_LOG
for t in "${TARGETS[@]}"; do
  PUB_PROGRESS[$t]=$TMP_DIR/pub-$t.progress
  PUB_LOG[$t]=$TMP_DIR/pub-$t.log
  start_bg "${PUB_LOG[$t]}" ffmpeg -nostdin -hide_banner -loglevel warning \
    -progress "${PUB_PROGRESS[$t]}" -stats_period 0.25 \
    -re -stream_loop -1 -i "$INPUT" -c copy -f "${FORMAT[$t]}" "${URL[$t]}"
  PUB_PID[$t]=$STARTED_PID
done

check_alive() {
  local t
  for t in "${TARGETS[@]}"; do
    if ! kill -0 "${PID[$t]}" 2>/dev/null; then
      show_log "${LABEL[$t]}" "${LOGF[$t]}"
      show_log "publisher to ${LABEL[$t]}" "${PUB_LOG[$t]}"
      die "${LABEL[$t]} exited during the benchmark"
    fi
    if ! kill -0 "${PUB_PID[$t]}" 2>/dev/null; then
      show_log "publisher to ${LABEL[$t]}" "${PUB_LOG[$t]}"
      show_log "${LABEL[$t]}" "${LOGF[$t]}"
      die "the publisher to ${LABEL[$t]} exited (server refused or dropped the stream?)"
    fi
  done
}

log "warm-up ${BENCH_WARMUP}s"
for ((i = 0; i < BENCH_WARMUP * 4; i++)); do
  sleep 0.25
  check_alive
done
check_alive
for t in "${TARGETS[@]}"; do
  read -r b _ < <(progress_snapshot "${PUB_PROGRESS[$t]}")
  if [[ $b -le 0 ]]; then
    show_log "publisher to ${LABEL[$t]}" "${PUB_LOG[$t]}"
    show_log "${LABEL[$t]}" "${LOGF[$t]}"
    die "no data sent to ${LABEL[$t]} after the warm-up"
  fi
done

# Processes measured for each target.  nginx: master + its worker(s).
declare -A MPIDS
for t in "${TARGETS[@]}"; do
  MPIDS[$t]=${PID[$t]}
  if [[ $t == nginx ]]; then
    workers=$(proc_children "${PID[$t]}" | tr '\n' ' ')
    [[ -n ${workers// /} ]] || die "no nginx worker process found"
    MPIDS[$t]="${PID[$t]} $workers"
  fi
  MPIDS[pub-$t]=${PUB_PID[$t]}
done

ROWS=()
for t in "${TARGETS[@]}"; do ROWS+=("$t"); done
for t in "${TARGETS[@]}"; do ROWS+=("pub-$t"); done

declare -A T0 T1 N0 N1 TID0 TID1 B0 B1 W0 W1
snapshot_cpu() { # snapshot_cpu 0|1
  local r ticks ns tids
  for r in "${ROWS[@]}"; do
    # shellcheck disable=SC2086 # word splitting of the pid list is intended
    ticks=$(sum_ticks ${MPIDS[$r]}) || die "a process of $r vanished during the window"
    # shellcheck disable=SC2086
    read -r ns tids < <(threads_ns ${MPIDS[$r]})
    if [[ $1 == 0 ]]; then
      T0[$r]=$ticks N0[$r]=$ns TID0[$r]=$tids
    else
      T1[$r]=$ticks N1[$r]=$ns TID1[$r]=$tids
    fi
  done
}

snapshot_cpu 0
for t in "${TARGETS[@]}"; do
  read -r "B0[$t]" "W0[$t]" < <(progress_snapshot "${PUB_PROGRESS[$t]}")
done
want srt && UDP_DROPS0=$(udp_drops "$SRT_PORT")
wall0=$(now)

log "measuring for ${BENCH_SECONDS}s"
end=$((${wall0%.*} + BENCH_SECONDS))
while :; do
  now_s=$(now)
  left=$((end - ${now_s%.*}))
  ((left > 0)) || break
  sleep 1
  check_alive
done
# Sleep the sub-second remainder so the window is BENCH_SECONDS long.
awk -v a="$wall0" -v b="$(now)" -v n="$BENCH_SECONDS" \
  'BEGIN { d = a + n - b; if (d > 0) printf "%.3f\n", d; else print 0 }' |
  { read -r rem; sleep "$rem"; }

snapshot_cpu 1
wall1=$(now)
declare -A RSS HWM PSS
for r in "${ROWS[@]}"; do
  # shellcheck disable=SC2086
  RSS[$r]=$(sum_status_kb VmRSS ${MPIDS[$r]})
  # shellcheck disable=SC2086
  HWM[$r]=$(sum_status_kb VmHWM ${MPIDS[$r]})
  # shellcheck disable=SC2086
  PSS[$r]=$(sum_pss_kb ${MPIDS[$r]})
done
for t in "${TARGETS[@]}"; do
  read -r "B1[$t]" "W1[$t]" < <(progress_snapshot "${PUB_PROGRESS[$t]}")
done
want srt && UDP_DROPS1=$(udp_drops "$SRT_PORT")
check_alive

# ---------------------------------------------------------------- report

# True if every thread id of the comma list $1 is in the comma list $2.
tids_kept() {
  local tid
  local -a before
  IFS=, read -ra before <<<"$1"
  for tid in "${before[@]}"; do
    [[ ,$2, == *,"$tid",* ]] || return 1
  done
}

# One line per row, tab-separated (labels have spaces):
# key label cpu cpu_ticks rss_mib hwm_mib in_mbps cpu_source pss_mib
DATA=$TMP_DIR/results.txt
: >"$DATA"
for r in "${ROWS[@]}"; do
  if [[ $r == pub-* ]]; then
    t=${r#pub-}
    label="ffmpeg->${LABEL[$t]}"
    mbps=-
  else
    t=$r
    label=${LABEL[$t]}
    mbps=$(awk -v b0="${B0[$t]}" -v b1="${B1[$t]}" -v w0="${W0[$t]}" -v w1="${W1[$t]}" \
      'BEGIN { d = w1 - w0; if (d > 0) printf "%.2f", (b1 - b0) * 8 / d / 1e6; else print "nan" }')
  fi
  # Per-thread ns when available and no thread that was there at the start
  # has gone (threads born in the window are counted whole); else ticks.
  dns=-1
  if [[ ${N1[$r]} -gt 0 ]] && tids_kept "${TID0[$r]}" "${TID1[$r]}"; then
    dns=$((N1[$r] - N0[$r]))
  fi
  awk -v key="$r" -v label="$label" -v dt="$((T1[$r] - T0[$r]))" -v hz="$CLK_TCK" -v dns="$dns" \
    -v w0="$wall0" -v w1="$wall1" -v rss="${RSS[$r]}" -v hwm="${HWM[$r]}" -v mbps="$mbps" \
    -v pss="${PSS[$r]}" '
    BEGIN {
      w = w1 - w0
      tick = dt / hz / w * 100
      if (dns >= 0) { cpu = dns / 1e9 / w * 100; src = "schedstat" } else { cpu = tick; src = "ticks" }
      pssm = pss >= 0 ? sprintf("%.1f", pss / 1024) : "-"
      printf "%s\t%s\t%.3f\t%.2f\t%.1f\t%.1f\t%s\t%s\t%s\n", key, label, cpu, tick, rss / 1024, hwm / 1024, mbps, src, pssm
    }' >>"$DATA"
done

WINDOW=$(awk -v a="$wall0" -v b="$wall1" 'BEGIN { printf "%.2f", b - a }')
TICK_RES=$(awk -v w="$WINDOW" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", 100 / hz / w }')

echo
echo "ingest benchmark: 1280x720 30fps H.264 4500k (GOP 4 s) + AAC 128k"
want nginx || want cflive && echo "  rtmp: FLV over RTMP"
want srt && echo "  srt:  MPEG-TS over SRT (1316-byte packets), AES-128 passphrase, latency ${SRT_LATENCY_MS} ms"
echo "window ${WINDOW}s after ${BENCH_WARMUP}s warm-up, $(nproc) cores; cpu% = % of one core"
awk -F '\t' '
  { key[NR] = $1; label[NR] = $2; cpu[NR] = $3; tick[NR] = $4; rss[NR] = $5; hwm[NR] = $6; mbps[NR] = $7; pss[NR] = $9
    if ($1 == "nginx") { acpu = $3; arss = $5; have = 1 }
    if (length($2) > w) w = length($2) }
  END {
    # the label column is as wide as the longest label (at least 30)
    if (w < 30) w = 30
    lf = "%-" w "s"
    printf lf " %7s %9s %8s %9s %8s %8s %10s %10s\n", "target", "cpu%", "cpu%_tick", "rss_MiB", "peak_MiB", "pss_MiB", "in_Mbps", "cpu_ratio", "rss_ratio"
    for (i = 1; i <= NR; i++) {
      cr = "-"; rr = "-"
      if (have && key[i] !~ /^pub-/) {
        cr = acpu > 0 ? sprintf("%.2f", cpu[i] / acpu) : "n/a"
        rr = arss > 0 ? sprintf("%.2f", rss[i] / arss) : "n/a"
      }
      printf lf " %7.2f %9.2f %8.1f %9.1f %8s %8s %10s %10s\n", label[i], cpu[i], tick[i], rss[i], hwm[i], pss[i], mbps[i], cr, rr
    }
  }' "$DATA"
echo "(ratios relative to nginx-rtmp; ffmpeg->X rows are the publishers, for reference;"
echo " cpu% from per-thread schedstat where available, cpu%_tick from /proc/PID/stat, +-${TICK_RES} per tick;"
echo " in_Mbps is what the publisher wrote: FLV for rtmp, MPEG-TS (about 4% more) for srt)"
if want validator; then
  # The validator's share: with - without, same stream, same window.
  awk -F '\t' -v tick="$TICK_RES" '
    $1 == "cflive" { c = $3; ct = $4; cr = $5; cs = $8 }
    $1 == "validator" { v = $3; vt = $4; vr = $5; vs = $8 }
    END {
      printf "validator (rtmp, with - without): cpu%% %.2f - %.2f = %+.2f, cpu%%_tick %+.2f, rss %+.1f MiB\n", v, c, v - c, vt - ct, vr - cr
      if (cs != vs) printf " (the two cpu%% figures come from different sources: %s and %s)\n", vs, cs
      printf " a difference of two small figures of separate processes on shared cores:\n"
      printf " a few hundredths either way are noise (one tick is %s); bench/validator.sh\n", tick
      printf " counts the validator'"'"'s instructions per buffer, which is repeatable\n"
    }' "$DATA"
fi
while IFS=$'\t' read -r key label _ _ _ _ _ src _; do
  [[ $src == schedstat ]] || log "note: cpu% of $label is from clock ticks (threads exited or no schedstat)"
  : "$key"
done <"$DATA"
if want srt; then
  SRT_UDP_DROPS=$((UDP_DROPS1 - UDP_DROPS0))
  ((SRT_UDP_DROPS == 0)) ||
    log "note: the kernel dropped $SRT_UDP_DROPS datagrams for the SRT socket (port $SRT_PORT) during the window"
fi

if [[ -n $BENCH_JSON ]]; then
  awk -F '\t' -v window="$WINDOW" -v warmup="$BENCH_WARMUP" -v cores="$(nproc)" -v hz="$CLK_TCK" \
    -v srt_latency="$SRT_LATENCY_MS" -v srt_drops="${SRT_UDP_DROPS:-null}" '
    { key[NR] = $1; label[NR] = $2; cpu[NR] = $3; tick[NR] = $4; rss[NR] = $5; hwm[NR] = $6; mbps[NR] = $7; src[NR] = $8; pss[NR] = $9
      if ($1 == "nginx") { acpu = $3; arss = $5; have = 1 }
      if ($1 == "cflive") { ccpu = $3; ctick = $4; crss = $5; hc = 1 }
      if ($1 == "validator") { vcpu = $3; vtick = $4; vrss = $5; hv = 1 } }
    function num(v) { return (v == "-" || v == "nan") ? "null" : v }
    END {
      printf "{\n  \"benchmark\": \"ingest\",\n"
      printf "  \"input\": {\"width\": 1280, \"height\": 720, \"fps\": 30, \"video_kbps\": 4500, \"gop_frames\": 120, \"audio_kbps\": 128, \"audio_rate\": 48000, \"audio_channels\": 2},\n"
      printf "  \"window_s\": %s,\n  \"warmup_s\": %s,\n  \"cores\": %s,\n  \"clk_tck\": %s,\n", window, warmup, cores, hz
      if (srt_drops != "null")
        printf "  \"srt\": {\"container\": \"mpegts\", \"pkt_size\": 1316, \"encryption\": \"AES-128\", \"latency_ms\": %s, \"udp_drops\": %s},\n", srt_latency, srt_drops
      if (hc && hv)
        printf "  \"validator\": {\"cpu_percent_with\": %s, \"cpu_percent_without\": %s, \"cpu_percent_diff\": %.3f, \"cpu_percent_ticks_diff\": %.2f, \"rss_mib_diff\": %.1f},\n", vcpu, ccpu, vcpu - ccpu, vtick - ctick, vrss - crss
      printf "  \"anchor\": \"nginx-rtmp\",\n  \"rows\": [\n"
      for (i = 1; i <= NR; i++) {
        role = key[i] ~ /^pub-/ ? "publisher" : "target"
        transport = key[i] ~ /srt$/ ? "srt" : "rtmp"
        cr = "null"; rr = "null"
        if (have && role == "target") {
          if (acpu > 0) cr = sprintf("%.4f", cpu[i] / acpu)
          if (arss > 0) rr = sprintf("%.4f", rss[i] / arss)
        }
        printf "    {\"name\": \"%s\", \"role\": \"%s\", \"transport\": \"%s\", \"cpu_percent\": %s, \"cpu_source\": \"%s\", \"cpu_percent_ticks\": %s, \"rss_mib\": %s, \"peak_mib\": %s, \"pss_mib\": %s, \"in_mbps\": %s, \"cpu_ratio\": %s, \"rss_ratio\": %s}%s\n",
          label[i], role, transport, cpu[i], src[i], tick[i], rss[i], hwm[i], num(pss[i]), num(mbps[i]), cr, rr, (i < NR ? "," : "")
      }
      printf "  ]\n}\n"
    }' "$DATA" >"$BENCH_JSON"
  log "JSON written to $BENCH_JSON"
fi
