#!/usr/bin/env bash
# Restream benchmark: one 720p30 4.5 Mbps RTMP input fanned out to 1, 10
# and 50 RTMP outputs on loopback by cfrestreamsink (behind cfliveinputsrc,
# in one gst-launch-1.0), by nginx-rtmp (`push`) and by ffmpeg's tee muxer
# (as an RTMP listener), one configuration at a time in the same run: CPU
# share, RSS and PSS of the fan-out process, the latency it adds between
# the input and one output (median and 99th percentile), and ratios against
# nginx-rtmp at the same number of outputs.  See bench/README.md.
#
# Usage: bench/restream.sh [--only LIST] [--outputs LIST] [--help]
#   --only LIST      fan-outs to run, comma-separated, from cflive,nginx,ffmpeg
#                    (default all three; the ratios need nginx)
#   --outputs LIST   numbers of outputs, comma- or space-separated
#                    (default "1 10 50")
#
# Environment:
#   BUILD_DIR          meson build dir holding the plugin and bench/rtmp-probe
#                      (default <repo>/build)
#   BENCH_SECONDS      measurement window per configuration, seconds (default 20)
#   BENCH_WARMUP       streaming before the window opens, at least, seconds
#                      (default 6); then until the fan-out is in steady state
#                      (all outputs connected, o1 under 500 ms behind), at
#                      most BENCH_READY_TIMEOUT seconds (default 90), then 3 s
#   BENCH_OUTPUTS      same as --outputs
#   BENCH_JSON         if set, also write the results as JSON to this file
#   BENCH_CACHE_DIR    where the generated input is kept between runs
#                      (default $BUILD_DIR/bench-cache, shared with ingest.sh)
#   NGINX              nginx binary (default: nginx from PATH)
#   NGINX_RTMP_MODULE  path of the rtmp module
#                      (default /usr/lib/nginx/modules/ngx_rtmp_module.so)
#   RTMP_PROBE         the probe (default $BUILD_DIR/bench/rtmp-probe)
#   BENCH_KEEP_LOGS    if set to 1, keep the temp dir (logs) after the run

set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
BENCH_SECONDS=${BENCH_SECONDS:-20}
BENCH_WARMUP=${BENCH_WARMUP:-6}
BENCH_READY_TIMEOUT=${BENCH_READY_TIMEOUT:-90}
BENCH_OUTPUTS=${BENCH_OUTPUTS:-1 10 50}
BENCH_JSON=${BENCH_JSON:-}
BENCH_KEEP_LOGS=${BENCH_KEEP_LOGS:-0}
NGINX=${NGINX:-nginx}
NGINX_RTMP_MODULE=${NGINX_RTMP_MODULE:-/usr/lib/nginx/modules/ngx_rtmp_module.so}
RTMP_PROBE=${RTMP_PROBE:-$BUILD_DIR/bench/rtmp-probe}

STREAM_KEY=benchkey
# After the window, how long the run goes on so that the frames sent in the
# window can still reach the probe through the fan-out (a frame that takes
# longer counts as missing).
TAIL_SECONDS=2
# Steady state before the window: o1's latency under this over its last
# frames, then SETTLE_SECONDS more; given up (and noted) after
# BENCH_READY_TIMEOUT seconds.
READY_LATENCY_MS=500
SETTLE_SECONDS=3

ONLY=cflive,nginx,ffmpeg

while [[ $# -gt 0 ]]; do
  case $1 in
    --only)
      [[ $# -ge 2 ]] || die "--only needs an argument (cflive,nginx,ffmpeg)"
      ONLY=$2
      shift 2
      ;;
    --only=*)
      ONLY=${1#--only=}
      shift
      ;;
    --outputs)
      [[ $# -ge 2 ]] || die "--outputs needs an argument (e.g. 1,10,50)"
      BENCH_OUTPUTS=$2
      shift 2
      ;;
    --outputs=*)
      BENCH_OUTPUTS=${1#--outputs=}
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

# Fan-outs in the order they run at each N: nginx first (the anchor).
FANOUTS=()
for f in nginx cflive ffmpeg; do
  [[ ,$ONLY, == *,"$f",* ]] && FANOUTS+=("$f")
done
for f in ${ONLY//,/ }; do
  case $f in
    cflive | nginx | ffmpeg) ;;
    *) die "--only takes cflive, nginx and ffmpeg, not '$f'" ;;
  esac
done
[[ ${#FANOUTS[@]} -gt 0 ]] || die "--only selects no fan-out"

read -ra NS <<<"${BENCH_OUTPUTS//,/ }"
[[ ${#NS[@]} -gt 0 ]] || die "no number of outputs given"
for n in "${NS[@]}"; do
  [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 500 ]] ||
    die "numbers of outputs are integers from 1 to 500, not '$n'"
done
[[ $BENCH_SECONDS =~ ^[0-9]+$ && $BENCH_SECONDS -gt 0 ]] ||
  die "BENCH_SECONDS must be a positive integer"
[[ $BENCH_WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be an integer"
[[ $BENCH_READY_TIMEOUT =~ ^[0-9]+$ ]] || die "BENCH_READY_TIMEOUT must be an integer"

want() { [[ ,$ONLY, == *,"$1",* ]]; }

declare -A FLABEL=([cflive]=cfrestreamsink [nginx]=nginx-rtmp [ffmpeg]=ffmpeg-tee)

# ---------------------------------------------------------------- checks

for tool in ffmpeg awk stat sort ss; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
# nginx is always needed: the receiver of the outputs is nginx-rtmp.
command -v "$NGINX" >/dev/null || die "nginx not found ($NGINX)"
[[ -f $NGINX_RTMP_MODULE ]] ||
  die "nginx rtmp module not found at $NGINX_RTMP_MODULE (apt-get install libnginx-mod-rtmp)"
[[ -x $RTMP_PROBE ]] ||
  die "rtmp-probe not found at $RTMP_PROBE (meson setup build && ninja -C build)"
if want cflive; then
  command -v gst-launch-1.0 >/dev/null || die "gst-launch-1.0 not found"
  command -v gst-inspect-1.0 >/dev/null || die "gst-inspect-1.0 not found"
  for e in cfliveinputsrc cfrestreamsink; do
    GST_PLUGIN_PATH=$BUILD_DIR gst-inspect-1.0 "$e" >/dev/null 2>&1 ||
      die "element $e not found with GST_PLUGIN_PATH=$BUILD_DIR (build the plugin first, or use --only nginx,ffmpeg)"
  done
fi
if want ffmpeg; then
  ffmpeg -hide_banner -muxers 2>/dev/null | grep -qw tee || die "ffmpeg has no tee muxer"
fi

CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- cleanup

bench_setup_tmp cflive-restream

# ---------------------------------------------------------------- input

bench_input

# ---------------------------------------------------------------- ports

# wait_tcp PORT PID NAME LOG TIMEOUT_S: wait_listening for a TCP server,
# logging what went wrong.
wait_tcp() {
  wait_listening "$1" "" "$2" "$3" "$4" "$5" || {
    log "$WAIT_ERROR"
    return 1
  }
}

N_CONFIGS=$((${#NS[@]} * ${#FANOUTS[@]}))
# receiver, probe, then per configuration: the fan-out's input and the
# probe's proxy in front of it.
read -ra PORTS < <(pick_ports $((2 + 2 * N_CONFIGS)))
[[ ${#PORTS[@]} -eq $((2 + 2 * N_CONFIGS)) ]] || die "could not pick free ports"
RECV_PORT=${PORTS[0]}
PROBE_PORT=${PORTS[1]}

# ---------------------------------------------------------------- /proc helpers

# "tid:name,tid:name,..." of the threads of the given pids (spaces in the
# names made underscores).
threads_comm() {
  local out="" pid d name
  for pid in "$@"; do
    for d in "/proc/$pid"/task/*; do
      { read -r name <"$d/comm"; } 2>/dev/null || continue
      out+=${d##*/}:${name// /_},
    done
  done
  echo "${out%,}"
}

# The busiest threads over a window, from threads_ns snapshots $1 and $2,
# thread names $3 and the window's length in seconds $4: "name 1.23%, ..."
# (threads of the same name added up; at most 4).
thread_breakdown() {
  awk -v a="$1" -v b="$2" -v names="$3" -v w="$4" '
    function parse(snap, arr,   n, i, l, kv) {
      split(snap, l, " "); n = split(l[2], kv, ",")
      for (i = 1; i <= n; i++) { split(kv[i], x, ":"); arr[x[1]] = x[2] }
    }
    BEGIN {
      parse(a, s0); parse(b, s1)
      n = split(names, kv, ",")
      for (i = 1; i <= n; i++) { split(kv[i], x, ":"); name[x[1]] = x[2] }
      for (t in s1) { nm = (t in name) ? name[t] : t; use[nm] += s1[t] - ((t in s0) ? s0[t] : 0) }
      out = ""
      for (k = 0; k < 4; k++) {
        best = ""; bv = -1
        for (nm in use) if (use[nm] > bv) { bv = use[nm]; best = nm }
        if (best == "") break
        out = out (k ? ", " : "") sprintf("%s %.2f%%", best, use[best] / 1e9 / w * 100)
        delete use[best]
      }
      print out
    }'
}

# CPU time (ns) used in a window from three threads_ns snapshots: $1 a few
# seconds before the window, $2 at its start, $3 at its end.  Threads born
# in the window count whole.  A thread that has gone by the end counts for
# nothing if it used no CPU between the first two snapshots (an idle GLib
# pool thread expiring: gst-launch-1.0 has one); if it was busy its time is
# lost, and this prints -1 (the caller falls back to clock ticks).
window_ns() {
  awk -v pre="$1" -v a="$2" -v b="$3" '
    function parse(snap, arr,   n, i, l, kv) {
      split(snap, l, " "); n = split(l[2], kv, ",")
      for (i = 1; i <= n; i++) { split(kv[i], x, ":"); arr[x[1]] = x[2] }
      return l[1]
    }
    BEGIN {
      parse(pre, p); n0 = parse(a, s0); n1 = parse(b, s1)
      if (n1 <= 0) { print -1; exit }
      for (t in s0) {
        if (t in s1) continue
        if (!(t in p) || p[t] != s0[t]) { print -1; exit }
        n0 -= s0[t]
      }
      printf "%.0f\n", n1 - n0
    }'
}

# "peer bytes_received" of every established connection accepted on local
# TCP port $1 (the receiver's side of each output).
recv_snapshot() {
  ss -Htni state established "( sport = :$1 )" 2>/dev/null | awk '
    /^[0-9]/ { peer = $4; bytes[peer] = 0; next }
    { for (i = 1; i <= NF; i++) if ($i ~ /^bytes_received:/) { split($i, a, ":"); bytes[peer] = a[2] } }
    END { for (p in bytes) printf "%s %.0f\n", p, bytes[p] }'
}

# Established connections accepted by the receiver.
recv_connections() {
  ss -Htn state established "( sport = :$RECV_PORT )" 2>/dev/null | wc -l
}

# The largest latency (ms, integer) of the last 15 video frames of output
# o1 of configuration $1 that were matched to their proxied copy, or -1 if
# there are none yet.  Same matching as latency_samples.
o1_recent_latency_ms() {
  awk -v d="$1-direct" -v v="$1-o1" '
    $1 != "V" || $7 == 2 { next }
    $2 == d { dm[$8] = dm[$8] " " $4 }
    $2 == v { nv++; vh[nv] = $8; vm[nv] = $4 }
    END {
      worst = -1; got = 0
      for (j = nv; j >= 1 && got < 15; j--) {
        n = split(dm[vh[j]], c, " "); best = -1
        for (k = 1; k <= n; k++) {
          diff = vm[j] - c[k]; ad = diff < 0 ? -diff : diff
          if (ad < 10e6 && (best < 0 || ad < bestd)) { best = diff; bestd = ad }
        }
        if (best < 0) continue
        got++
        if (best > worst) worst = best
      }
      printf "%d\n", worst < 0 ? -1 : worst / 1000
    }' "$PROBE_LOG"
}

# True when configuration $1 with $2 outputs is in steady state: all the
# other outputs connected to the receiver, and o1 delivering frames less
# than READY_LATENCY_MS after they entered the fan-out (not catching up
# with a backlog, as a fan-out that took long to connect its outputs does).
is_steady() {
  local lat
  [[ $2 -le 1 || $(recv_connections) -ge $(($2 - 1)) ]] || return 1
  lat=$(o1_recent_latency_ms "$1")
  [[ $lat -ge 0 && $lat -lt $READY_LATENCY_MS ]]
}

# Number of video messages of stream $1 the probe has logged so far.
probe_frames() {
  awk -v n="$1" '$1 == "V" && $2 == n { c++ } END { print c + 0 }' "$PROBE_LOG"
}

# ---------------------------------------------------------------- receivers

# The destinations: one nginx-rtmp (live on, record off) takes every output
# but the first, which goes to the probe.  Neither is measured.
rdir=$TMP_DIR/receiver
nginx_start "$rdir" "$RECV_PORT" warn 2048
RECV_PID=$STARTED_PID

# The publisher of configuration TAG publishes to the probe's proxy port
# for TAG, which forwards the bytes at once to the fan-out's input and logs
# each video frame as TAG-direct; the fan-out's first output, TAG-o1, comes
# back to the probe's own port.
PROBE_LOG=$TMP_DIR/probe.log
PROXY_ARGS=()
ci=0
for n in "${NS[@]}"; do
  for f in "${FANOUTS[@]}"; do
    PROXY_ARGS+=(-x "${PORTS[$((3 + 2 * ci))]}=$f$n-direct@127.0.0.1:${PORTS[$((2 + 2 * ci))]}")
    ci=$((ci + 1))
  done
done
start_bg "$TMP_DIR/probe.stderr" "$RTMP_PROBE" -p "$PROBE_PORT" "${PROXY_ARGS[@]}" -o "$PROBE_LOG"
PROBE_PID=$STARTED_PID

wait_tcp "$RECV_PORT" "$RECV_PID" "receiver nginx-rtmp" "$rdir/logs/error.log" 20 ||
  die "the receiver did not start"
wait_tcp "$PROBE_PORT" "$PROBE_PID" "rtmp-probe" "$TMP_DIR/probe.stderr" 20 ||
  die "the probe did not start"
log "receiver nginx-rtmp on 127.0.0.1:$RECV_PORT, rtmp-probe on 127.0.0.1:$PROBE_PORT"

receivers_alive() {
  if ! kill -0 "$RECV_PID" 2>/dev/null; then
    show_log "receiver nginx-rtmp" "$rdir/logs/error.log"
    die "the receiver nginx-rtmp exited"
  fi
  if ! kill -0 "$PROBE_PID" 2>/dev/null; then
    show_log "rtmp-probe" "$TMP_DIR/probe.stderr"
    die "rtmp-probe exited"
  fi
}

# ---------------------------------------------------------------- one configuration

# Destination URL of output $2 (1-based) of configuration tag $1: o1 goes
# to the probe, the others to the receiver.
dest_url() {
  if [[ $2 == 1 ]]; then
    echo "rtmp://127.0.0.1:$PROBE_PORT/live/$1-o1"
  else
    echo "rtmp://127.0.0.1:$RECV_PORT/live/$1-o$2"
  fi
}

# Latency of configuration $1 from the probe log, over the frames that went
# through the probe's proxy to the fan-out between real times $2 and $3
# (µs).  Writes the latencies (µs,
# one a line) to $4 and prints
# "direct_frames matched missing ts_offset_min ts_offset_max".
# A frame is matched by the hash of its body: the via-o1 copy with the same
# hash closest in time to the direct one (the input loops every 20 s, so
# the same hash comes back then; the closest copy within 10 s is the one).
latency_samples() {
  awk -v d="$1-direct" -v v="$1-o1" -v w0="$2" -v w1="$3" -v out="$4" '
    $1 != "V" || $7 == 2 { next }
    $2 == d { nd++; dh[nd] = $8; dm[nd] = $4; dr[nd] = $5; dts[nd] = $3 }
    $2 == v { nv++; vh[nv] = $8; vm[nv] = $4; vts[nv] = $3; byh[$8] = byh[$8] " " nv }
    END {
      printf "" > out
      for (i = 1; i <= nd; i++) {
        if (dr[i] < w0 || dr[i] > w1) continue
        total++
        best = 0; bestd = 10e6
        n = split(byh[dh[i]], c, " ")
        for (k = 1; k <= n; k++) {
          j = c[k]
          if (used[j]) continue
          diff = vm[j] - dm[i]; ad = diff < 0 ? -diff : diff
          if (ad < bestd) { bestd = ad; best = j }
        }
        if (!best) { missing++; continue }
        used[best] = 1
        matched++
        printf "%.0f\n", vm[best] - dm[i] > out
        off = vts[best] - dts[i]
        if (off < 0) off += 4294967296
        if (off >= 2147483648) off -= 4294967296
        if (matched == 1 || off < omin) omin = off
        if (matched == 1 || off > omax) omax = off
      }
      close(out)
      if (!matched) { omin = "-"; omax = "-" }
      printf "%d %d %d %s %s\n", total, matched, missing, omin, omax
    }' "$PROBE_LOG"
}

# p50 and p99 (nearest rank) of the µs values in file $1, in ms: "p50 p99
# max", or "- - -" if empty.
percentiles() {
  sort -n "$1" | awk '
    { v[++n] = $1 }
    END {
      if (!n) { print "- - -"; exit }
      i50 = int(n * 0.50); if (i50 < n * 0.50) i50++; if (i50 < 1) i50 = 1
      i99 = int(n * 0.99); if (i99 < n * 0.99) i99++; if (i99 < 1) i99 = 1
      printf "%.2f %.2f %.2f\n", v[i50] / 1000, v[i99] / 1000, v[n] / 1000
    }'
}

# Results, one tab-separated line per configuration:
# fanout N cpu cpu_tick rss_mib pss_mib hwm_mib p50 p99 max cpu_source status
#   direct_frames matched missing ts_off_min ts_off_max outputs_flowing
#   outputs_expected recv_min_mbps recv_median_mbps direct_fps steady_after_s
RESULTS=$TMP_DIR/results.txt
: >"$RESULTS"
NOTES=()
FAILED=0
declare -A THREADS

# run_config FANOUT N PORT PROXY_PORT
run_config() {
  local fan=$1 n=$2 port=$3 proxy_port=$4
  local tag="$fan$n" cdir=$TMP_DIR/$fan$n
  local label=${FLABEL[$fan]} i url pid flog
  local -a urls=()
  mkdir -p "$cdir"
  for ((i = 1; i <= n; i++)); do urls+=("$(dest_url "$tag" "$i")"); done

  log "---- $label, $n output(s)"
  case $fan in
    nginx)
      nginx_start "$cdir" "$port" info 2048 "${urls[@]}"
      flog=$cdir/logs/error.log
      ;;
    cflive)
      local joined
      joined=$(
        IFS=,
        echo "${urls[*]}"
      )
      flog=$cdir/gst.log
      # -m prints the element's cflive-output messages (output states).
      start_bg "$flog" env GST_PLUGIN_PATH="$BUILD_DIR" gst-launch-1.0 -m \
        cfliveinputsrc "rtmp-url=rtmp://127.0.0.1:$port/live" "stream-key=$STREAM_KEY" \
        ! cfrestreamsink "max-outputs=$((n > 50 ? n : 50))" ${BENCH_SINK_ARGS:-} "outputs=$joined"
      ;;
    ffmpeg)
      local tee="" sep=""
      for url in "${urls[@]}"; do
        tee+="${sep}[f=flv:onfail=ignore]$url"
        sep="|"
      done
      flog=$cdir/ffmpeg.log
      start_bg "$flog" ffmpeg -nostdin -hide_banner -nostats -loglevel warning \
        -listen 1 -i "rtmp://127.0.0.1:$port/live/$STREAM_KEY" \
        -c copy -map 0 -f tee "$tee"
      ;;
  esac
  pid=$STARTED_PID

  if ! wait_tcp "$port" "$pid" "$label" "$flog" 20; then
    stop_bg "$pid"
    printf '%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\tno-listen\t0\t0\t0\t-\t-\t0\t%s\t-\t-\t-\t-\n' \
      "$fan" "$n" "$((n - 1))" >>"$RESULTS"
    FAILED=1
    return 0
  fi

  # The publisher, through the probe's proxy.
  local plog=$cdir/publisher.log ppid
  start_bg "$plog" ffmpeg -nostdin -hide_banner -nostats -loglevel warning \
    -re -stream_loop -1 -i "$INPUT" -c copy -f flv \
    "rtmp://127.0.0.1:$proxy_port/live/$STREAM_KEY"
  ppid=$STARTED_PID

  local status=ok
  config_alive() {
    receivers_alive
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log "$label" "$flog"
      show_log "publisher to $label" "$plog"
      log "$label exited during the run ($n outputs)"
      status=fanout-exited
      return 1
    fi
    if ! kill -0 "$ppid" 2>/dev/null; then
      show_log "publisher to $label" "$plog"
      show_log "$label" "$flog"
      log "the publisher to $label exited ($n outputs)"
      status=publisher-exited
      return 1
    fi
  }

  # Warm-up: at least BENCH_WARMUP, then until the fan-out is in steady
  # state (every output connected, o1 live), then SETTLE_SECONDS more.
  local k ready_s=- started
  started=$(now)
  for ((k = 0; k < BENCH_WARMUP * 4; k++)); do
    sleep 0.25
    config_alive || break
  done
  while [[ $status == ok ]]; do
    if is_steady "$tag" "$n"; then
      ready_s=$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
      break
    fi
    if awk -v a="$started" -v b="$(now)" -v t="$BENCH_READY_TIMEOUT" 'BEGIN { exit !(b - a > t) }'; then
      NOTES+=("$label, $n outputs: not in steady state after ${BENCH_READY_TIMEOUT}s (o1 last latency: $(o1_recent_latency_ms "$tag") ms, $(recv_connections) of $((n - 1)) receiver connections): measured anyway")
      break
    fi
    sleep 0.5
    config_alive || break
  done
  # Processes measured: nginx is master + worker(s).
  local -a mpids=("$pid")
  if [[ $status == ok && $fan == nginx ]]; then
    # shellcheck disable=SC2207
    mpids+=($(proc_children "$pid"))
    [[ ${#mpids[@]} -gt 1 ]] || die "no nginx worker process found"
  fi
  local pre_ns=""
  if [[ $status == ok ]]; then
    pre_ns=$(threads_ns "${mpids[@]}")
    for ((k = 0; k < SETTLE_SECONDS * 4; k++)); do
      sleep 0.25
      config_alive || break
    done
  fi

  local t0 t1 snap0 snap1 comms wall0 wall1 r0 r1 rss=0 pss=-1 hwm=0 flog_size=0
  if [[ $status == ok ]]; then
    [[ $(probe_frames "$tag-direct") -gt 0 ]] ||
      log "note: the probe has no direct frame of $tag after the warm-up"
    [[ $(probe_frames "$tag-o1") -gt 0 ]] ||
      log "note: output o1 of $label has delivered no frame after the warm-up"

    t0=$(sum_ticks "${mpids[@]}") || status=fanout-exited
    snap0=$(threads_ns "${mpids[@]}")
    r0=$(recv_snapshot "$RECV_PORT")
    wall0=$(now)
    local end=$((${wall0%.*} + BENCH_SECONDS)) now_s left
    while [[ $status == ok ]]; do
      now_s=$(now)
      left=$((end - ${now_s%.*}))
      ((left > 0)) || break
      sleep 1
      config_alive || break
    done
    if [[ $status == ok ]]; then
      awk -v a="$wall0" -v b="$(now)" -v n="$BENCH_SECONDS" \
        'BEGIN { d = a + n - b; if (d > 0) printf "%.3f\n", d; else print 0 }' |
        { read -r rem; sleep "$rem"; }
      t1=$(sum_ticks "${mpids[@]}") || status=fanout-exited
      snap1=$(threads_ns "${mpids[@]}")
      comms=$(threads_comm "${mpids[@]}")
      wall1=$(now)
      r1=$(recv_snapshot "$RECV_PORT")
      # The fan-out's log as it was at the end of the window: what it logs
      # when the script stops the publisher is not a problem.
      flog_size=$(stat -c %s "$flog" 2>/dev/null || echo 0)
      rss=$(sum_status_kb VmRSS "${mpids[@]}")
      hwm=$(sum_status_kb VmHWM "${mpids[@]}")
      pss=$(sum_pss_kb "${mpids[@]}")
      # Let the frames sent at the end of the window through.
      for ((k = 0; k < TAIL_SECONDS * 4; k++)); do
        sleep 0.25
        config_alive || break
      done
    fi
  fi

  stop_bg "$ppid"
  stop_bg "$pid"

  if [[ $status != ok || -z ${wall1:-} ]]; then
    printf '%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t%s\t0\t0\t0\t-\t-\t0\t%s\t-\t-\t-\t-\n' \
      "$fan" "$n" "$status" "$((n - 1))" >>"$RESULTS"
    FAILED=1
    return 0
  fi

  # CPU: per-thread schedstat unless a busy thread has gone, else clock
  # ticks.
  local dns
  dns=$(window_ns "$pre_ns" "$snap0" "$snap1")
  THREADS[$fan$n]=$(thread_breakdown "$snap0" "$snap1" "$comms" \
    "$(awk -v a="$wall0" -v b="$wall1" 'BEGIN { print b - a }')")

  # Latency.
  local lat_file=$cdir/latency_us.txt stats p50 p99 pmax
  local w0us w1us
  w0us=$(awk -v a="$wall0" 'BEGIN { printf "%.0f", a * 1e6 }')
  w1us=$(awk -v a="$wall1" 'BEGIN { printf "%.0f", a * 1e6 }')
  stats=$(latency_samples "$tag" "$w0us" "$w1us" "$lat_file")
  read -r p50 p99 pmax < <(percentiles "$lat_file")

  # Outputs that reached the receiver: connections present at both ends of
  # the window, and their rate.
  local flow
  flow=$(awk -v w="$(awk -v a="$wall0" -v b="$wall1" 'BEGIN { print b - a }')" '
    NF < 2 { next }
    FILENAME == ARGV[1] { b0[$1] = $2; next }
    ($1 in b0) { r[++n] = ($2 - b0[$1]) * 8 / w / 1e6 }
    END {
      if (!n) { print "0 - -"; exit }
      # insertion sort: a few dozen values
      for (i = 2; i <= n; i++) { x = r[i]; for (j = i - 1; j >= 1 && r[j] > x; j--) r[j + 1] = r[j]; r[j + 1] = x }
      med = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
      flowing = 0
      for (i = 1; i <= n; i++) if (r[i] > 0.5 * med && r[i] > 0.5) flowing++
      printf "%d %.2f %.2f\n", flowing, r[1], med
    }' <(echo "$r0") <(echo "$r1"))
  local flowing rmin rmed
  read -r flowing rmin rmed <<<"$flow"
  printf '%s\n' "$r0" >"$cdir/receiver-bytes-start.txt"
  printf '%s\n' "$r1" >"$cdir/receiver-bytes-end.txt"

  local direct_frames
  direct_frames=${stats%% *}
  local fps
  fps=$(awk -v c="$direct_frames" -v a="$wall0" -v b="$wall1" 'BEGIN { printf "%.1f", c / (b - a) }')

  awk -v f="$fan" -v n="$n" -v dt="$((t1 - t0))" -v hz="$CLK_TCK" -v dns="$dns" \
    -v w0="$wall0" -v w1="$wall1" -v rss="$rss" -v hwm="$hwm" -v pss="$pss" \
    -v p50="$p50" -v p99="$p99" -v pmax="$pmax" -v stats="$stats" \
    -v flowing="$flowing" -v rmin="$rmin" -v rmed="$rmed" -v fps="$fps" -v ready="$ready_s" '
    BEGIN {
      w = w1 - w0
      tick = dt / hz / w * 100
      if (dns >= 0) { cpu = dns / 1e9 / w * 100; src = "schedstat" } else { cpu = tick; src = "ticks" }
      pssm = pss >= 0 ? sprintf("%.1f", pss / 1024) : "-"
      split(stats, s, " ")
      printf "%s\t%s\t%.3f\t%.2f\t%.1f\t%s\t%.1f\t%s\t%s\t%s\t%s\tok\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n",
        f, n, cpu, tick, rss / 1024, pssm, hwm / 1024, p50, p99, pmax, src,
        s[1], s[2], s[3], s[4], s[5], flowing, n - 1, rmin, rmed, fps, ready
    }' >>"$RESULTS"

  # What went wrong, if anything.
  local matched missing
  read -r _ matched missing _ <<<"$stats"
  if [[ $missing -gt 0 ]]; then
    NOTES+=("$label, $n outputs: $missing of $direct_frames video frames sent in the window never reached o1 (within ${TAIL_SECONDS}s after it)")
  fi
  if [[ $matched -eq 0 ]]; then
    NOTES+=("$label, $n outputs: no frame of o1 matched a direct frame: no latency")
  fi
  if [[ $n -gt 1 && $flowing -ne $((n - 1)) ]]; then
    NOTES+=("$label, $n outputs: $flowing of $((n - 1)) outputs to the receiver carried the stream through the window")
  fi
  local flog_run=$cdir/fanout-until-window-end.log bad
  head -c "$flog_size" "$flog" >"$flog_run"
  case $fan in
    cflive)
      bad=$(grep -c 'state=(string)reconnecting\|state=(string)failed' "$flog_run" || true)
      [[ $bad -eq 0 ]] ||
        NOTES+=("$label, $n outputs: $bad output state messages 'reconnecting' or 'failed' (see $flog)")
      bad=$(grep -c 'cflive-output.*frames-dropped=(guint64)[1-9]' "$flog_run" || true)
      [[ $bad -eq 0 ]] ||
        NOTES+=("$label, $n outputs: outputs reported dropped frames (see $flog)")
      ;;
    ffmpeg)
      grep -qi 'fail\|error' "$flog_run" &&
        NOTES+=("$label, $n outputs: ffmpeg logged errors before the end of the window (see $flog)")
      ;;
    nginx)
      grep -q '\[error\]\|\[crit\]\|\[alert\]' "$flog_run" &&
        NOTES+=("$label, $n outputs: nginx logged errors before the end of the window (see $flog)")
      ;;
  esac
  return 0
}

# ---------------------------------------------------------------- run

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
ci=0
for n in "${NS[@]}"; do
  for f in "${FANOUTS[@]}"; do
    run_config "$f" "$n" "${PORTS[$((2 + 2 * ci))]}" "${PORTS[$((3 + 2 * ci))]}"
    ci=$((ci + 1))
    receivers_alive
    # Let the receiver and the probe see the disconnections.
    sleep 0.5
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

echo
echo "restream benchmark: 1280x720 30fps H.264 4500k (GOP 4 s) + AAC 128k over RTMP, fanned out on 127.0.0.1"
echo "each configuration alone: warm-up (>= ${BENCH_WARMUP}s, to steady state, +${SETTLE_SECONDS}s), ${BENCH_SECONDS}s window; $(nproc) cores; cpu% = % of one core"
echo "load average before/after: $LOAD0 / $LOAD1"
awk -F '\t' '
  { f[NR] = $1; n[NR] = $2; cpu[NR] = $3; rss[NR] = $5; pss[NR] = $6; p50[NR] = $8; p99[NR] = $9; st[NR] = $12
    if ($1 == "nginx" && $12 == "ok") { acpu[$2] = $3; arss[$2] = $5 } }
  END {
    label["cflive"] = "cfrestreamsink"; label["nginx"] = "nginx-rtmp"; label["ffmpeg"] = "ffmpeg-tee"
    printf "%-16s %4s %7s %9s %8s %11s %11s %10s %10s\n", "fanout", "N", "cpu%", "rss_MiB", "pss_MiB", "lat_p50_ms", "lat_p99_ms", "cpu_ratio", "rss_ratio"
    for (i = 1; i <= NR; i++) {
      if (st[i] != "ok") {
        printf "%-16s %4s %7s %9s %8s %11s %11s %10s %10s   (%s)\n", label[f[i]], n[i], "-", "-", "-", "-", "-", "-", "-", st[i]
        continue
      }
      cr = "-"; rr = "-"
      if (n[i] in acpu) {
        cr = acpu[n[i]] > 0 ? sprintf("%.2f", cpu[i] / acpu[n[i]]) : "n/a"
        rr = arss[n[i]] > 0 ? sprintf("%.2f", rss[i] / arss[n[i]]) : "n/a"
      }
      printf "%-16s %4s %7.2f %9.1f %8s %11s %11s %10s %10s\n", label[f[i]], n[i], cpu[i], rss[i], pss[i], p50[i], p99[i], cr, rr
    }
  }' "$RESULTS"
echo "(ratios: the row over nginx-rtmp at the same N; latency: arrival of a video frame at the probe on"
echo " output o1 minus the moment the probe's proxy passed it to the fan-out, over the window's frames)"
echo
echo "checks per configuration:"
awk -F '\t' '
  BEGIN { label["cflive"] = "cfrestreamsink"; label["nginx"] = "nginx-rtmp"; label["ffmpeg"] = "ffmpeg-tee" }
  $12 != "ok" { printf "  %-16s %4s  FAILED: %s\n", label[$1], $2, $12; next }
  {
    recv = $2 > 1 ? sprintf("%s/%s outputs flowing at the receiver (min %s, median %s Mb/s)", $18, $19, $20, $21) : "no receiver output"
    printf "  %-16s %4s  steady after %s s; o1: %s/%s frames matched, %s missing, max %s ms, ts offset %s..%s ms; %s; publisher %s fps; cpu%% %s from %s (ticks: %s)\n",
      label[$1], $2, $23, $14, $13, $15, $10, $16, $17, recv, $22, $3, $11, $4
  }' "$RESULTS"
echo
echo "busiest threads of each fan-out process (% of one core over the window):"
for n in "${NS[@]}"; do
  for f in "${FANOUTS[@]}"; do
    if [[ -n ${THREADS[$f$n]:-} ]]; then
      printf '  %-16s %4s  %s\n' "${FLABEL[$f]}" "$n" "${THREADS[$f$n]}"
    fi
  done
done
for note in "${NOTES[@]}"; do
  log "note: $note"
done

if [[ -n $BENCH_JSON ]]; then
  awk -F '\t' -v window="$BENCH_SECONDS" -v warmup="$BENCH_WARMUP" -v cores="$(nproc)" -v hz="$CLK_TCK" '
    function num(v) { return (v == "-" || v == "" || v == "nan") ? "null" : v }
    { for (k = 1; k <= NF; k++) c[NR, k] = $k
      if ($1 == "nginx" && $12 == "ok") { acpu[$2] = $3; arss[$2] = $5 } }
    END {
      label["cflive"] = "cfrestreamsink"; label["nginx"] = "nginx-rtmp"; label["ffmpeg"] = "ffmpeg-tee"
      printf "{\n  \"benchmark\": \"restream\",\n"
      printf "  \"input\": {\"width\": 1280, \"height\": 720, \"fps\": 30, \"video_kbps\": 4500, \"gop_frames\": 120, \"audio_kbps\": 128, \"audio_rate\": 48000, \"audio_channels\": 2},\n"
      printf "  \"window_s\": %s,\n  \"warmup_s\": %s,\n  \"cores\": %s,\n  \"clk_tck\": %s,\n  \"anchor\": \"nginx-rtmp\",\n  \"rows\": [\n", window, warmup, cores, hz
      for (i = 1; i <= NR; i++) {
        f = c[i, 1]; n = c[i, 2]; ok = c[i, 12] == "ok"
        cr = "null"; rr = "null"
        if (ok && (n in acpu)) {
          if (acpu[n] > 0) cr = sprintf("%.4f", c[i, 3] / acpu[n])
          if (arss[n] > 0) rr = sprintf("%.4f", c[i, 5] / arss[n])
        }
        printf "    {\"fanout\": \"%s\", \"outputs\": %s, \"status\": \"%s\", \"cpu_percent\": %s, \"cpu_source\": \"%s\", \"cpu_percent_ticks\": %s, \"rss_mib\": %s, \"pss_mib\": %s, \"peak_mib\": %s, \"latency_p50_ms\": %s, \"latency_p99_ms\": %s, \"latency_max_ms\": %s, \"frames_direct\": %s, \"frames_matched\": %s, \"frames_missing\": %s, \"receiver_outputs_flowing\": %s, \"receiver_outputs_expected\": %s, \"receiver_min_mbps\": %s, \"receiver_median_mbps\": %s, \"publisher_fps\": %s, \"steady_after_s\": %s, \"cpu_ratio\": %s, \"rss_ratio\": %s}%s\n",
          label[f], n, c[i, 12], num(c[i, 3]), c[i, 11], num(c[i, 4]), num(c[i, 5]), num(c[i, 6]), num(c[i, 7]),
          num(c[i, 8]), num(c[i, 9]), num(c[i, 10]), num(c[i, 13]), num(c[i, 14]), num(c[i, 15]),
          num(c[i, 18]), num(c[i, 19]), num(c[i, 20]), num(c[i, 21]), num(c[i, 22]), num(c[i, 23]), cr, rr, (i < NR ? "," : "")
      }
      printf "  ]\n}\n"
    }' "$RESULTS" >"$BENCH_JSON"
  log "JSON written to $BENCH_JSON"
fi

[[ $FAILED == 0 ]] || exit 1
