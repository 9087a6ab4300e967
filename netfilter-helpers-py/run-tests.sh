#!/usr/bin/env bash
# Builds the Python module and runs its tests: a virtual environment in target/py-venv (kept
# between runs), the pinned tools, `maturin develop --release`, pytest (with hypothesis), a
# strict mypy pass, mypy.stubtest against the built module, and the automation example.
#
#   netfilter-helpers-py/run-tests.sh [--bench]    # --bench: also the 1M-line benchmark, checked
#
# Runs from any directory. On a fresh Debian machine (python3 and pip, Rust toolchain) as
# root it installs python3-venv when `python3 -m venv` cannot work without it. Exits non-zero
# when anything fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="${NFH_PY_VENV:-$repo/target/py-venv}"
python="${PYTHON:-python3}"
pins=(maturin==1.16.0 pytest==9.2.0 hypothesis==6.170.15 mypy==2.4.1)
bench=0
for arg in "$@"; do
    case "$arg" in
        --bench) bench=1 ;;
        *) echo "usage: $0 [--bench]" >&2; exit 2 ;;
    esac
done

make_venv() {
    rm -rf "$venv"
    "$python" -m venv "$venv"
}

if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "== creating $venv"
    if ! make_venv 2>/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "== installing python3-venv"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            make_venv
        else
            echo "cannot create a virtual environment: install python3-venv (as root: apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
fi

stamp="$venv/.nfh-pins"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "${pins[*]}" ]; then
    echo "== installing ${pins[*]}"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}"
    echo "${pins[*]}" >"$stamp"
fi

echo "== maturin develop --release"
(cd "$here" && VIRTUAL_ENV="$venv" "$venv/bin/maturin" develop --release --quiet)

status=0
run() {
    echo "== ${*#"$venv/bin/"}"
    "$@" || { echo "FAILED: $*" >&2; return 1; }
}

cd "$here"
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
run "$venv/bin/python" -m pytest || status=1
run "$venv/bin/python" -m mypy || status=1
run "$venv/bin/python" -m mypy.stubtest netfilter_helpers._netfilter_helpers || status=1

echo "== examples/python/automation.py --root examples/samples/host-old"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
if "$venv/bin/python" "$repo/examples/python/automation.py" --root "$repo/examples/samples/host-old" >"$out" \
    && grep -q "^table inet nfh" "$out"; then
    echo "example: $(grep -c . "$out") lines of nft rules on stdout"
else
    echo "FAILED: examples/python/automation.py" >&2
    status=1
fi

if [ "$bench" = 1 ]; then
    run "$venv/bin/python" bench/bench_validate.py --check || status=1
fi

if [ "$status" = 0 ]; then
    echo "== python module: all passed"
else
    echo "== python module: FAILURES" >&2
fi
exit "$status"
