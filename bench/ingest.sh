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
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

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

ONLY=all

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

bench_setup_tmp cflive-bench

# ---------------------------------------------------------------- input

bench_input

# ---------------------------------------------------------------- ports

# Kernel receive drops (last column of /proc/net/udp{,6}) of the UDP
# socket(s) bound to port $1: datagrams lost before libsrt read them.
udp_drops() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v port="$hex" '
    FNR > 1 { split($2, a, ":"); if (a[2] == port) d += $NF }
    END { print d + 0 }' /proc/net/udp /proc/net/udp6 2>/dev/null || echo 0
}

read -r NGINX_PORT CFLIVE_PORT VALIDATOR_PORT SRT_PORT < <(pick_ports 3 1)
[[ -n ${SRT_PORT:-} ]] || die "could not pick free ports"

# ---------------------------------------------------------------- /proc helpers

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
  # master_process on (the default, as deployed) with one worker: the
  # measured cost is master + worker; the master is idle while streaming.
  nginx_start "$ndir" "$NGINX_PORT" warn 64
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
  wait_listening "${PORT[$t]}" "${PROTO[$t]}" "${PID[$t]}" "${LABEL[$t]}" "${LOGF[$t]}" 20 ||
    die "$WAIT_ERROR"
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

# True if every thread id of the "tid:ns,..." list $1 is in the list $2.
tids_kept() {
  local tid
  local -a before
  IFS=, read -ra before <<<"$1"
  for tid in "${before[@]}"; do
    [[ ,$2 == *,"${tid%%:*}":* ]] || return 1
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
