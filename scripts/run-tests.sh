#!/usr/bin/env bash
# Runs every test: unit tests, real-peer integration tests and the fuzzers
# (for a bounded time each), then prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
scripts/build.sh || exit 1

status=0
meson test -C build --print-errorlogs --num-processes 2 || status=1

fuzz_passed=0
fuzz_failed=0
if FUZZ_SECONDS="${FUZZ_SECONDS:-30}" scripts/run-fuzzers.sh | tee build/fuzz.log; then
  :
else
  status=1
fi
fuzz_passed=$(grep -c '^fuzz_[a-z0-9_]*: OK' build/fuzz.log || true)
fuzz_failed=$(grep -c '^fuzz_[a-z0-9_]*: FAILED' build/fuzz.log || true)

python3 - "$fuzz_passed" "$fuzz_failed" <<'PY'
import json, sys
passed = failed = skipped = 0
with open("build/meson-logs/testlog.json") as f:
    for line in f:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
passed += int(sys.argv[1]); failed += int(sys.argv[2])
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
