"""End to end: `nfh validate --quiet` against a pure-Python validator, side by side.

    target/py-venv/bin/python examples/bench/validate.py [--lines N] [--big N] [--runs N] [--check]

Builds nothing: run `cargo build --release -p netfilter-helpers-examples` first (the script
says so if the binary is missing). The corpus is the mix of
`netfilter-helpers-core/benches/expectations.rs` (ftp, sip, irc, tftp; conntrack and /proc
lines; IPv4 and IPv6), written once to a temporary file of `--lines` lines. Measured:

* `nfh validate --quiet FILE` wall time, best of `--runs`: MB/s and lines/s as the command
  runs (it judges on every core) and pinned to one core (`taskset -c 0`, where taskset
  exists), and its peak RSS (`/usr/bin/time -f %M`);
* the pure-Python validator of `netfilter-helpers-py/bench/bench_validate.py` (`re` and
  `ipaddress`) over the same lines, read from the same file;
* `--big` lines (default ten times `--lines`) streamed through a pipe into
  `nfh validate --quiet -`, for the peak RSS at ten times the input.

`--check` exits 1 unless nfh is at least 50 times the Python validator, at least 200 MB/s on
one core, and its peak RSS is at most 64 MB on both inputs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "netfilter-helpers-py"))
sys.path.insert(0, str(ROOT / "netfilter-helpers-py" / "bench"))
from bench_validate import python_conforms  # noqa: E402
from tests.conftest import corpus  # noqa: E402

NFH = ROOT / "target" / "release" / "nfh"
TARGET_RATIO = 50.0
TARGET_MBPS = 200.0
TARGET_RSS_MB = 64.0


def run_nfh(
    args: list[str], stdin_lines: list[str] | None = None, repeat: int = 1, one_core: bool = False
) -> tuple[float, float, int]:
    """Runs nfh under /usr/bin/time (whose own child's peak RSS is nfh's alone: a child forked
    from this Python process would inherit its resident set); returns (seconds, peak RSS in
    MB, exit status)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        t = time.perf_counter()
        p = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *(["taskset", "-c", "0"] if one_core else []), str(NFH), *args],
            stdin=subprocess.PIPE if stdin_lines is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        if stdin_lines is not None:
            assert p.stdin is not None
            chunk = "".join(stdin_lines).encode()
            for _ in range(repeat):
                p.stdin.write(chunk)
            p.stdin.close()
        status = p.wait()
        secs = time.perf_counter() - t
        rss_kb = int(rss_file.read().strip().splitlines()[-1])
    return secs, rss_kb / 1024.0, status


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=0, help="lines for the RSS run (default 10x --lines)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if not NFH.exists():
        print(f"{NFH} is missing: cargo build --release -p netfilter-helpers-examples", file=sys.stderr)
        return 2
    lines = [line + "\n" for line in corpus(args.lines)]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.writelines(lines)
        path = f.name
    try:
        size = os.path.getsize(path)
        best = min(run_nfh(["validate", "--quiet", path]) for _ in range(args.runs))
        secs, rss, status = best
        pinned = shutil.which("taskset") is not None
        one_secs = (
            min(run_nfh(["validate", "--quiet", path], one_core=True)[0] for _ in range(args.runs))
            if pinned
            else secs
        )
        if status != 0:
            print(f"nfh validate exited {status}: the corpus should conform", file=sys.stderr)
            return 1
        t = time.perf_counter()
        with open(path) as f:
            ok = sum(1 for line in f if python_conforms(line))
        py_secs = time.perf_counter() - t
        assert ok == len(lines), (ok, len(lines))
        big = args.big or 10 * args.lines
        repeat = max(1, big // len(lines))
        big_secs, big_rss, big_status = run_nfh(["validate", "--quiet", "-"], lines, repeat)
    finally:
        os.unlink(path)
    mbps = size / secs / 1e6
    one_mbps = size / one_secs / 1e6
    ratio = py_secs / secs
    print(f"corpus: {len(lines):,} lines, {size / 1e6:.0f} MB")
    print(f"nfh validate --quiet FILE: {secs:.2f} s, {mbps:.0f} MB/s, {len(lines) / secs / 1e6:.2f} M lines/s, peak RSS {rss:.1f} MB")
    print(f"pure Python (re + ipaddress): {py_secs:.2f} s, {len(lines) / py_secs / 1e6:.3f} M lines/s")
    if pinned:
        print(f"nfh validate --quiet FILE on one core: {one_secs:.2f} s, {one_mbps:.0f} MB/s, {len(lines) / one_secs / 1e6:.2f} M lines/s")
    else:
        print("taskset is missing: the one-core figure is the all-core one", file=sys.stderr)
    print(f"ratio: {ratio:.0f}x (one core: {py_secs / one_secs:.0f}x)")
    print(f"nfh validate --quiet - on {repeat * len(lines):,} lines through a pipe: {big_secs:.1f} s, peak RSS {big_rss:.1f} MB (exit {big_status})")
    if args.check:
        failed = []
        if ratio < TARGET_RATIO:
            failed.append(f"ratio {ratio:.0f}x < {TARGET_RATIO:.0f}x")
        if one_mbps < TARGET_MBPS:
            failed.append(f"{one_mbps:.0f} MB/s on one core < {TARGET_MBPS:.0f} MB/s")
        for what, r in (("file", rss), ("pipe", big_rss)):
            if r > TARGET_RSS_MB:
                failed.append(f"peak RSS {r:.1f} MB > {TARGET_RSS_MB:.0f} MB ({what})")
        if failed:
            print("below target: " + "; ".join(failed), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
