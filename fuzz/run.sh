#!/usr/bin/env bash
# Runs every cargo-fuzz target for the given number of seconds each (default 60):
#   bash fuzz/run.sh [seconds]
# Installs cargo-fuzz when it is missing. The machine has only a stable toolchain, and
# cargo-fuzz passes nightly-only flags (-Z sanitizer, sancov): RUSTC_BOOTSTRAP=1 lets the
# stable compiler accept them. Builds are optimized with debug assertions and overflow checks
# on (-O -a), so an arithmetic overflow is a finding too. Seeds come from test-vectors/ (crates/kmid-fuzzing); the
# corpus grows under fuzz/corpus/, crashers land in fuzz/artifacts/<target>/, and a summary
# of executions per target is written to fuzz/results/summary.tsv.
#
# Environment: JOBS (targets run at once, default 1), SANITIZER (address by default; none is
# about twice as fast), TARGETS (space-separated subset), RSS_LIMIT_MB (default 2048).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
jobs="${JOBS:-1}"
sanitizer="${SANITIZER:-address}"
rss="${RSS_LIMIT_MB:-2048}"
CARGO_FUZZ_VERSION=0.13.2

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
export RUSTC_BOOTSTRAP=1

targets="${TARGETS:-$(cargo fuzz list)}"
echo "== seeding fuzz/corpus/ from test-vectors/"
(cd .. && cargo run -q --locked -p kmid-fuzzing --bin fuzz-seeds -- test-vectors fuzz/corpus)

echo "== building ($sanitizer sanitizer)"
cargo fuzz build -O -a --sanitizer "$sanitizer"

mkdir -p results artifacts
run_target() {
  local t="$1" log="results/$1.log"
  mkdir -p "corpus/$t" "artifacts/$t"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: an OOM is a finding.
  if cargo fuzz run -O -a --sanitizer "$sanitizer" "$t" "corpus/$t" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb="$rss" -malloc_limit_mb="$rss" \
      -print_final_stats=1 -artifact_prefix="artifacts/$t/" > "$log" 2>&1; then
    status=ok
  else
    status=FINDING
  fi
  local execs
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
  # Each line also goes to progress.tsv as soon as its target ends (one short append is
  # atomic), so an interrupted campaign keeps the targets it finished.
  printf '%s\t%s\t%s\t%s\n' "$t" "${execs:-0}" "$seconds" "$status" | tee -a results/progress.tsv
}
export -f run_target
export seconds sanitizer rss

echo "== running each target for ${seconds}s (jobs: $jobs)"
printf 'target\texecutions\tseconds\tresult\n' > results/summary.tsv
printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c 'run_target {}' | sort >> results/summary.tsv
column -t results/summary.tsv
if grep -q FINDING results/summary.tsv; then
  echo "findings: see fuzz/results/<target>.log and fuzz/artifacts/<target>/;" >&2
  echo "fix each and keep it as fuzz/regressions/<target>/<name> (the stable test runs it)" >&2
  exit 1
fi
