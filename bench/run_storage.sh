#!/usr/bin/env bash
# Runs the durable-write benchmark (bench/storage_bench.cc): a registry blob
# upload and the SQLite store's group commit, each beside the disk's own
# floor measured in the same run. Builds nothing:
#   cmake --build build --target berth_storage_bench && bash bench/run_storage.sh
# TMPDIR chooses the disk measured (a scratch folder is made and removed there).
# Extra arguments go to the binary (--upload-mib, --seconds, --only).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_setup berth-storage
BIN="$build/bench/berth_storage_bench"
if [[ ! -x "$BIN" ]]; then
  echo "run_storage.sh: $BIN not found; build it first:" >&2
  echo "  cmake --build ${BERTH_BUILD_DIR:-build} --target berth_storage_bench" >&2
  exit 1
fi
require_free_mib "$tmp" 1024 "the upload" "set TMPDIR to a larger disk or pass --upload-mib"
"$BIN" --dir "$tmp/scratch" "$@"
