#!/usr/bin/env bash
# Per-buffer cost of cfgopvalidator, in instructions counted by valgrind's
# callgrind (repeatable from run to run, unlike a CPU share), on the stream
# of the ingest benchmark as cfliveinputsrc outputs it.  See bench/README.md.
#
# Usage: bench/validator.sh [--help]
#
# Each run is one `gst-launch-1.0 cfliveinputsrc num-buffers=N ...` under
# valgrind --tool=callgrind, fed over RTMP by an ffmpeg that pushes the
# ingest benchmark's input (looped, stream copy) as fast as it is read:
#   - VALIDATOR_RUNS times `! fakesink` and `! cfgopvalidator ! fakesink`,
#     alternating, with --separate-threads=yes: the validator's inclusive
#     count (gst_cf_gop_validator_transform_ip) per buffer, and the streaming
#     thread's and the whole process's counts, with - without;
#   - once `! cfgopvalidator ! fakesink` with
#     --toggle-collect=gst_cf_gop_validator_transform_ip: only what runs
#     inside the validator, and the copies and maps it makes.
#
# Environment:
#   BUILD_DIR          meson build dir holding the plugin (default <repo>/build)
#   VALIDATOR_BUFFERS  buffers (FLV tags) per run, the num-buffers of the
#                      source (default 4000, about 52 s of the stream)
#   VALIDATOR_RUNS     runs without and with the validator (default 3)
#   VALIDATOR_IPNS     instructions per nanosecond assumed for the time
#                      estimate, one value or a range "low high" (default "2 3")
#   VALIDATOR_TIMEOUT  seconds a run may take (default 600)
#   BENCH_CACHE_DIR    where the input is kept (as for ingest.sh)
#   BENCH_JSON         if set, also write the results as JSON to this file
#   BENCH_KEEP_LOGS    if set to 1, keep the temp dir (logs, callgrind files)

set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
VALIDATOR_BUFFERS=${VALIDATOR_BUFFERS:-4000}
VALIDATOR_RUNS=${VALIDATOR_RUNS:-3}
VALIDATOR_IPNS=${VALIDATOR_IPNS:-2 3}
VALIDATOR_TIMEOUT=${VALIDATOR_TIMEOUT:-600}
BENCH_JSON=${BENCH_JSON:-}
BENCH_KEEP_LOGS=${BENCH_KEEP_LOGS:-0}

STREAM_KEY=benchkey
VALIDATOR_FN=gst_cf_gop_validator_transform_ip
# Callers kept in callgrind's context names in the attribution run: enough
# for transform_ip -> gst_buffer_extract/map -> ... -> memcpy.
SEPARATE_CALLERS=8
# A memcpy call site averaging more than this many instructions per call is
# reported as a large copy.  AVX2 memcpy moves 32-128 bytes per few
# instructions, so 100 Ir is a copy of a few kB at most; one 4500 kb/s 30 fps
# video frame averages ~18.7 kB.
LARGE_COPY_IR=100
# FLV tags per second of the input: 30 video frames + 48000/1024 AAC frames.
TAGS_PER_SECOND=76.875

case ${1:-} in
  "") ;;
  -h | --help)
    usage
    exit 0
    ;;
  *) die "unknown argument: $1 (see --help)" ;;
esac

[[ $VALIDATOR_BUFFERS =~ ^[0-9]+$ && $VALIDATOR_BUFFERS -ge 100 ]] ||
  die "VALIDATOR_BUFFERS must be an integer >= 100"
[[ $VALIDATOR_RUNS =~ ^[0-9]+$ && $VALIDATOR_RUNS -ge 1 ]] ||
  die "VALIDATOR_RUNS must be a positive integer"
[[ $VALIDATOR_TIMEOUT =~ ^[0-9]+$ && $VALIDATOR_TIMEOUT -gt 0 ]] ||
  die "VALIDATOR_TIMEOUT must be a positive integer"
read -r IPNS_LO IPNS_HI _ <<<"$VALIDATOR_IPNS"
IPNS_HI=${IPNS_HI:-$IPNS_LO}
[[ $IPNS_LO =~ ^[0-9]+([.][0-9]+)?$ && $IPNS_HI =~ ^[0-9]+([.][0-9]+)?$ ]] ||
  die "VALIDATOR_IPNS must be one or two positive numbers"

# ---------------------------------------------------------------- checks

for tool in valgrind ffmpeg gst-launch-1.0 gst-inspect-1.0 awk; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -d $BUILD_DIR ]] || die "build dir $BUILD_DIR not found (meson setup build && ninja -C build)"

bench_setup_tmp cflive-validator "logs and callgrind files"

# A private registry, made here outside valgrind: the measured processes
# never scan plugins, and all of them start from the same registry.
export GST_PLUGIN_PATH=$BUILD_DIR
export GST_REGISTRY_1_0=$TMP_DIR/registry.bin
GST_REGISTRY_UPDATE=yes gst-inspect-1.0 cfgopvalidator >/dev/null 2>&1 ||
  die "element cfgopvalidator not found with GST_PLUGIN_PATH=$BUILD_DIR (build the plugin first: ninja -C $BUILD_DIR)"
gst-inspect-1.0 cfliveinputsrc >/dev/null 2>&1 ||
  die "element cfliveinputsrc not found with GST_PLUGIN_PATH=$BUILD_DIR"
export GST_REGISTRY_UPDATE=no
# Debug output or tracers would be counted too.
unset GST_DEBUG GST_DEBUG_FILE GST_TRACERS GST_DEBUG_DUMP_DOT_DIR

# ---------------------------------------------------------------- input

bench_input

# ---------------------------------------------------------------- runs

# run_one NAME WITH_VALIDATOR [valgrind options...]: one measured process;
# its callgrind file is $TMP_DIR/NAME.cg (NAME.cg-01, -02... per thread with
# --separate-threads=yes).
run_one() {
  local name=$1 with=$2 port gst_pid pub_pid i rc
  shift 2
  local -a chain=(fakesink)
  [[ $with == 1 ]] && chain=(cfgopvalidator ! fakesink)
  port=$(pick_ports 1)
  start_bg "$TMP_DIR/$name.log" valgrind --tool=callgrind \
    --callgrind-out-file="$TMP_DIR/$name.cg" "$@" \
    gst-launch-1.0 -q cfliveinputsrc "rtmp-url=rtmp://127.0.0.1:$port/live" \
    "stream-key=$STREAM_KEY" "num-buffers=$VALIDATOR_BUFFERS" ! "${chain[@]}"
  gst_pid=$STARTED_PID
  wait_listening "$port" "" "$gst_pid" "$name" "$TMP_DIR/$name.log" 120 ||
    die "$WAIT_ERROR"
  # No -re: as fast as the element reads (TCP back-pressure paces it).
  start_bg "$TMP_DIR/$name.pub.log" ffmpeg -nostdin -hide_banner -loglevel error \
    -stream_loop -1 -i "$INPUT" -c copy -f flv "rtmp://127.0.0.1:$port/live/$STREAM_KEY"
  pub_pid=$STARTED_PID
  # The publisher ends when the source has had its buffers and closes the
  # connection; gst-launch-1.0 then still has to stop and write its file.
  local pub_gone=-1
  for ((i = 0; ; i++)); do
    kill -0 "$gst_pid" 2>/dev/null || break
    if ((pub_gone < 0)) && ! kill -0 "$pub_pid" 2>/dev/null; then
      pub_gone=$i
    fi
    if ((pub_gone >= 0 && i - pub_gone > 600)); then
      show_log "publisher" "$TMP_DIR/$name.pub.log"
      show_log "$name" "$TMP_DIR/$name.log"
      die "$name: the publisher exited and gst-launch-1.0 did not end within 60 s"
    fi
    ((i < VALIDATOR_TIMEOUT * 10)) || die "$name: not done after ${VALIDATOR_TIMEOUT}s"
    sleep 0.1
  done
  rc=0
  wait "$gst_pid" || rc=$?
  kill -TERM -- "-$pub_pid" 2>/dev/null || true
  wait "$pub_pid" 2>/dev/null || true
  if [[ $rc != 0 ]] || ! compgen -G "$TMP_DIR/$name.cg*" >/dev/null; then
    show_log "$name" "$TMP_DIR/$name.log"
    die "$name: gst-launch-1.0 under callgrind failed (exit $rc)"
  fi
}

# Reads a callgrind file (event Ir) and prints tab-separated lines:
#   total  <Ir of the process>
#   fn     <function> <calls into it> <Ir inclusive over those calls>
#   ctx    <function> <caller> <calls> <self Ir> <inclusive Ir>
# "fn" for the validator's transform_ip; "ctx" for every function (context)
# that was called from inside it: with --separate-callers, a context is
# named func'caller'caller2'..., and it is inside the validator when the
# validator is one of its callers.
cg_parse() {
  awk -v vfn="$VALIDATOR_FN" '
    function name(s,   id, rest) {
      if (match(s, /^\([0-9]+\)/)) {
        id = substr(s, 2, RLENGTH - 2)
        rest = substr(s, RLENGTH + 1)
        sub(/^ /, "", rest)
        if (rest != "") names[id] = rest
        return names[id]
      }
      return s
    }
    /^fn=/ { fn = name(substr($0, 4)); next }
    /^cfn=/ { cfn = name(substr($0, 5)); next }
    /^calls=/ { split(substr($0, 7), c, " "); ncalls = c[1]; incall = 1; next }
    /^(summary|totals):/ { total = $2; next }
    /^[0-9+*-]/ {
      if (incall) { calls[cfn] += ncalls; incl[cfn] += $2; incall = 0 }
      else self[fn] += $2
      seen[fn] = 1
      next
    }
    END {
      print "total\t" total + 0
      n = 0; i = 0
      for (f in calls) {
        base = f; sub(/\047.*/, "", base)
        if (base == vfn) { n += calls[f]; i += incl[f] }
      }
      print "fn\t" vfn "\t" n "\t" i
      for (f in seen) {
        k = split(f, parts, "\047")
        inside = 0
        for (j = 1; j <= k; j++) if (parts[j] == vfn) inside = 1
        if (inside) print "ctx\t" parts[1] "\t" parts[2] "\t" calls[f] + 0 "\t" self[f] + 0 "\t" incl[f] + 0
      }
    }' "$1"
}

NB=$VALIDATOR_BUFFERS
log "input $INPUT: $NB buffers per run, $VALIDATOR_RUNS run(s) without and with the validator, then 1 attribution run"

# measure NAME: after run_one NAME ... --separate-threads=yes, prints
# "process_Ir streaming_thread_Ir validator_calls validator_inclusive_Ir".
# The streaming thread is the one that runs the source's create function
# (and, downstream of it, the validator and fakesink).
measure() {
  local name=$1 f total=0 t st="" calls=0 incl=0 n=0
  for f in "$TMP_DIR/$name".cg-*; do
    [[ -e $f ]] || die "$name: no callgrind file"
    cg_parse "$f" >"$f.txt"
    t=$(awk -F '\t' '$1 == "total" { print $2 }' "$f.txt")
    total=$((total + t))
    if grep -q 'gst_cf_live_input_src_create' "$f"; then
      st=$t
      n=$((n + 1))
      read -r calls incl < <(awk -F '\t' '$1 == "fn" { print $3, $4 }' "$f.txt")
    fi
  done
  [[ $n == 1 ]] ||
    die "$name: found $n streaming threads (the plugin needs debug symbols: a debug or debugoptimized build)"
  echo "$total $st $calls $incl"
}

P_WO=() S_WO=() P_WI=() S_WI=() INCL=() BUFS=()
for ((r = 1; r <= VALIDATOR_RUNS; r++)); do
  log "run $r/$VALIDATOR_RUNS: cfliveinputsrc ! fakesink"
  run_one "without-$r" 0 --separate-threads=yes
  read -r p s _ _ < <(measure "without-$r")
  P_WO+=("$p") S_WO+=("$s")
  log "run $r/$VALIDATOR_RUNS: cfliveinputsrc ! cfgopvalidator ! fakesink"
  run_one "with-$r" 1 --separate-threads=yes
  read -r p s b i < <(measure "with-$r")
  P_WI+=("$p") S_WI+=("$s") BUFS+=("$b") INCL+=("$i")
  [[ $b == "$NB" ]] || log "note: the validator saw $b buffers in run $r, not $NB"
done
log "attribution run: --toggle-collect=$VALIDATOR_FN --separate-callers=$SEPARATE_CALLERS"
run_one attrib 1 --toggle-collect="$VALIDATOR_FN" --separate-callers="$SEPARATE_CALLERS"
cg_parse "$TMP_DIR/attrib.cg" >"$TMP_DIR/attrib.txt"

# ---------------------------------------------------------------- report

awk -F '\t' -v nb="$NB" -v p_wo="${P_WO[*]}" -v s_wo="${S_WO[*]}" -v p_wi="${P_WI[*]}" \
  -v s_wi="${S_WI[*]}" -v incl="${INCL[*]}" -v bufs="${BUFS[*]}" \
  -v lo="$IPNS_LO" -v hi="$IPNS_HI" -v large="$LARGE_COPY_IR" -v json="$BENCH_JSON" \
  -v input="$(basename "$INPUT")" -v rate="$TAGS_PER_SECOND" \
  -v cpu="$(awk -F ': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)" '
  function us(ir, ipns) { return ir / ipns / 1000 }
  function range(ir) {
    if (lo == hi) return sprintf("%.2f", us(ir, lo))
    return sprintf("%.2f-%.2f", us(ir, hi), us(ir, lo))
  }
  # mean of a space-separated list; sets MIN, MAX, N
  function mean(list,   a, i, s) {
    N = split(list, a, " "); s = 0; MIN = a[1] + 0; MAX = a[1] + 0
    for (i = 1; i <= N; i++) {
      s += a[i]
      if (a[i] + 0 < MIN) MIN = a[i] + 0
      if (a[i] + 0 > MAX) MAX = a[i] + 0
    }
    return N ? s / N : 0
  }
  function jlist(s) { gsub(/ /, ", ", s); return "[" s "]" }
  # % of one core at the stream rate: Ir/buffer * tags/s / (Ir/ns * 1e9) * 100
  function core(irb) {
    if (lo == hi) return sprintf("%.4f", irb * rate / lo / 1e7)
    return sprintf("%.4f-%.4f", irb * rate / hi / 1e7, irb * rate / lo / 1e7)
  }
  function row(label, ir, n, spread) {
    printf "%-44s %12.0f %8d %10.0f %11s %9s\n", label, ir, n, ir / n, range(ir / n), spread == "" ? "-" : sprintf("%.0f", spread)
  }
  $1 == "total" { tog_total = $2 }
  $1 == "fn" { tog_bufs = $3; tog_incl = $4 }
  $1 == "ctx" {
    f = $2
    if (f ~ /mem(cpy|move)/) { cpcalls[$3] += $4; cpir[$3] += $5; cpy_calls += $4; cpy_ir += $5 }
    if (f == "gst_buffer_map") bmap += $4
    if (f == "gst_memory_map") mmap += $4
    if (f == "gst_allocator_alloc") alloc += $4
    if (f == "gst_memory_copy" || f == "gst_buffer_copy_into" || f == "gst_buffer_copy_deep") copies += $4
    selfir[f] += $5
  }
  END {
    inc = mean(incl); inc_sp = (MAX - MIN) / nb
    b = mean(bufs); b_min = MIN; b_max = MAX
    swo = mean(s_wo); swo_sp = MAX - MIN; nruns = N
    swi = mean(s_wi); swi_sp = MAX - MIN
    pwo = mean(p_wo); pwo_sp = MAX - MIN
    pwi = mean(p_wi); pwi_sp = MAX - MIN
    s_sp = (swo_sp > swi_sp ? swo_sp : swi_sp) / nb
    p_sp = (pwo_sp > pwi_sp ? pwo_sp : pwi_sp) / nb

    printf "\ncfgopvalidator: cost per buffer, in instructions (callgrind, user space)\n"
    printf "stream: %s looped over RTMP into cfliveinputsrc (no -re), %d buffers (FLV tags) per run, %d run(s) each\n", input, nb, nruns
    printf "us/buffer assumes %s instructions per ns%s\n\n", (lo == hi ? lo : lo "-" hi), (cpu != "" ? " (CPU here: " cpu ")" : "")
    printf "%-44s %12s %8s %10s %11s %9s\n", "measure (mean of the runs)", "Ir", "buffers", "Ir/buffer", "us/buffer", "spread"
    row("validator: inside transform_ip (inclusive)", inc, b, inc_sp)
    row("element: streaming thread, with - without", swi - swo, nb, s_sp)
    row("element: whole process, with - without", pwi - pwo, nb, p_sp)
    printf "(spread: largest run-to-run range of one configuration, Ir/buffer; the\n"
    printf " differences are no finer than it)\n"
    printf "  at the stream'"'"'s %.1f tags/s (30 video + 46.9 AAC frames): the validator %s %% of one core,\n", rate, core(inc / b)
    printf "  adding the element %s %% (what ingest.sh'"'"'s with - without cpu%% difference would show)\n", core((swi - swo) / nb)
    printf "  streaming thread: without %.0f, with %.0f Ir; whole process: without %.0f, with %.0f Ir\n", swo, swi, pwo, pwi
    printf "  buffers seen by the validator: %s; inside transform_ip is %.2f%% of the process, %.2f%% of its streaming thread\n", b_min == b_max ? b_min : b_min "-" b_max, 100 * inc / pwi, 100 * inc / swi

    printf "\ninside the validator (attribution run: --toggle-collect, %d Ir over %d buffers = %.0f Ir/buffer):\n", tog_total, tog_bufs, tog_bufs ? tog_total / tog_bufs : 0
    printf "  memcpy/memmove:       %d calls (%.2f per buffer), %d Ir\n", cpy_calls, cpy_calls / nb, cpy_ir
    big = 0
    for (k in cpcalls) {
      ipc = cpcalls[k] ? cpir[k] / cpcalls[k] : 0
      printf "    called from %-24s %7d calls, %6.1f Ir/call\n", k, cpcalls[k], ipc
      if (ipc > large) big = 1
    }
    printf "  gst_buffer_map:       %d calls, %d memories allocated under it (a merge copies the buffer)\n", bmap, alloc
    printf "  gst_memory_map:       %d calls (%.2f per buffer; system memory: returns a pointer, no copy)\n", mmap, mmap / nb
    printf "  memory/buffer copies: %d (gst_memory_copy, gst_buffer_copy_into, gst_buffer_copy_deep)\n", copies
    if (big) printf "  full-frame copies:    POSSIBLE: a memcpy call site averages more than %d Ir per call\n", large
    else printf "  full-frame copies:    none (no memcpy call site averages more than %d Ir per call;\n                        a 4500 kb/s 30 fps video frame averages ~18.7 kB)\n", large
    printf "  largest self costs:\n"
    n = 0
    for (f in selfir) order[++n] = f
    for (i = 1; i <= n; i++)
      for (j = i + 1; j <= n; j++)
        if (selfir[order[j]] > selfir[order[i]]) { t = order[i]; order[i] = order[j]; order[j] = t }
    for (i = 1; i <= n && i <= 8; i++)
      printf "    %-40s %6.0f Ir/buffer\n", order[i], selfir[order[i]] / nb

    if (json != "") {
      printf "{\n  \"benchmark\": \"validator\",\n  \"input\": \"%s\",\n  \"buffers_per_run\": %d,\n  \"runs\": %d,\n", input, nb, nruns > json
      printf "  \"instructions_per_ns\": [%s, %s],\n", lo, hi > json
      printf "  \"validator_inclusive_ir\": %s,\n  \"validator_buffers\": %s,\n", jlist(incl), jlist(bufs) > json
      printf "  \"validator_ir_per_buffer\": %.1f,\n  \"validator_us_per_buffer\": [%.3f, %.3f],\n", inc / b, us(inc / b, hi), us(inc / b, lo) > json
      printf "  \"streaming_thread_ir_without\": %s,\n  \"streaming_thread_ir_with\": %s,\n", jlist(s_wo), jlist(s_wi) > json
      printf "  \"element_ir_per_buffer\": %.1f,\n  \"element_spread_ir_per_buffer\": %.1f,\n", (swi - swo) / nb, s_sp > json
      printf "  \"tags_per_second\": %s,\n  \"validator_core_percent\": [%.5f, %.5f],\n", rate, inc / b * rate / hi / 1e7, inc / b * rate / lo / 1e7 > json
      printf "  \"process_ir_without\": %s,\n  \"process_ir_with\": %s,\n", jlist(p_wo), jlist(p_wi) > json
      printf "  \"process_ir_per_buffer\": %.1f,\n  \"process_spread_ir_per_buffer\": %.1f,\n", (pwi - pwo) / nb, p_sp > json
      printf "  \"memcpy_calls\": %d,\n  \"memcpy_ir\": %d,\n  \"buffer_map_calls\": %d,\n  \"memory_map_calls\": %d,\n", cpy_calls, cpy_ir, bmap, mmap > json
      printf "  \"allocs_under_map\": %d,\n  \"copies\": %d,\n  \"full_frame_copies\": %s\n}\n", alloc, copies, big ? "true" : "false" > json
    }
  }' "$TMP_DIR/attrib.txt"
echo
echo "(Ir: instructions executed in user space; system calls are not counted."
echo " inside transform_ip: the validator's own work.  streaming thread, with -"
echo " without: that plus GstBaseTransform and one more pad push, i.e. the cost of"
echo " adding the element.  whole process: the same, plus the noise of the RTMP"
echo " I/O and main threads.)"
[[ -z $BENCH_JSON ]] || log "JSON written to $BENCH_JSON"
