#!/usr/bin/env bash
# Validation speed through the C API against the Rust benchmark, from anywhere:
#
#   bash netfilter-helpers-ffi/bench/run.sh
#
# Builds the release static library, builds and runs bench.c (one million expectations, the
# corpus of netfilter-helpers-core/benches/expectations.rs, parsed once, then judged with
# nfh_validator_conforms, best of 5), runs
#   cargo bench -p netfilter-helpers-core --bench expectations
# and prints the C/Rust ratio per expectation. Exits with status 1 when the ratio is above the
# target, NFH_BENCH_MAX_RATIO (default 1.5). Timings are noisy on a busy machine: run it alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
CC="${CC:-gcc}"
max_ratio="${NFH_BENCH_MAX_RATIO:-1.5}"
out="$root/target/c-tests"
mkdir -p "$out"

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

# "validate 1000000 expectations (...): 61.4 ms, 61.44 ns/expectation, ..."
c_ns="$(sed -n 's/^validate .* \([0-9.]*\) ns\/expectation.*/\1/p' "$out/bench-c.out")"
# Like for like: the C call (nfh_validator_conforms) is Validator::conforms, the Rust line
# "conforms 1000000 expectations (no verdict, no allocation): 25.8 ms, ..."
rust_line="$(grep '^conforms ' "$out/bench-rust.out")"
rust_n="$(echo "$rust_line" | sed -n 's/^conforms \([0-9]*\) expectations.*/\1/p')"
rust_ms="$(echo "$rust_line" | sed -n 's/^conforms [0-9]* expectations[^:]*: \([0-9.]*\) ms.*/\1/p')"
if [ -z "$c_ns" ] || [ -z "$rust_n" ] || [ -z "$rust_ms" ]; then
    echo "cannot read the timings" >&2
    exit 2
fi
awk -v c="$c_ns" -v ms="$rust_ms" -v n="$rust_n" -v max="$max_ratio" 'BEGIN {
    rust = ms * 1e6 / n
    ratio = c / rust
    printf "== per expectation: C API %.2f ns (%.2f M/s), Rust %.2f ns (%.2f M/s); C/Rust = %.2f (target <= %s)\n",
        c, 1e3 / c, rust, 1e3 / rust, ratio, max
    exit ratio <= max ? 0 : 1
}'
