#!/usr/bin/env bash
# Builds every fuzz target in fuzz/ (libFuzzer through libfuzzer-sys) and runs each for a
# bounded time. Usage: scripts/fuzz.sh [seconds-per-target] [target...]
#
# Stable toolchain only: the coverage instrumentation is passed with stable -C flags
# (what cargo-fuzz passes, minus the nightly-only -Zsanitizer), so neither nightly nor
# cargo-fuzz is needed. RUSTC_BOOTSTRAP is not required; set it yourself if you add -Z flags.
# The build goes to $CARGO_TARGET_DIR/fuzz (or target/fuzz) and is reused between runs.
#
# Each run reads the checked-in seeds (fuzz/corpus/<target>, never written) and keeps new
# inputs in a scratch dir. A crash leaves its input in fuzz/artifacts/<target>/ and makes
# the script exit 1. One line per target: `fuzz <target>: ok|CRASH runs=N exec/s=M`.
set -u
secs=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
out=${CARGO_TARGET_DIR:-$root/target}/fuzz
host=$(rustc -vV | sed -n 's/^host: //p')
all=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$root/fuzz/Cargo.toml" | grep -v '^lkrtc-fuzz$')
targets=${*:-$all}

export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
# --target keeps the instrumentation off build scripts and proc macros.
if ! cargo build --release --manifest-path "$root/fuzz/Cargo.toml" --target "$host" --target-dir "$out" --bins; then
  echo "fuzz build: FAILED"
  exit 2
fi

failed=0
for t in $targets; do
  bin="$out/$host/release/$t"
  scratch=$(mktemp -d)
  mkdir -p "$root/fuzz/artifacts/$t" "$root/fuzz/corpus/$t"
  log="$scratch/log"
  "$bin" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$root/fuzz/artifacts/$t/" "$scratch" "$root/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $t: ok runs=${runs:-?} exec/s=${rate:-?}"
  else
    failed=$((failed + 1))
    echo "fuzz $t: CRASH (exit $rc) runs=${runs:-?} exec/s=${rate:-?}"
    grep -E "panicked|ERROR|Test unit written|SUMMARY" "$log" | head -8
  fi
  rm -rf "$scratch"
done
[ "$failed" -eq 0 ] || exit 1
