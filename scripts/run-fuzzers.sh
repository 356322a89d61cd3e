#!/bin/sh
# Builds the libFuzzer targets and runs each one for a bounded time.
#
#   FUZZ_SECONDS=30 scripts/run-fuzzers.sh
#
# Every executable build-fuzz/tests/fuzz/fuzz_<name> is run on a temporary
# copy of tests/fuzz/corpus/<name>/ (so the repository is left untouched),
# with tests/fuzz/<name>.dict as dictionary when that file exists. Crash
# reproducers are kept in build-fuzz/fuzz-artifacts/<name>/. The script
# exits non-zero if any target finds a problem.
#
# Environment:
#   FUZZ_SECONDS     seconds to run each target (default 30)
#   FUZZ_BUILD_DIR   build directory (default build-fuzz)
#   FUZZ_TARGETS     space-separated target names to run (default: all)
#   FUZZ_JOBS        ninja parallelism (default: ninja's own)

set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
cd "$srcdir"

seconds=${FUZZ_SECONDS:-30}
builddir=${FUZZ_BUILD_DIR:-build-fuzz}

case "$seconds" in
  ''|*[!0-9]*) echo "FUZZ_SECONDS must be a whole number of seconds" >&2
    exit 2 ;;
esac

if [ ! -f "$builddir/build.ninja" ]; then
  echo "Configuring $builddir with clang"
  CC=${FUZZ_CC:-clang} meson setup "$builddir" -Dfuzzing=true \
      -Dtests=disabled >"$builddir.setup.log" 2>&1 || {
    cat "$builddir.setup.log" >&2
    rm -f "$builddir.setup.log"
    exit 1
  }
  rm -f "$builddir.setup.log"
elif ! grep -q '"name": "fuzzing", "value": true' \
    "$builddir/meson-info/intro-buildoptions.json" 2>/dev/null; then
  meson configure "$builddir" -Dfuzzing=true
fi

# Regenerate first if a meson.build changed, so new targets are listed
ninja -C "$builddir" build.ninja >/dev/null

# Only build the fuzz targets: the rest of the tree is not needed here
targets=$(ninja -C "$builddir" -t targets all |
    sed -n 's|^\(tests/fuzz/fuzz_[A-Za-z0-9_]*\): .*|\1|p' | sort -u)
if [ -z "$targets" ]; then
  echo "No fuzz targets found in $builddir/tests/fuzz" >&2
  exit 1
fi
# shellcheck disable=SC2086 # one target per word
ninja -C "$builddir" ${FUZZ_JOBS:+-j "$FUZZ_JOBS"} $targets

workdir=$(mktemp -d "${TMPDIR:-/tmp}/cflive-fuzz.XXXXXX")
trap 'rm -rf "$workdir"' EXIT INT TERM

# A value from libFuzzer's -print_final_stats=1 output
final_stat () {
  sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}

failed=0
ran=0
for exe in "$builddir"/tests/fuzz/fuzz_*; do
  if [ ! -f "$exe" ] || [ ! -x "$exe" ]; then
    continue
  fi
  target=$(basename "$exe")
  name=${target#fuzz_}
  if [ -n "${FUZZ_TARGETS:-}" ]; then
    case " $FUZZ_TARGETS " in
      *" $name "*|*" $target "*) ;;
      *) continue ;;
    esac
  fi
  ran=$((ran + 1))

  corpus="$workdir/corpus-$name"
  mkdir -p "$corpus"
  seeds=0
  if [ -d "tests/fuzz/corpus/$name" ]; then
    cp -R "tests/fuzz/corpus/$name/." "$corpus/"
    seeds=$(find "$corpus" -type f | wc -l | tr -d ' ')
  else
    echo "note: no seed corpus tests/fuzz/corpus/$name/" >&2
  fi

  artifacts="$builddir/fuzz-artifacts/$name"
  mkdir -p "$artifacts"

  set -- -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=1024 \
      -timeout=25 -print_final_stats=1 -artifact_prefix="$artifacts/"
  if [ -f "tests/fuzz/$name.dict" ]; then
    set -- "$@" -dict="tests/fuzz/$name.dict"
  fi

  log="$builddir/fuzz-artifacts/$name.log"
  rc=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
      "$exe" "$@" "$corpus" >"$log" 2>&1 || rc=$?

  runs=$(final_stat "$log" number_of_executed_units)
  rate=$(final_stat "$log" average_exec_per_sec)
  rss=$(final_stat "$log" peak_rss_mb)
  cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$log" | tail -n 1)
  corp=$(find "$corpus" -type f | wc -l | tr -d ' ')

  if [ "$rc" -eq 0 ]; then
    printf '%s: OK: %s runs in %ss (%s exec/s), cov %s, corpus %s -> %s, ' \
        "$target" "${runs:-?}" "$seconds" "${rate:-?}" "${cov:-?}" \
        "$seeds" "$corp"
    printf 'peak rss %s MB\n' "${rss:-?}"
  else
    failed=$((failed + 1))
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    printf '%s: FAILED (exit %s) after %s runs; reproducer: %s; log: %s\n' \
        "$target" "$rc" "${runs:-?}" "${crash:-none}" "$log"
    grep -E 'ERROR|SUMMARY|runtime error|check failed|failed:' "$log" |
        head -n 10 | sed 's/^/    /' >&2 || true
  fi
done

if [ "$ran" -eq 0 ]; then
  echo "No fuzz targets were run" >&2
  exit 1
fi
if [ "$failed" -ne 0 ]; then
  echo "$failed of $ran fuzz targets failed" >&2
  exit 1
fi
echo "All $ran fuzz targets ran clean for ${seconds}s each"
