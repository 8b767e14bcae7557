#!/usr/bin/env bash
# Runs berth's libFuzzer targets (fuzz/README.md) and prints, per target,
# the executions, the coverage libFuzzer reached (cov: edges, ft: features)
# and the findings. Exits 1 when a target found something (its inputs are
# kept under $BUILD/fuzz-runs/<target>/artifacts/) or did not run. Builds
# nothing:
#
#   cmake -S . -B build-asan -DCMAKE_CXX_COMPILER=clang++ -DBERTH_SANITIZE=address -DBERTH_FUZZ=ON
#   cmake --build build-asan --target fuzz_targets
#   bash bench/fuzz.sh [--time S | --runs N] [--jobs J] [--build DIR] [target...]
#
# --time S     each target runs S seconds (default 60)
# --runs N     each target runs N inputs instead (the goal: 1000000 without a finding)
# --jobs J     J targets at a time (default 1: one core each)
# --build DIR  the fuzzing build (default $BERTH_FUZZ_BUILD_DIR or build-asan)
# target...    some targets only (default: every *_fuzz in the build)
#
# Each run starts from the committed seeds (fuzz/corpus/<target>/, read
# only) with the target's dictionary (fuzz/dict/<target>.dict); what it
# learns goes to $BUILD/fuzz-runs/<target>/corpus, replaced on every run.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BERTH_FUZZ_BUILD_DIR:-build-asan}
limit=(-max_total_time=60)
jobs=1
targets=()
while (($#)); do
  case $1 in
    --time) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

if [[ ! -d $build/src ]]; then
  echo "fuzz.sh: no fuzzing build in $build; see the top of this script" >&2
  exit 1
fi
declare -A binary
while IFS= read -r path; do binary[$(basename "$path")]=$path; done < <(
  find "$build/src" -name '*_fuzz' -type f -executable)
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(printf '%s\n' "${!binary[@]}" | sort)
fi
if ((${#targets[@]} == 0)); then
  echo "fuzz.sh: $build has no fuzz targets; build them with --target fuzz_targets" >&2
  exit 1
fi

# Absolute: a crash on a thread with its own working directory (the layer
# unpacker's) still writes its input here.
runs=$(realpath "$build")/fuzz-runs
# One target: its log, grown corpus and findings under $runs/<target>/.
run_target() {
  local target=$1 work=$runs/$1
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  local args=("${limit[@]}" -print_final_stats=1 -timeout=25 -rss_limit_mb=4096
    -artifact_prefix="$work/artifacts/")
  [[ -f fuzz/dict/$target.dict ]] && args+=(-dict="fuzz/dict/$target.dict")
  local seeds=()
  [[ -d fuzz/corpus/$target ]] && seeds=("fuzz/corpus/$target")
  local start=$SECONDS rc=0
  "${binary[$target]}" "${args[@]}" "$work/corpus" "${seeds[@]}" >"$work/log" 2>&1 || rc=$?
  echo "$rc $((SECONDS - start))" >"$work/result"
}

for target in "${targets[@]}"; do
  if [[ -z ${binary[$target]:-} ]]; then
    echo "fuzz.sh: no target $target in $build" >&2
    exit 1
  fi
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  run_target "$target" &
done
wait

status=0
printf '%-26s %8s %11s %9s %6s %6s %7s %s\n' target seconds executions exec/s cov ft corpus findings
for target in "${targets[@]}"; do
  work=$runs/$target log=$runs/$target/log
  read -r rc seconds <"$work/result"
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  # The last status line: "#N DONE cov: C ft: F corp: K/..."
  last=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  findings=$(find "$work/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o \
    -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  rate=$((${executions:-0} / (seconds > 0 ? seconds : 1)))
  note=""
  if ((findings > 0)); then
    note=" ($work/artifacts)"
    status=1
  elif ((rc != 0)); then
    note=" (exit $rc; $log)"
    status=1
  fi
  printf '%-26s %8s %11s %9s %6s %6s %7s %s%s\n' "$target" "$seconds" "${executions:-?}" "$rate" \
    "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$findings" "$note"
done
if ((status)); then
  # The first report of each failed target, for a CI log.
  for target in "${targets[@]}"; do
    read -r rc _ <"$runs/$target/result"
    if ((rc != 0)); then
      echo "--- $target: $runs/$target/log" >&2
      grep -m1 -A30 -E '^==[0-9]+==|fuzz check failed|runtime error|^ERROR' "$runs/$target/log" >&2 ||
        tail -n 30 "$runs/$target/log" >&2
    fi
  done
fi
exit $status
