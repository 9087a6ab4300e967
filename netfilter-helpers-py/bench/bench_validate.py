"""Batch validation of expectation lines from Python: netfilter_helpers against a
straightforward pure-Python validator (regular expressions and ``ipaddress``), side by side.

The corpus is the mix of ``netfilter-helpers-core/benches/expectations.rs``: one million
``conntrack -L/-E expect`` and ``/proc/net/nf_conntrack_expect`` lines of ftp, sip, irc and
tftp expectations, IPv4 and IPv6, every one conforming to the kernel model under default
module options. Both validators get the same ``list[str]``.

    python bench/bench_validate.py [--lines N] [--runs N] [--check]

``--check`` exits 1 unless netfilter_helpers validates at least 1 million lines/s and at
least 20 times as fast as the pure-Python validator.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import netfilter_helpers as nfh

# The corpus generator is shared with the tests (netfilter-helpers-py/tests/conftest.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import corpus  # noqa: E402

TARGET_RATE = 1_000_000
TARGET_RATIO = 20.0


# The pure-Python validator: the same conformance idea (could the kernel's helper, under
# default options, have created this expectation?) for ftp, sip, irc and tftp.

CONNTRACK = re.compile(
    r"^\s*(?:\[(?:NEW|UPDATE|DESTROY)\]\s+)?(?:(?P<timeout>\d+)\s+)?"
    r"proto=(?P<proto>\d+) src=(?P<src>\S+) dst=(?P<dst>\S+) sport=(?P<sport>\d+) dport=(?P<dport>\d+) "
    r"mask-src=(?P<msrc>\S+) mask-dst=(?P<mdst>\S+) sport=(?P<msport>\d+) dport=(?P<mdport>\d+)"
    r"(?: master-src=(?P<ms>\S+) master-dst=(?P<md>\S+) sport=(?P<mss>\d+) dport=(?P<mds>\d+))?"
    r"(?: (?P<flags>[A-Z,]+))? class=(?P<cls>\d+)(?: helper=(?P<helper>\S+))?\s*$"
)
PROC = re.compile(
    r"^\s*(?P<timeout>\d+|-) l3proto = (?P<l3>\d+) proto=(?P<proto>\d+) src=(?P<src>\S+) dst=(?P<dst>\S+) "
    r"sport=(?P<sport>\d+) dport=(?P<dport>\d+)(?: (?P<flags>[A-Z,]+))?"
    r"(?: (?P<helper>[\w.-]+)(?:/(?P<policy>\w+))?)?\s*$"
)
TIMEOUT = {"ftp": 300, "irc": 300, "tftp": 300, "sip": 180}
TCP, UDP = 6, 17


def _timeout_ok(helper: str, text: str | None) -> bool:
    return text is None or text == "-" or int(text) <= TIMEOUT[helper]


def python_conforms(line: str) -> bool:
    m = CONNTRACK.match(line)
    if m is not None:
        g = m.group
        helper, proto, cls, flags = g("helper"), int(g("proto")), int(g("cls")), g("flags") or ""
        if helper not in TIMEOUT or g("ms") is None:
            return False
        if any(int(g(k)) > 65535 for k in ("sport", "dport", "msport", "mdport", "mss", "mds")):
            return False
        src, dst = ipaddress.ip_address(g("src")), ipaddress.ip_address(g("dst"))
        ms, md = ipaddress.ip_address(g("ms")), ipaddress.ip_address(g("md"))
        if not (src.version == dst.version == ms.version == md.version):
            return False
        exact = int(ipaddress.ip_address(g("msrc"))) == (1 << src.max_prefixlen) - 1
        sport_wild = g("sport") == "0" and g("msport") == "0"
        dport, mss = int(g("dport")), int(g("mss"))
        # The command came from either side: the sender is the destination, the peer the source.
        ends_ok = (src, dst) in ((md, ms), (ms, md))
        if helper == "ftp":
            return (proto == TCP and cls == 0 and exact and sport_wild and not flags
                    and ends_ok and _timeout_ok(helper, g("timeout")))
        if helper == "tftp":
            return (proto == UDP and cls == 0 and exact and sport_wild and not flags
                    and src == md and dst == ms and dport == mss and _timeout_ok(helper, g("timeout")))
        if helper == "irc":
            return (proto == TCP and cls == 0 and src.version == 4 and int(src) == 0 and not exact
                    and sport_wild and dst == ms and dport != 0 and _timeout_ok(helper, g("timeout")))
        if cls == 0:  # sip signalling: permanent, its lifetime follows the registration
            return (proto in (TCP, UDP) and flags in ("PERMANENT", "PERMANENT,INACTIVE") and exact
                    and sport_wild and dport >= 1024 and ends_ok)
        return (cls in (1, 2, 3) and proto == UDP and exact and sport_wild and not flags
                and dport >= 1024 and ends_ok and _timeout_ok(helper, g("timeout")))
    m = PROC.match(line)
    if m is not None:
        g = m.group
        helper, policy, proto, flags = g("helper"), g("policy"), int(g("proto")), g("flags") or ""
        if helper not in TIMEOUT or int(g("sport")) > 65535 or int(g("dport")) > 65535:
            return False
        src, dst = ipaddress.ip_address(g("src")), ipaddress.ip_address(g("dst"))
        if src.version != dst.version or src.version != {"2": 4, "10": 6}.get(g("l3")):
            return False
        dport, wild = int(g("dport")), int(src) == 0
        if not _timeout_ok(helper, g("timeout")):
            return False
        if helper == "ftp":
            return proto == TCP and policy is None and not flags and not wild and g("sport") == "0"
        if helper == "tftp":
            return proto == UDP and policy is None and not flags and not wild and g("sport") == "0"
        if helper == "irc":
            return proto == TCP and policy is None and not flags and src.version == 4 and wild and dport != 0
        return (policy in ("audio", "video", "image") and proto == UDP and not flags and not wild
                and g("sport") == "0" and dport >= 1024)
    return False


def best_of(runs: int, f: Callable[[], int]) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(runs):
        t = time.perf_counter()
        result = f()
        best = min(best, time.perf_counter() - t)
    return best, result


def mutations(lines: Sequence[str]) -> list[str]:
    """Lines both validators must reject: bounces, wrong protocols, privileged media ports."""
    out = []
    for line in lines[:64]:
        out.append(line.replace(" dst=10.", " dst=11.", 1))
        out.append(line.replace("proto=6 ", "proto=17 ", 1).replace("proto=17 src=203", "proto=6 src=203", 1))
        out.append(line.replace("dport=", "dport=8", 1) if "sip" in line else line.replace("helper=", "helper=x", 1))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3, help="runs of netfilter_helpers (best counts)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)

    lines = corpus(args.lines)
    validator = nfh.Validator()
    # Both validators agree, on the corpus and on lines they must reject.
    sample = lines[:2000] + mutations(lines)
    agree = validator.conforms_many(sample) == [python_conforms(x) for x in sample]
    blob = "".join(x + "\n" for x in lines).encode()

    rust_time, rust_count = best_of(args.runs, lambda: validator.count_conforming(lines))
    bytes_time, _ = best_of(args.runs, lambda: validator.count_conforming(blob))
    verdict_time, verdicts = best_of(1, lambda: len(validator.check_lines(lines)))
    py_time, py_count = best_of(1, lambda: sum(map(python_conforms, lines)))

    n = len(lines)
    rate, py_rate = n / rust_time, n / py_time
    ratio = py_time / rust_time
    print(f"corpus: {n} lines ({len(blob) / 1e6:.1f} MB), conforming: netfilter_helpers {rust_count}, pure Python {py_count}")
    print(f"netfilter_helpers Validator.count_conforming(list[str]): {rust_time:.3f} s, {rate / 1e6:.2f} M lines/s")
    print(f"netfilter_helpers Validator.count_conforming(bytes):     {bytes_time:.3f} s, {n / bytes_time / 1e6:.2f} M lines/s")
    print(f"netfilter_helpers Validator.check_lines (Verdict objects): {verdict_time:.3f} s, {verdicts / verdict_time / 1e6:.2f} M lines/s")
    print(f"pure Python (re + ipaddress):                            {py_time:.3f} s, {py_rate / 1e6:.3f} M lines/s")
    print(f"ratio: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x); rate target >= {TARGET_RATE / 1e6:.0f} M lines/s")
    print(f"validators agree on {len(sample)} sample lines: {agree}")

    ok = agree and rust_count == py_count == n and rate >= TARGET_RATE and ratio >= TARGET_RATIO
    if args.check and not ok:
        print("FAILED: a target was missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
