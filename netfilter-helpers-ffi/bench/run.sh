#!/usr/bin/env bash
# Validation speed through the C API against Rust, from anywhere:
#
#   bash netfilter-helpers-ffi/bench/run.sh
#
# Builds the release static library, builds and runs bench.c on one million expectations (the
# corpus of netfilter-helpers-core/benches/expectations.rs), best of 5 runs each:
#   * validate: nfh_validator_conforms per expectation, against
#     `cargo bench -p netfilter-helpers-core --bench expectations` (Validator::conforms);
#     target C/Rust <= NFH_BENCH_MAX_RATIO (default 1.5);
#   * count: nfh_judge_count over the whole text on one thread, against Judge::count_buffer on
#     one thread (`cargo bench -p netfilter-helpers-ffi --bench judge_count` on the same bytes,
#     written by `bench --corpus`); target C/Rust <= NFH_BENCH_MAX_COUNT_RATIO (default 1.2).
#     The two run alternately NFH_BENCH_ROUNDS times (default 3) and the best of each counts,
#     so that load from other work on the machine hits both alike.
# Prints both ratios and the load average before and after; exits with status 1 when a ratio is
# above its target. Timings are noisy on a busy machine: run it alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
CC="${CC:-gcc}"
max_ratio="${NFH_BENCH_MAX_RATIO:-1.5}"
max_count_ratio="${NFH_BENCH_MAX_COUNT_RATIO:-1.2}"
rounds="${NFH_BENCH_ROUNDS:-3}"
out="$root/target/c-tests"
mkdir -p "$out"
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown; }
load_before="$(load)"

cargo build -p netfilter-helpers-ffi --release --locked
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
lib="${target_dir:-$root/target}/release/libnetfilter_helpers_ffi.a"

"$CC" -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -I include -c "$here/bench.c" -o "$out/bench.o"
"$CC" "$out/bench.o" "$lib" -lpthread -ldl -lm -o "$out/bench"

echo "== C API (bench/bench.c)"
"$out/bench" | tee "$out/bench-c.out"
echo "== Rust (cargo bench -p netfilter-helpers-core --bench expectations)"
cargo bench -p netfilter-helpers-core --bench expectations --locked 2>/dev/null | tee "$out/bench-rust.out"

corpus="$out/corpus.txt"
trap 'rm -f "$corpus"' EXIT
"$out/bench" --corpus >"$corpus"
cargo bench -p netfilter-helpers-ffi --bench judge_count --locked --no-run 2>/dev/null
: >"$out/bench-rust-count.out"
: >"$out/bench-c-count.out"
echo "== count, alternately: Rust (cargo bench -p netfilter-helpers-ffi --bench judge_count) and C (bench --count), $rounds rounds"
for _ in $(seq 1 "$rounds"); do
    cargo bench -p netfilter-helpers-ffi --bench judge_count --locked -- "$corpus" 2>/dev/null |
        tee -a "$out/bench-rust-count.out"
    "$out/bench" --count | tee -a "$out/bench-c-count.out"
done

# "validate 1000000 expectations (...): 61.4 ms, 61.44 ns/expectation, ..."
c_ns="$(sed -n 's/^validate .* \([0-9.]*\) ns\/expectation.*/\1/p' "$out/bench-c.out")"
# Like for like: the C call (nfh_validator_conforms) is Validator::conforms, the Rust line
# "conforms 1000000 expectations (no verdict, no allocation): 25.8 ms, ..."
rust_line="$(grep '^conforms ' "$out/bench-rust.out")"
rust_n="$(echo "$rust_line" | sed -n 's/^conforms \([0-9]*\) expectations.*/\1/p')"
rust_ms="$(echo "$rust_line" | sed -n 's/^conforms [0-9]* expectations[^:]*: \([0-9.]*\) ms.*/\1/p')"
# "count 1000000 lines (...): 612.3 ms, 612.30 ns/line, ...": the best of the rounds (the
# count in the first, full C run above is not used, so both sides have as many samples).
best_ns() { sed -n 's/^count .* \([0-9.]*\) ns\/line.*/\1/p' "$1" | sort -g | head -n 1; }
c_count_ns="$(best_ns "$out/bench-c-count.out")"
rust_count_ns="$(best_ns "$out/bench-rust-count.out")"
if [ -z "$c_ns" ] || [ -z "$rust_n" ] || [ -z "$rust_ms" ] || [ -z "$c_count_ns" ] ||
    [ -z "$rust_count_ns" ]; then
    echo "cannot read the timings" >&2
    exit 2
fi
load_after="$(load)"
awk -v c="$c_ns" -v ms="$rust_ms" -v n="$rust_n" -v max="$max_ratio" \
    -v cc="$c_count_ns" -v rc="$rust_count_ns" -v maxc="$max_count_ratio" \
    -v lb="$load_before" -v la="$load_after" -v cpus="$(nproc 2>/dev/null || echo '?')" 'BEGIN {
    rust = ms * 1e6 / n
    ratio = c / rust
    cratio = cc / rc
    printf "== validate, per expectation: C API %.2f ns (%.2f M/s), Rust %.2f ns (%.2f M/s); C/Rust = %.2f (target <= %s)\n",
        c, 1e3 / c, rust, 1e3 / rust, ratio, max
    printf "== count, per line (1 thread): C API nfh_judge_count %.2f ns (%.2f M lines/s), Rust Judge::count_buffer %.2f ns (%.2f M lines/s); C/Rust = %.3f (target <= %s)\n",
        cc, 1e3 / cc, rc, 1e3 / rc, cratio, maxc
    printf "== load average before: %s, after: %s (%s CPUs)\n", lb, la, cpus
    exit (ratio <= max && cratio <= maxc) ? 0 : 1
}'
