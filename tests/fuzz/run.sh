#!/usr/bin/env bash
# run.sh: builds the libFuzzer harnesses with clang (build-fuzz/) and runs each for N executions, printing execs and coverage.
#
#   tests/fuzz/run.sh [RUNS] [HARNESS...]      e.g. tests/fuzz/run.sh 10000000 decode png_diff
#
# RUNS defaults to 1000000 per harness (fork mode stops at the end of the job
# that reaches RUNS, so the count printed can be a little higher); HARNESS is decode, png_diff
# and/or rle (default all three, one after the other). Each run reads the committed corpus
# (tests/fuzz/corpus/<harness>), every regression (tests/fuzz/regressions)
# and the conformance seeds (../shared/conformance, or $H5IMG_CONFORMANCE_DIR),
# writes new inputs to build-fuzz/work/<harness>/corpus (not committed:
# minimise the interesting ones into the committed corpus with
# `fuzz_<harness> -merge=1 tests/fuzz/corpus/<harness> build-fuzz/work/<harness>/corpus`)
# and crashes to build-fuzz/work/<harness>/crash-*: copy those into
# tests/fuzz/regressions/ so the replay tests keep them.
# One worker process, nice 10: the machine is shared. libFuzzer runs in fork
# mode (-fork=1 -ignore_crashes=1): a single child fuzzes at a time, and a
# known, not yet fixed finding does not end the campaign; every distinct
# crash is still written out. FUZZ_MODE=jobs uses -jobs=1 -workers=1 instead
# (stops at the first crash). Extra libFuzzer flags go in FUZZ_FLAGS.
# FUZZ_EXTRA_SEEDS: more seed directories (colon-separated, read only, like
# the conformance seeds), for every harness run, e.g. generated files kept
# out of the repository: the JPEG variants of ctest's codec.jpeg_variants
# fixture with fuzz_decode trailers appended by tests/fuzz/trailer_seeds.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
conf=${H5IMG_CONFORMANCE_DIR:-$root/../shared/conformance}
runs=${1:-1000000}
shift || true
harnesses=("$@")
[[ ${#harnesses[@]} -gt 0 ]] || harnesses=(decode png_diff rle)
extra_seeds=()
if [[ -n ${FUZZ_EXTRA_SEEDS:-} ]]; then
  IFS=: read -r -a listed <<<"$FUZZ_EXTRA_SEEDS"
  for d in "${listed[@]}"; do
    [[ -n $d ]] || continue
    [[ -d $d ]] || { echo "run.sh: FUZZ_EXTRA_SEEDS: $d is not a directory" >&2; exit 2; }
    extra_seeds+=("$(cd "$d" && pwd)")  # absolute: the fuzzer runs in its work directory
  done
fi

CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DH5IMG_BUILD_FUZZ=ON \
  -DH5IMG_BUILD_TOOLS=OFF -DH5IMG_BUILD_BENCH=OFF -DPython3_EXECUTABLE=/usr/bin/python3 \
  -DH5IMG_CONFORMANCE_DIR="$conf" >/dev/null
targets=()
for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
nice -n 10 cmake --build "$build" -j 2 "${targets[@]}"

for h in "${harnesses[@]}"; do
  work=$build/work/$h
  mkdir -p "$work/corpus"
  rm -f "$work/fuzz-0.log" "$work/fuzz.log"
  touch "$work/.start"
  seeds=("$root/tests/fuzz/corpus/$h" "$root/tests/fuzz/regressions")
  # RLE strings share nothing with image files: the images would only be noise to that harness.
  [[ $h == rle ]] || seeds+=("$conf/pngsuite" "$conf/png-crashers")
  [[ $h == decode ]] && seeds+=("$conf/jpeg")
  seeds+=("${extra_seeds[@]}")
  log=$work/fuzz.log
  dict=()
  [[ -f $root/tests/fuzz/$h.dict ]] && dict=(-dict="$root/tests/fuzz/$h.dict")
  echo "== fuzz_$h: $runs executions (log: $log)"
  if [[ ${FUZZ_MODE:-fork} == jobs ]]; then
    mode=(-jobs=1 -workers=1)   # output goes to fuzz-0.log in the working directory
  else
    mode=(-fork=1 -ignore_crashes=1)
  fi
  (cd "$work" && nice -n 10 "$build/tests/fuzz/fuzz_$h" -runs="$runs" "${mode[@]}" \
     -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
     ${dict[@]+"${dict[@]}"} ${FUZZ_FLAGS:-} "$work/corpus" "${seeds[@]}" >"$log" 2>&1) || true
  [[ -f $work/fuzz-0.log ]] && cat "$work/fuzz-0.log" >>"$log"
  # Final stats: the last status line (execs, cov, ft, corpus) and libFuzzer's own counters.
  grep -E '^#[0-9]+' "$log" | tail -n 1 || true
  grep -E '^INFO: fuzzed for|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
  # Fork mode's cov: counts all features of the merged corpus; this is the usual edge coverage of it.
  echo -n "corpus coverage: "
  # (regressions left out: an open finding would stop this pass before it prints)
  cov_dirs=()
  for d in "${seeds[@]}"; do [[ $d == "$root/tests/fuzz/regressions" ]] || cov_dirs+=("$d"); done
  inited=$(nice -n 10 "$build/tests/fuzz/fuzz_$h" -runs=0 "$work/corpus" "${cov_dirs[@]}" 2>&1 || true)
  grep -m1 INITED <<<"$inited" || echo "n/a"
  # Findings of this run only: artifacts newer than the run's start stamp.
  found=$(find "$work" -maxdepth 1 -newer "$work/.start" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \
          -o -name 'leak-*' -o -name 'slow-unit-*' \) | sort)
  if [[ -n $found ]]; then
    echo "!! fuzz_$h found problems (copy them to tests/fuzz/regressions/):"; echo "$found"
    grep -m1 -A30 -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$log" || true
  fi
done
