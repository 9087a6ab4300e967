#!/usr/bin/env bash
# The fuzz step of tests/run, runnable alone (from anywhere):
#   1. replays the saved corpus through the targets' bodies (`cargo test`, stable, no libFuzzer);
#   2. installs cargo-fuzz when it is missing (`cargo install cargo-fuzz --locked`);
#   3. builds every target and runs each for FUZZ_SECONDS (default 15) on a temporary copy of
#      its corpus, so the committed seeds in fuzz/corpus/ stay as they are. A crash, a panic
#      (failed property included), a timeout or running out of memory fails the run; the input
#      is kept in fuzz/artifacts/<target>/ (ignored by git) and printed in base64.
# Where fuzzing cannot run (cargo-fuzz cannot be installed, no toolchain builds the targets) it
# prints "FUZZING NOT RUN: <reason>" and fails under CI=true, else goes on with exit code 0.
#
# Environment:
#   FUZZ_SECONDS=15           time per target
#   FUZZ_TARGETS="a b"        only these targets (default: every fuzz_targets/*.rs)
#   FUZZ_TOOLCHAIN=stable     stable: `cargo fuzz -s none` (no sanitizer; the core is safe Rust);
#                             nightly: `cargo +nightly fuzz` with AddressSanitizer (slower).
#                             The other one is tried when the first does not build.
#   CARGO_FUZZ_VERSION=0.13.2 the cargo-fuzz version installed when it is missing.
set -euo pipefail
began=$SECONDS
fuzz_dir="$(cd "$(dirname "$0")" && pwd)"
cd "$fuzz_dir/.."

seconds="${FUZZ_SECONDS:-15}"
toolchain="${FUZZ_TOOLCHAIN:-stable}"
cargo_fuzz_version="${CARGO_FUZZ_VERSION:-0.13.2}"
if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    targets=()
    for f in "$fuzz_dir"/fuzz_targets/*.rs; do
        t="${f##*/}"
        targets+=("${t%.rs}")
    done
fi

not_run() {
    echo "" >&2
    echo "################################################################" >&2
    echo "FUZZING NOT RUN: $*" >&2
    echo "################################################################" >&2
    if [ "${CI:-}" = true ]; then
        exit 1
    fi
    exit 0
}

echo "-- fuzz: formatting and corpus replay (stable, without libFuzzer)"
t0=$SECONDS
if ! meta_err="$(cargo metadata --manifest-path fuzz/Cargo.toml --locked --format-version 1 2>&1 >/dev/null)"; then
    echo "$meta_err" >&2
    if grep -q 'lock file' <<<"$meta_err"; then
        echo "fuzz/Cargo.lock is out of date (did the core's dependencies change?): run" >&2
        echo "  cargo update --manifest-path fuzz/Cargo.toml --workspace   and commit fuzz/Cargo.lock" >&2
    fi
    exit 1
fi
cargo fmt --manifest-path fuzz/Cargo.toml --check
cargo test --manifest-path fuzz/Cargo.toml --locked --quiet || {
    echo "-- fuzz: the saved corpus fails (see above)" >&2
    exit 1
}
echo "   replayed in $((SECONDS - t0)) s"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "-- fuzz: installing cargo-fuzz $cargo_fuzz_version from crates.io"
    start=$SECONDS
    if ! cargo install cargo-fuzz --locked --version "$cargo_fuzz_version" --quiet; then
        not_run "cargo install cargo-fuzz --locked --version $cargo_fuzz_version failed"
    fi
    echo "   installed in $((SECONDS - start)) s"
fi
echo "-- fuzz: $(cargo fuzz --version)"

# The ways to build, preferred first.
if [ "$toolchain" = nightly ]; then
    ways=(nightly stable)
else
    ways=(stable nightly)
fi
use() {
    case "$1" in
        stable) plus="" flags=(-s none) ;;
        nightly) plus="+nightly" flags=() ;;
    esac
}
chosen=""
why=()
for way in "${ways[@]}"; do
    if [ "$way" = nightly ] && ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        why+=("no nightly toolchain")
        continue
    fi
    use "$way"
    echo "-- fuzz: building every target on $way (cargo ${plus:+$plus }fuzz build ${flags[*]} -a)"
    start=$SECONDS
    # shellcheck disable=SC2086 # $plus is empty or one word
    if cargo $plus fuzz build "${flags[@]}" -a; then
        echo "   built in $((SECONDS - start)) s"
        chosen="$way"
        break
    fi
    why+=("cargo ${plus:+$plus }fuzz build ${flags[*]} -a failed")
done
if [ -z "$chosen" ]; then
    not_run "$(IFS=';'; echo "${why[*]}")"
fi
use "$chosen"

declare -A dict=(
    [expect_line]=expect.dict [expect_buffer]=expect.dict
    [site_toml]=site.dict [site_json]=site.dict
    [policy_toml]=policy.dict [policy_json]=policy.dict
    [modprobe]=modprobe.dict
)
work="$(mktemp -d "${TMPDIR:-/tmp}/nfh-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
failed=()
echo "-- fuzz: ${#targets[@]} targets, ${seconds} s each, on a temporary copy of fuzz/corpus/"
for t in "${targets[@]}"; do
    mkdir -p "$work/corpus/$t" "fuzz/artifacts/$t"
    cp -R "fuzz/corpus/$t/." "$work/corpus/$t/" 2>/dev/null || true
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1)
    if [ -n "${dict[$t]:-}" ]; then
        args+=(-dict="fuzz/dicts/${dict[$t]}")
    fi
    before="$(LC_ALL=C ls -A "fuzz/artifacts/$t")"
    log="$work/$t.log"
    t0=$SECONDS
    # shellcheck disable=SC2086
    if cargo $plus fuzz run "${flags[@]}" -a "$t" "$work/corpus/$t" -- "${args[@]}" >"$log" 2>&1; then
        runs="$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')"
        cov="$(grep -Eo 'DONE +cov: [0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')"
        printf '   %-16s ok in %3d s: %s runs, coverage %s, corpus %s -> %s inputs\n' "$t" "$((SECONDS - t0))" \
            "$runs" "$cov" "$(find "fuzz/corpus/$t" -type f | wc -l)" "$(find "$work/corpus/$t" -type f | wc -l)"
    else
        failed+=("$t")
        echo "   $t FAILED:"
        {
            sed -n '/panicked at/,/^stack backtrace:/p' "$log" | grep -v '^stack backtrace:' | head -n 30
            grep -E '^==[0-9]+== ERROR|^SUMMARY|ALARM|out-of-memory|^Error' "$log" | head -n 5
            grep -qE 'panicked at|==[0-9]+== ERROR' "$log" || grep -v '^#[0-9]' "$log" | tail -n 20
        } | sed 's/^/     | /'
        for a in $(LC_ALL=C comm -13 <(echo "$before") <(LC_ALL=C ls -A "fuzz/artifacts/$t")); do
            echo "     input: fuzz/artifacts/$t/$a (base64: $(head -c 4096 "fuzz/artifacts/$t/$a" | base64 -w0))"
            echo "     replay: NFH_FUZZ_REPLAY=fuzz/artifacts/$t/$a cargo test --manifest-path fuzz/Cargo.toml"
        done
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "-- fuzz: findings in ${failed[*]} ($((SECONDS - began)) s in all)" >&2
    exit 1
fi
echo "-- fuzz: no findings ($((SECONDS - began)) s in all)"
