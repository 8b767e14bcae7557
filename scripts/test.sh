#!/usr/bin/env bash
# Builds berth and runs every test suite: the unit tests (CTest) and the
# compatibility suite (pytest with the real aws CLI and boto3). Exits
# non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
build=${BERTH_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2

status=0
(cd "$build" && ctest --output-on-failure -j2 --timeout 300) || status=1
# Debian's python and aws CLI: the suite must not pick up other installs on PATH.
BERTH_BIN="$PWD/$build/berth" /usr/bin/python3 -m pytest tests -q -p no:cacheprovider || status=1
exit $status
