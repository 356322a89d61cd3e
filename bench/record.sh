#!/usr/bin/env bash
# Recording benchmark: CPU and memory of recording one 720p30 4.5 Mbps RTMP
# stream with `cfliveinputsrc ! cfrecordsink` (HLS segments synced every
# second, playlist and Video JSON), next to `ffmpeg -c copy` receiving the
# same stream over RTMP and writing it as HLS segments, in one run; and
# `cfliveinputsrc ! fakesink` receiving it too, so that the recording's own
# share is the difference. See bench/README.md.
#
# Usage: bench/record.sh [--help]
#
# Environment:
#   BUILD_DIR          meson build dir holding the plugin (default <repo>/build)
#   BENCH_SECONDS      measurement window in seconds (default 30)
#   BENCH_WARMUP       warm-up before the window, seconds (default 5)
#   BENCH_CACHE_DIR    where the generated input is kept between runs
#   BENCH_KEEP_LOGS    if set to 1, keep the temp dir (logs, recordings)

set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
BENCH_SECONDS=${BENCH_SECONDS:-30}
BENCH_WARMUP=${BENCH_WARMUP:-5}
BENCH_KEEP_LOGS=${BENCH_KEEP_LOGS:-0}
STREAM_KEY=benchkey

case ${1:-} in
  -h | --help)
    usage
    exit 0
    ;;
  "") ;;
  *) die "unknown argument: $1 (see --help)" ;;
esac
[[ $BENCH_SECONDS =~ ^[0-9]+$ && $BENCH_SECONDS -gt 0 ]] ||
  die "BENCH_SECONDS must be a positive integer"
[[ $BENCH_WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be an integer"

for tool in ffmpeg gst-launch-1.0 gst-inspect-1.0 awk du; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -d $BUILD_DIR ]] || die "build dir $BUILD_DIR not found (meson setup build && ninja -C build)"
GST_PLUGIN_PATH=$BUILD_DIR gst-inspect-1.0 cfrecordsink >/dev/null 2>&1 ||
  die "element cfrecordsink not found with GST_PLUGIN_PATH=$BUILD_DIR (build the plugin first)"

CLK_TCK=$(getconf CLK_TCK)
bench_setup_tmp cflive-bench-record "logs and recordings"
bench_input

read -r FF_PORT REC_PORT ING_PORT < <(pick_ports 3)
[[ -n ${ING_PORT:-} ]] || die "could not pick free ports"

TARGETS=(ffmpeg record ingest)
declare -A PID PORT LABEL LOGF DIR
LABEL[ffmpeg]="ffmpeg -c copy -f hls"
LABEL[record]="cfliveinputsrc ! cfrecordsink"
LABEL[ingest]="cfliveinputsrc ! fakesink"
PORT[ffmpeg]=$FF_PORT
PORT[record]=$REC_PORT
PORT[ingest]=$ING_PORT

# ffmpeg as the RTMP server of its publisher (-listen 1), remuxing to
# MPEG-TS segments of 4 s (the GOP) and an EVENT playlist, as the element
DIR[ffmpeg]=$TMP_DIR/ffmpeg-rec
mkdir -p "${DIR[ffmpeg]}"
LOGF[ffmpeg]=$TMP_DIR/ffmpeg-rec.log
start_bg "${LOGF[ffmpeg]}" ffmpeg -nostdin -hide_banner -loglevel warning \
  -listen 1 -i "rtmp://127.0.0.1:$FF_PORT/live/$STREAM_KEY" -c copy \
  -f hls -hls_time 4 -hls_list_size 0 -hls_playlist_type event \
  -hls_segment_filename "${DIR[ffmpeg]}/seg-%05d.ts" "${DIR[ffmpeg]}/video.m3u8"
PID[ffmpeg]=$STARTED_PID

DIR[record]=$TMP_DIR/cflive-rec
LOGF[record]=$TMP_DIR/gst-record.log
start_bg "${LOGF[record]}" env GST_PLUGIN_PATH="$BUILD_DIR" gst-launch-1.0 \
  cfliveinputsrc "rtmp-url=rtmp://127.0.0.1:$REC_PORT/live" "stream-key=$STREAM_KEY" \
  ! cfrecordsink "location=${DIR[record]}" live-input=bench
PID[record]=$STARTED_PID

LOGF[ingest]=$TMP_DIR/gst-ingest.log
start_bg "${LOGF[ingest]}" env GST_PLUGIN_PATH="$BUILD_DIR" gst-launch-1.0 \
  cfliveinputsrc "rtmp-url=rtmp://127.0.0.1:$ING_PORT/live" "stream-key=$STREAM_KEY" \
  ! fakesink
PID[ingest]=$STARTED_PID

for t in "${TARGETS[@]}"; do
  wait_listening "${PORT[$t]}" tcp "${PID[$t]}" "${LABEL[$t]}" "${LOGF[$t]}" 20 ||
    die "$WAIT_ERROR"
  log "${LABEL[$t]} listening on 127.0.0.1:${PORT[$t]} (pid ${PID[$t]})"
done

declare -A PUB_PID PUB_LOG
for t in "${TARGETS[@]}"; do
  PUB_LOG[$t]=$TMP_DIR/pub-$t.log
  start_bg "${PUB_LOG[$t]}" ffmpeg -nostdin -hide_banner -loglevel warning \
    -re -stream_loop -1 -i "$INPUT" -c copy -f flv \
    "rtmp://127.0.0.1:${PORT[$t]}/live/$STREAM_KEY"
  PUB_PID[$t]=$STARTED_PID
done

check_alive() {
  local t
  for t in "${TARGETS[@]}"; do
    if ! kill -0 "${PID[$t]}" 2>/dev/null; then
      show_log "${LABEL[$t]}" "${LOGF[$t]}"
      die "${LABEL[$t]} exited during the benchmark"
    fi
    if ! kill -0 "${PUB_PID[$t]}" 2>/dev/null; then
      show_log "publisher to ${LABEL[$t]}" "${PUB_LOG[$t]}"
      die "the publisher to ${LABEL[$t]} exited"
    fi
  done
}

# Bytes of the segments written so far by a recorder
rec_bytes() {
  local dir=$1
  find "$dir" -name 'seg-*.ts' -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}

log "warm-up ${BENCH_WARMUP}s"
for ((i = 0; i < BENCH_WARMUP * 4; i++)); do
  sleep 0.25
  check_alive
done
for t in ffmpeg record; do
  [[ $(rec_bytes "${DIR[$t]}") -gt 0 ]] || {
    show_log "${LABEL[$t]}" "${LOGF[$t]}"
    die "${LABEL[$t]} wrote nothing during the warm-up"
  }
done

declare -A T0 T1 N0 N1 TID0 TID1 BY0 BY1
snapshot() { # snapshot 0|1
  local t ticks ns tids
  for t in "${TARGETS[@]}"; do
    ticks=$(sum_ticks "${PID[$t]}") || die "${LABEL[$t]} vanished during the window"
    read -r ns tids < <(threads_ns "${PID[$t]}")
    if [[ $1 == 0 ]]; then
      T0[$t]=$ticks N0[$t]=$ns TID0[$t]=$tids
      [[ -n ${DIR[$t]:-} ]] && BY0[$t]=$(rec_bytes "${DIR[$t]}")
    else
      T1[$t]=$ticks N1[$t]=$ns TID1[$t]=$tids
      [[ -n ${DIR[$t]:-} ]] && BY1[$t]=$(rec_bytes "${DIR[$t]}")
    fi
  done
  return 0
}

snapshot 0
wall0=$(now)
log "measuring for ${BENCH_SECONDS}s"
for ((i = 0; i < BENCH_SECONDS; i++)); do
  sleep 1
  check_alive
done
snapshot 1
wall1=$(now)

declare -A RSS HWM
for t in "${TARGETS[@]}"; do
  RSS[$t]=$(proc_status_kb "${PID[$t]}" VmRSS)
  HWM[$t]=$(proc_status_kb "${PID[$t]}" VmHWM)
done

# True if every thread id of the "tid:ns,..." list $1 is in the list $2.
tids_kept() {
  local tid
  local -a before
  IFS=, read -ra before <<<"$1"
  for tid in "${before[@]}"; do
    [[ ,$2 == *,"${tid%%:*}":* ]] || return 1
  done
}

DATA=$TMP_DIR/results.txt
: >"$DATA"
for t in "${TARGETS[@]}"; do
  dns=-1
  if [[ ${N1[$t]} -gt 0 ]] && tids_kept "${TID0[$t]}" "${TID1[$t]}"; then
    dns=$((N1[$t] - N0[$t]))
  fi
  bytes=-1
  [[ -n ${DIR[$t]:-} ]] && bytes=$((BY1[$t] - BY0[$t]))
  awk -v key="$t" -v label="${LABEL[$t]}" -v dt="$((T1[$t] - T0[$t]))" -v hz="$CLK_TCK" \
    -v dns="$dns" -v w0="$wall0" -v w1="$wall1" -v rss="${RSS[$t]}" -v hwm="${HWM[$t]}" \
    -v bytes="$bytes" '
    BEGIN {
      w = w1 - w0
      cpu = dns >= 0 ? dns / 1e9 / w * 100 : dt / hz / w * 100
      mbps = bytes >= 0 ? sprintf("%.2f", bytes * 8 / w / 1e6) : "-"
      printf "%s\t%s\t%.2f\t%.1f\t%.1f\t%s\n", key, label, cpu, rss / 1024, hwm / 1024, mbps
    }' >>"$DATA"
done

WINDOW=$(awk -v a="$wall0" -v b="$wall1" 'BEGIN { printf "%.2f", b - a }')
echo
echo "recording benchmark: 1280x720 30fps H.264 4500k (GOP 4 s) + AAC 128k over RTMP"
echo "window ${WINDOW}s after ${BENCH_WARMUP}s warm-up, $(nproc) cores; cpu% = % of one core"
awk -F '\t' '
  { key[NR] = $1; label[NR] = $2; cpu[NR] = $3; rss[NR] = $4; hwm[NR] = $5; mbps[NR] = $6
    if ($1 == "ffmpeg") { acpu = $3; arss = $4 }
    if ($1 == "ingest") { icpu = $3; irss = $4 }
    if ($1 == "record") { rcpu = $3; rrss = $4 } }
  END {
    printf "%-32s %7s %8s %9s %10s %10s %10s\n", "target", "cpu%", "rss_MiB", "peak_MiB", "disk_Mbps", "cpu_ratio", "rss_ratio"
    for (i = 1; i <= NR; i++) {
      cr = acpu > 0 ? sprintf("%.2f", cpu[i] / acpu) : "n/a"
      rr = arss > 0 ? sprintf("%.2f", rss[i] / arss) : "n/a"
      printf "%-32s %7.2f %8.1f %9.1f %10s %10s %10s\n", label[i], cpu[i], rss[i], hwm[i], mbps[i], cr, rr
    }
    printf "recording share (cfrecordsink - fakesink): cpu%% %+.2f, rss %+.1f MiB\n", rcpu - icpu, rrss - irss
  }' "$DATA"
echo "(ratios relative to ffmpeg -c copy -f hls; each receives its own publisher of the same"
echo " input over RTMP; disk_Mbps is the segment bytes written in the window; cfrecordsink also"
echo " fdatasyncs every second, ffmpeg never syncs)"
