#!/usr/bin/env bash
# Builds and runs the C tests of the C API, from anywhere:
#
#   bash netfilter-helpers-ffi/tests/run-c-tests.sh
#
# Stages (each prints PASS/FAIL; the last line is "N passed, N failed" over the stages):
#   * cargo build -p netfilter-helpers-ffi --locked (target/debug/libnetfilter_helpers_ffi.a)
#   * every function the header declares is called by tests/c/test_api.c or test_audit.c
#   * test_api built with -fsanitize=address,undefined, run with LeakSanitizer on
#   * test_api built plainly, run under valgrind (definite and indirect leaks are errors;
#     Rust's std may leave "still reachable"/"possibly lost" thread-local memory)
#   * test_audit: the audit (nfh_audit_*: rulesets, fixture trees, the live host, drift),
#     built with ASan+UBSan, and built plainly under valgrind
#   * test_alloc: the documented allocation-free fast path (nfh_validator_conforms)
#   * install.sh into target/c-tests/prefix, the C example built with pkg-config and run on
#     examples/site.toml + examples/samples/expectations.txt; the example under ASan too
#   * the README's C example ("Use it"), built with pkg-config and run; under ASan too
#   * the README's C audit example ("Auditing a ruleset"), the same way, on the sample host tree
#
# Objects, programs and logs go to target/c-tests/. Nothing is installed, except that when gcc
# or valgrind is missing and the user is root, `apt-get install -y valgrind gcc` is run.
# Set NFH_C_TESTS_VERBOSE=1 to print every check line of the test programs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ffi="$(cd "$here/.." && pwd)"
root="$(cd "$ffi/.." && pwd)"
cd "$root"

CC="${CC:-gcc}"
verbose="${NFH_C_TESTS_VERBOSE:-0}"
out="$root/target/c-tests"
mkdir -p "$out"

passed=0
failed=0
failed_names=()
pass() {
    passed=$((passed + 1))
    printf 'PASS  %s\n' "$1"
}
fail() {
    failed=$((failed + 1))
    failed_names+=("$1")
    printf 'FAIL  %s\n' "$1"
    if [ -n "${2:-}" ]; then printf '      %s\n' "$2"; fi
}
summary() {
    echo
    if [ "$failed" -gt 0 ]; then
        printf 'failed stages:\n'
        printf '  - %s\n' "${failed_names[@]}"
    fi
    printf '%d passed, %d failed\n' "$passed" "$failed"
    [ "$failed" -eq 0 ]
}

# ---- tools -------------------------------------------------------------------------------
missing=()
command -v "$CC" >/dev/null 2>&1 || missing+=(gcc)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "missing: ${missing[*]}; running apt-get install -y valgrind gcc"
        DEBIAN_FRONTEND=noninteractive apt-get install -y valgrind gcc ||
            { DEBIAN_FRONTEND=noninteractive apt-get update &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y valgrind gcc; }
    else
        echo "missing: ${missing[*]} (install them: apt-get install valgrind gcc)" >&2
    fi
fi
command -v "$CC" >/dev/null 2>&1 || { fail "C compiler $CC available"; summary; exit 1; }

# ---- the Rust library --------------------------------------------------------------------
if cargo build -p netfilter-helpers-ffi --locked >"$out/cargo-build.log" 2>&1; then
    pass "cargo build -p netfilter-helpers-ffi --locked"
else
    tail -20 "$out/cargo-build.log"
    fail "cargo build -p netfilter-helpers-ffi --locked" "log: $out/cargo-build.log"
    summary
    exit 1
fi
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
lib="${target_dir:-$root/target}/debug/libnetfilter_helpers_ffi.a"
libs=(-lpthread -ldl -lm)
warn=(-std=c11 -Wall -Wextra -Wpedantic -Werror)
cflags=("${warn[@]}" -I include)
san=(-fsanitize=address,undefined -fno-omit-frame-pointer -g)

# ---- coverage of the header --------------------------------------------------------------
functions="$(grep -oE '\bnfh_[a-z0-9_]+\(' include/netfilter_helpers.h | tr -d '(' | sort -u)"
uncovered=()
for f in $functions; do
    grep -qE "\b$f\(" "$here/c/test_api.c" "$here/c/test_audit.c" || uncovered+=("$f")
done
count="$(echo "$functions" | wc -w)"
if command -v nm >/dev/null 2>&1; then
    exported="$(nm -g --defined-only "$lib" 2>/dev/null | awk '$2 == "T" && $3 ~ /^nfh_/ { print $3 }' | sort -u)"
    if [ "$exported" = "$functions" ]; then
        pass "the library exports exactly the $count nfh_ functions the header declares"
    else
        fail "the library exports exactly the $count nfh_ functions the header declares" \
            "differences: $(diff <(echo "$exported") <(echo "$functions") | grep '^[<>]' | tr '\n' ' ')"
    fi
fi
if [ "${#uncovered[@]}" -eq 0 ]; then
    pass "test_api.c and test_audit.c call all $count functions of include/netfilter_helpers.h"
else
    fail "test_api.c and test_audit.c call all $count functions of include/netfilter_helpers.h" \
        "not called: ${uncovered[*]}"
fi

# Shows a test program's failing checks and closing line (all lines when verbose).
show() {
    if [ "$verbose" = 1 ]; then
        sed 's/^/      /' "$1"
    else
        grep -E '^FAIL ' "$1" | sed 's/^/      /' || true
        tail -n 1 "$1" | sed 's/^/      /'
    fi
}
# Whether a test program ran to its closing line and every check passed.
finished() { tail -n 1 "$1" | grep -qE '^[0-9]+ passed, [0-9]+ failed$'; }
all_checks_pass() { tail -n 1 "$1" | grep -qE '^[0-9]+ passed, 0 failed$'; }

# ---- ASan + UBSan ------------------------------------------------------------------------
asan_ok=0
if "$CC" "${cflags[@]}" "${san[@]}" -c "$here/c/test_api.c" -o "$out/test_api-asan.o" &&
    "$CC" "${san[@]}" "$out/test_api-asan.o" "$lib" "${libs[@]}" -o "$out/test_api-asan"; then
    asan_ok=1
else
    fail "compile test_api with -fsanitize=address,undefined"
fi
if [ "$asan_ok" = 1 ]; then
    set +e
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$out/test_api-asan" >"$out/test_api-asan.out" 2>"$out/test_api-asan.err"
    rc=$?
    set -e
    echo "      test_api (ASan+UBSan), exit status $rc:"
    show "$out/test_api-asan.out"
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$out/test_api-asan.err"; then
        grep -E 'ERROR: |runtime error:|SUMMARY:' "$out/test_api-asan.err" | head -5 | sed 's/^/      /'
        fail "test_api under ASan+UBSan: no memory error, no leak, no undefined behaviour" \
            "log: $out/test_api-asan.err"
    elif ! finished "$out/test_api-asan.out" || { [ "$rc" -ne 0 ] && all_checks_pass "$out/test_api-asan.out"; }; then
        fail "test_api under ASan+UBSan: no memory error, no leak, no undefined behaviour" \
            "did not finish cleanly (exit status $rc); log: $out/test_api-asan.err"
    else
        pass "test_api under ASan+UBSan: no memory error, no leak, no undefined behaviour"
    fi
    if all_checks_pass "$out/test_api-asan.out"; then
        pass "test_api checks (ASan+UBSan build)"
    else
        fail "test_api checks (ASan+UBSan build)" "output: $out/test_api-asan.out"
    fi
fi

# ---- plain build under valgrind ----------------------------------------------------------
plain_ok=0
if "$CC" "${cflags[@]}" -g -c "$here/c/test_api.c" -o "$out/test_api.o" &&
    "$CC" "$out/test_api.o" "$lib" "${libs[@]}" -o "$out/test_api"; then
    plain_ok=1
else
    fail "compile test_api (plain)"
fi
if [ "$plain_ok" = 1 ]; then
    if command -v valgrind >/dev/null 2>&1; then
        set +e
        valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --log-file="$out/test_api-valgrind.log" "$out/test_api" >"$out/test_api-valgrind.out" 2>&1
        rc=$?
        set -e
        echo "      test_api (valgrind), exit status $rc:"
        show "$out/test_api-valgrind.out"
        grep -E 'ERROR SUMMARY|definitely lost|indirectly lost' "$out/test_api-valgrind.log" |
            sed 's/^==[0-9]*== */      valgrind: /'
        if grep -q 'ERROR SUMMARY: 0 errors' "$out/test_api-valgrind.log" &&
            finished "$out/test_api-valgrind.out" &&
            { [ "$rc" -eq 0 ] || ! all_checks_pass "$out/test_api-valgrind.out"; }; then
            pass "test_api under valgrind: no memory error, no definite/indirect leak"
        else
            fail "test_api under valgrind: no memory error, no definite/indirect leak" \
                "log: $out/test_api-valgrind.log"
        fi
        if all_checks_pass "$out/test_api-valgrind.out"; then
            pass "test_api checks (plain build, valgrind)"
        else
            fail "test_api checks (plain build, valgrind)" "output: $out/test_api-valgrind.out"
        fi
    else
        fail "test_api under valgrind" "valgrind is not installed (apt-get install valgrind)"
    fi
fi

# ---- ruleset audit (ASan + UBSan) ---------------------------------------------------------
if "$CC" "${cflags[@]}" "${san[@]}" -c "$here/c/test_audit.c" -o "$out/test_audit-asan.o" &&
    "$CC" "${san[@]}" "$out/test_audit-asan.o" "$lib" "${libs[@]}" -o "$out/test_audit-asan"; then
    set +e
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$out/test_audit-asan" >"$out/test_audit-asan.out" 2>"$out/test_audit-asan.err"
    rc=$?
    set -e
    echo "      test_audit (ASan+UBSan), exit status $rc:"
    show "$out/test_audit-asan.out"
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$out/test_audit-asan.err"; then
        fail "test_audit under ASan+UBSan: no memory error, no leak" "log: $out/test_audit-asan.err"
    elif [ "$rc" -eq 0 ] && all_checks_pass "$out/test_audit-asan.out"; then
        pass "test_audit (ruleset audit) checks under ASan+UBSan"
    else
        fail "test_audit (ruleset audit) checks under ASan+UBSan" "output: $out/test_audit-asan.out"
    fi
else
    fail "compile test_audit with -fsanitize=address,undefined"
fi

# ---- the audit under valgrind (host reads, FIFOs, the live host) ------------------------------
if command -v valgrind >/dev/null 2>&1 &&
    "$CC" "${cflags[@]}" -g -c "$here/c/test_audit.c" -o "$out/test_audit.o" &&
    "$CC" "$out/test_audit.o" "$lib" "${libs[@]}" -o "$out/test_audit"; then
    set +e
    valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --log-file="$out/test_audit-valgrind.log" "$out/test_audit" >"$out/test_audit-valgrind.out" 2>&1
    rc=$?
    set -e
    echo "      test_audit (valgrind), exit status $rc:"
    show "$out/test_audit-valgrind.out"
    if grep -q 'ERROR SUMMARY: 0 errors' "$out/test_audit-valgrind.log" && [ "$rc" -eq 0 ] &&
        all_checks_pass "$out/test_audit-valgrind.out"; then
        pass "test_audit under valgrind: checks pass, no memory error, no definite/indirect leak"
    else
        fail "test_audit under valgrind: checks pass, no memory error, no definite/indirect leak" \
            "log: $out/test_audit-valgrind.log, output: $out/test_audit-valgrind.out"
    fi
else
    fail "test_audit under valgrind" "valgrind missing or test_audit does not compile"
fi

# ---- allocation-free fast path -----------------------------------------------------------
wrap="-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=posix_memalign,--wrap=aligned_alloc"
if "$CC" "${cflags[@]}" -c "$here/c/test_alloc.c" -o "$out/test_alloc.o" &&
    "$CC" "$out/test_alloc.o" "$lib" "${libs[@]}" "$wrap" -o "$out/test_alloc"; then
    set +e
    "$out/test_alloc" >"$out/test_alloc.out" 2>&1
    set -e
    echo "      test_alloc:"
    show "$out/test_alloc.out"
    if all_checks_pass "$out/test_alloc.out"; then
        pass "nfh_validator_conforms allocates nothing, as documented"
    else
        fail "nfh_validator_conforms allocates nothing, as documented" \
            "output: $out/test_alloc.out"
    fi
else
    fail "compile test_alloc"
fi

# ---- install + pkg-config + the C example ------------------------------------------------
prefix="$out/prefix"
rm -rf "$prefix"
if bash "$ffi/install.sh" "$prefix" >"$out/install.log" 2>&1 &&
    [ -f "$prefix/lib/libnetfilter_helpers_ffi.a" ] && [ -f "$prefix/lib/libnetfilter_helpers_ffi.so" ] &&
    [ -f "$prefix/include/netfilter_helpers.h" ] && [ -f "$prefix/lib/pkgconfig/netfilter-helpers.pc" ]; then
    pass "install.sh $prefix (library, header, netfilter-helpers.pc)"
else
    tail -20 "$out/install.log"
    fail "install.sh $prefix (library, header, netfilter-helpers.pc)" "log: $out/install.log"
fi

site="$root/examples/site.toml"
sample="$root/examples/samples/expectations.txt"
# Checks the example's output on the sample: renders, one verdict per line, exit status 1.
check_example() {
    local bin="$1" rc
    set +e
    "$bin" "$site" "$sample" >"$bin.out" 2>"$bin.err"
    rc=$?
    set -e
    [ "$rc" -eq 1 ] &&
        grep -q '^### nft$' "$bin.out" && grep -q '^table inet nfh {$' "$bin.out" &&
        grep -q '^### iptables$' "$bin.out" && grep -q '^\*raw$' "$bin.out" &&
        grep -q '^line 1: conforms$' "$bin.out" &&
        grep -q '^line 2: NONCONFORMING; error \[destination-address\]' "$bin.out" &&
        grep -q '^line 6: .*(unparsed)$' "$bin.out" &&
        [ "$(grep -c '^line ' "$bin.out")" -eq 6 ]
}
if command -v pkg-config >/dev/null 2>&1; then
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    pcflags="$(pkg-config --cflags --libs netfilter-helpers 2>/dev/null || true)"
    pcversion="$(pkg-config --modversion netfilter-helpers 2>/dev/null || true)"
    unset PKG_CONFIG_PATH
    # The documented command: cc app.c $(pkg-config --cflags --libs netfilter-helpers).
    # shellcheck disable=SC2086 # pkg-config output is a list of flags
    if [ -n "$pcflags" ] &&
        "$CC" "${warn[@]}" "$root/examples/c/appliance.c" $pcflags -o "$out/appliance"; then
        pass "examples/c/appliance.c built with pkg-config (netfilter-helpers $pcversion, shared)"
        if check_example "$out/appliance"; then
            pass "appliance on the sample: nft + iptables rendered, bounce nonconforming, exit 1"
        else
            sed 's/^/      /' "$out/appliance.err"
            fail "appliance on the sample: nft + iptables rendered, bounce nonconforming, exit 1" \
                "output: $out/appliance.out"
        fi
        # ldd's output is captured first: under pipefail, `ldd | grep -q` fails whenever grep
        # exits before ldd has written everything (SIGPIPE), which happens on a loaded machine.
        ldd_out="$(ldd "$out/appliance" 2>&1 || true)"
        if grep -q "$prefix/lib/libnetfilter_helpers_ffi.so" <<<"$ldd_out"; then
            pass "appliance loads $prefix/lib/libnetfilter_helpers_ffi.so (rpath from the .pc)"
        else
            fail "appliance loads $prefix/lib/libnetfilter_helpers_ffi.so (rpath from the .pc)"
        fi
    else
        fail "examples/c/appliance.c built with pkg-config" "pkg-config flags: ${pcflags:-none}"
    fi
else
    fail "examples/c/appliance.c built with pkg-config" "pkg-config is not installed"
fi

# The README's C example: the one ```c block of its "Use it" section, built as the README says
# (pkg-config against the installed library) and under ASan+UBSan against the static one. It
# judges a bounce line (conforms: no) and prints the nft rules of a small site.
readme_c="$out/readme.c"
awk '/^## Use it$/ { inside = 1; next } /^## / { inside = 0 }
     inside && /^```c$/ { code = 1; next } code && /^```$/ { code = 0; next } code' \
    "$root/README.md" >"$readme_c"
check_readme() {
    "$1" >"$1.out" 2>"$1.err" && grep -q '^conforms: no$' "$1.out" &&
        grep -q '^table inet nfh {$' "$1.out" && grep -q 'ct helper set' "$1.out" &&
        ! grep -qE 'ERROR: |runtime error:' "$1.err"
}
if ! grep -q 'nfh_ruleset_from_site' "$readme_c"; then
    fail "README.md \"Use it\" has a C example" "nothing extracted into $readme_c"
elif [ -n "${pcflags:-}" ]; then
    # shellcheck disable=SC2086 # pkg-config output is a list of flags
    if "$CC" "${warn[@]}" "$readme_c" $pcflags -o "$out/readme" && check_readme "$out/readme"; then
        pass "README's C example: built with pkg-config, judges the bounce line, renders nft"
    else
        sed 's/^/      /' "$out/readme.err" 2>/dev/null | head -10
        fail "README's C example: built with pkg-config, judges the bounce line, renders nft" \
            "source: $readme_c"
    fi
    if "$CC" "${cflags[@]}" "${san[@]}" "$readme_c" "$lib" "${libs[@]}" -o "$out/readme-asan" &&
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 check_readme "$out/readme-asan"; then
        pass "README's C example under ASan+UBSan: no memory error, no leak"
    else
        sed 's/^/      /' "$out/readme-asan.err" 2>/dev/null | head -10
        fail "README's C example under ASan+UBSan: no memory error, no leak" "source: $readme_c"
    fi
else
    fail "README's C example built with pkg-config" "no pkg-config flags"
fi

# The README's audit example: the one ```c block of "### Auditing a ruleset", built with
# pkg-config and under ASan+UBSan, run from the repository's top on the sample host tree: it
# prints the blanket RELATED accept with its rule and exits 1, as nfh audit does.
readme_audit_c="$out/readme-audit.c"
awk '/^### Auditing a ruleset$/ { inside = 1; next } /^##/ { inside = 0 }
     inside && /^```c$/ { code = 1; next } code && /^```$/ { code = 0; next } code' \
    "$root/README.md" >"$readme_audit_c"
check_readme_audit() {
    local rc
    set +e
    "$1" >"$1.out" 2>"$1.err"
    rc=$?
    set -e
    [ "$rc" -eq 1 ] &&
        grep -qx 'related-accept-blanket -A fwd_lan -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT' "$1.out" &&
        [ "$(wc -l <"$1.out")" -eq 7 ] && ! grep -qE 'ERROR: |runtime error:' "$1.err"
}
if ! grep -q 'nfh_audit_host' "$readme_audit_c"; then
    fail "README.md \"Auditing a ruleset\" has a C example" "nothing extracted into $readme_audit_c"
else
    # shellcheck disable=SC2086 # pkg-config output is a list of flags
    if [ -n "${pcflags:-}" ] && "$CC" "${warn[@]}" "$readme_audit_c" $pcflags -o "$out/readme-audit" &&
        check_readme_audit "$out/readme-audit"; then
        pass "README's C audit example: built with pkg-config, audits the sample host tree, exit 1"
    else
        sed 's/^/      /' "$out/readme-audit.out" "$out/readme-audit.err" 2>/dev/null | head -10
        fail "README's C audit example: built with pkg-config, audits the sample host tree, exit 1" \
            "source: $readme_audit_c"
    fi
    if "$CC" "${cflags[@]}" "${san[@]}" "$readme_audit_c" "$lib" "${libs[@]}" -o "$out/readme-audit-asan" &&
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 check_readme_audit "$out/readme-audit-asan"; then
        pass "README's C audit example under ASan+UBSan: no memory error, no leak"
    else
        sed 's/^/      /' "$out/readme-audit-asan.err" 2>/dev/null | head -10
        fail "README's C audit example under ASan+UBSan: no memory error, no leak" "source: $readme_audit_c"
    fi
fi

# The example against the debug static library under ASan: same output, no leak; an invalid
# site exits with status 2 and lists every problem with its path.
if "$CC" "${cflags[@]}" "${san[@]}" -c "$root/examples/c/appliance.c" -o "$out/appliance-asan.o" &&
    "$CC" "${san[@]}" "$out/appliance-asan.o" "$lib" "${libs[@]}" -o "$out/appliance-asan"; then
    export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    bad_site="$out/bad-site.toml"
    printf '[[interfaces]]\nname = "a b"\n[[interfaces]]\nname = "c/d"\n' >"$bad_site"
    set +e
    "$out/appliance-asan" "$bad_site" "$sample" >"$out/appliance-bad.out" 2>"$out/appliance-bad.err"
    bad_rc=$?
    set -e
    if check_example "$out/appliance-asan" &&
        ! grep -qE 'ERROR: |runtime error:' "$out/appliance-asan.err" &&
        [ "$bad_rc" -eq 2 ] && grep -q '^  interfaces\[1\]\.name: ' "$out/appliance-bad.err" &&
        grep -q '^  interfaces: ' "$out/appliance-bad.err" &&
        ! grep -qE 'ERROR: |runtime error:' "$out/appliance-bad.err"; then
        pass "appliance (static, ASan+UBSan): clean on the sample; invalid site lists problems, exit 2"
    else
        sed 's/^/      /' "$out/appliance-asan.err" "$out/appliance-bad.err" | head -20
        fail "appliance (static, ASan+UBSan): clean on the sample; invalid site lists problems, exit 2"
    fi
    unset ASAN_OPTIONS UBSAN_OPTIONS
else
    fail "compile examples/c/appliance.c with -fsanitize=address,undefined"
fi

summary
