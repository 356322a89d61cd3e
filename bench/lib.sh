# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the scripts
# Shell code shared by the benchmark scripts (ingest.sh, restream.sh,
# validator.sh), sourced by each: `. "$(dirname "$0")/lib.sh"`.  Messages
# are prefixed with the name of the script that sources this file.

BENCH_SCRIPT=${0##*/}

# Input: 1280x720 30 fps, H.264 4500k CBR-ish, 4 s GOP, AAC 128k 48 kHz
# stereo; the same cached file for every script.
INPUT_SECONDS=20
VIDEO_ARGS=(-c:v libx264 -preset veryfast -pix_fmt yuv420p
  -b:v 4500k -maxrate 4500k -bufsize 9000k
  -g 120 -keyint_min 120 -sc_threshold 0)
AUDIO_ARGS=(-c:a aac -b:a 128k -ar 48000 -ac 2)

# The header comment of the script, up to its first empty line.
usage() {
  sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"
}

die() {
  echo "$BENCH_SCRIPT: error: $*" >&2
  exit 1
}

log() {
  echo "$BENCH_SCRIPT: $*" >&2
}

# ---------------------------------------------------------------- processes

# bench_setup_tmp PREFIX [WHAT]: makes TMP_DIR ($TMPDIR/PREFIX.XXXXXX) and
# installs the cleanup traps, which stop every process group started with
# start_bg and remove TMP_DIR (unless BENCH_KEEP_LOGS=1: then "WHAT kept in
# TMP_DIR" is logged; WHAT defaults to "logs").
bench_setup_tmp() {
  TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  KEPT_WHAT=${2:-logs}
  # PIDs started with setsid: each is the leader of its own process group.
  PGIDS=()
  CLEANED=0
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local rc=$?
  [[ $CLEANED == 1 ]] && return
  CLEANED=1
  set +e
  local pg tries i
  # Last started first: publishers, then servers.
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
  if [[ ${BENCH_KEEP_LOGS:-0} == 1 ]]; then
    log "$KEPT_WHAT kept in $TMP_DIR"
  else
    rm -rf -- "$TMP_DIR"
  fi
  return "$rc"
}

# Start "$@" in the background in a new session (own process group), with
# stdout/stderr to the given log.  Sets STARTED_PID.
start_bg() {
  local logfile=$1
  shift
  setsid "$@" </dev/null >"$logfile" 2>&1 &
  STARTED_PID=$!
  PGIDS+=("$STARTED_PID")
}

# Stops the process group of one start_bg'ed pid (TERM, then KILL after 3 s)
# and forgets it.
stop_bg() {
  local pg=$1 tries i
  kill -TERM -- "-$pg" 2>/dev/null || true
  for ((tries = 0; tries < 30; tries++)); do
    kill -0 -- "-$pg" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pg" 2>/dev/null || true
  wait "$pg" 2>/dev/null || true
  for i in "${!PGIDS[@]}"; do
    [[ ${PGIDS[i]} == "$pg" ]] && unset 'PGIDS[i]'
  done
  PGIDS=("${PGIDS[@]}")
}

show_log() {
  local name=$1 file=$2
  echo "---- last lines of $name log ($file) ----" >&2
  tail -n 40 "$file" >&2 || true
  echo "----" >&2
}

# ---------------------------------------------------------------- input

# Sets INPUT to the input file, generated on first use into BENCH_CACHE_DIR
# (default $BUILD_DIR/bench-cache if $BUILD_DIR exists, otherwise TMP_DIR).
bench_input() {
  local input_tag partial
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
}

# ---------------------------------------------------------------- ports

# True if some socket is in LISTEN state on TCP port $1 (any address).
# Reads /proc/net/tcp{,6} instead of connecting, so that no server ever
# sees a stray connection.
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

# pick_ports TCP_COUNT [UDP]: TCP_COUNT distinct free TCP ports on
# 127.0.0.1, then, if UDP is 1, one free UDP port, space-separated.  The
# kernel picks them (all bound at once, so they are distinct); the UDP port
# is bind-tested as SOCK_DGRAM and never has the number of a TCP port, so
# that every port of the run is distinct.
pick_ports() {
  local count=$1 udp=${2:-0}
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$count" "$udp" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
ports = [s.getsockname()[1] for s in socks]
if sys.argv[2] == "1":
    udp = None
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        socks.append(u)
        if u.getsockname()[1] not in ports:
            udp = u.getsockname()[1]
            break
    if udp is None:
        raise SystemExit("no free UDP port")
    ports.append(udp)
print(" ".join(str(p) for p in ports))
for s in socks:
    s.close()
EOF
  else
    # Fallback: random ports that nothing is listening on / bound to.
    local ports=() p
    while [[ ${#ports[@]} -lt $((count + udp)) ]]; do
      p=$((20000 + RANDOM % 40000))
      [[ " ${ports[*]} " == *" $p "* ]] && continue
      if [[ ${#ports[@]} -lt $count ]]; then
        is_listening "$p" || ports+=("$p")
      else
        is_listening "$p" || is_udp_bound "$p" || ports+=("$p")
      fi
    done
    echo "${ports[*]}"
  fi
}

# wait_listening PORT PROTO PID NAME LOG TIMEOUT_S: waits for a server to
# listen on 127.0.0.1:PORT (PROTO tcp or udp; empty: tcp, and not named in
# the messages).  On failure shows the log, sets WAIT_ERROR to what went
# wrong and returns 1.
wait_listening() {
  local port=$1 proto=$2 pid=$3 name=$4 logfile=$5 timeout=$6 i
  for ((i = 0; i < timeout * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log "$name" "$logfile"
      WAIT_ERROR="$name exited before listening on ${proto:+$proto }port $port"
      return 1
    fi
    if [[ $proto == udp ]]; then
      is_udp_bound "$port" && return 0
    else
      is_listening "$port" && return 0
    fi
    sleep 0.1
  done
  show_log "$name" "$logfile"
  WAIT_ERROR="$name did not listen on 127.0.0.1:$port${proto:+ ($proto)} within ${timeout}s"
  return 1
}

# ---------------------------------------------------------------- nginx

# nginx_start DIR PORT LOG_LEVEL WORKER_CONNECTIONS [PUSH_URL...]: writes
# DIR/nginx.conf for an nginx-rtmp listening on 127.0.0.1:PORT with one
# application "live" (live on, record off, a push to each PUSH_URL), tests
# it and starts nginx in the foreground with start_bg (sets STARTED_PID).
# master_process on (the default, as deployed) with one worker.  The error
# log is DIR/logs/error.log.
nginx_start() {
  local dir=$1 port=$2 level=$3 conns=$4 url
  shift 4
  mkdir -p "$dir/logs"
  {
    echo "load_module $NGINX_RTMP_MODULE;"
    echo "daemon off;"
    echo "master_process on;"
    echo "worker_processes 1;"
    echo "error_log $dir/logs/error.log $level;"
    echo "pid $dir/nginx.pid;"
    echo "events {"
    echo "    worker_connections $conns;"
    echo "}"
    echo "rtmp {"
    echo "    server {"
    echo "        listen 127.0.0.1:$port;"
    echo "        chunk_size 4096;"
    echo "        application live {"
    echo "            live on;"
    echo "            record off;"
    for url in "$@"; do echo "            push $url;"; done
    echo "        }"
    echo "    }"
    echo "}"
  } >"$dir/nginx.conf"
  "$NGINX" -t -q -e "$dir/logs/error.log" -p "$dir/" -c "$dir/nginx.conf" ||
    die "nginx config test failed ($dir/nginx.conf)"
  start_bg "$dir/stdout.log" "$NGINX" -e "$dir/logs/error.log" -p "$dir/" -c "$dir/nginx.conf"
}

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
# live threads of the given pids, followed by each thread's, comma-joined:
# "ns tid:ns,tid:ns,...".  Finer than clock ticks, but blind to threads
# that have exited: the callers check for those.
threads_ns() {
  local total=0 tids="" pid f ns tid
  for pid in "$@"; do
    for f in "/proc/$pid"/task/*/schedstat; do
      { read -r ns _ <"$f"; } 2>/dev/null || continue
      total=$((total + ns))
      tid=${f%/schedstat}
      tids+=${tid##*/}:$ns,
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
