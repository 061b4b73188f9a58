#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ (cargo-fuzz, libFuzzer) for SECONDS each, one after the other.
#
#   scripts/fuzz.sh          # 60 seconds per target
#   scripts/fuzz.sh 600      # ten minutes per target
#
# Each target starts from its committed seeds in fuzz/corpus/<target>/ and grows a working corpus
# in fuzz/target/corpus/<target>/, kept between runs and never committed. A crash leaves its input
# in fuzz/artifacts/<target>/ and makes the script exit non-zero; reproduce it with
# `cargo fuzz run <target> fuzz/artifacts/<target>/<file>` (with the environment below), and add
# it to tests/it/fuzz_regressions.rs once fixed.
#
# cargo-fuzz needs unstable compiler flags (the sanitizer). With a stable toolchain,
# RUSTC_BOOTSTRAP=1 allows them; set FUZZ_TOOLCHAIN=nightly to use a nightly toolchain instead.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS]" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

toolchain=()
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    toolchain=("+$FUZZ_TOOLCHAIN")
else
    export RUSTC_BOOTSTRAP=1
fi

echo "== build the fuzz targets"
cargo "${toolchain[@]}" fuzz build

failed=()
for target in $(cargo "${toolchain[@]}" fuzz list); do
    work="fuzz/target/corpus/$target"
    mkdir -p "$work" "fuzz/corpus/$target"
    echo
    echo "== fuzz $target for ${seconds}s"
    # libFuzzer reports every new input; keep the log to the start, crashes and the final stats.
    if ! cargo "${toolchain[@]}" fuzz run "$target" "$work" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 2>&1 |
        grep --line-buffered -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)'; then
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo
    echo "fuzzing found a crash in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo
echo "fuzzing: no crash"
