"""No input crashes the interpreter or escapes the exception hierarchy.

* Self-referencing or very deep site and policy documents raise ``SiteError``/``PolicyError``
  (``ValueError``) naming the path, instead of a stack overflow (SIGSEGV).
* Nothing is pre-allocated from ``__len__``: ``range(10**12)`` (SIGABRT before) or a ``__len__``
  of ``2**62`` (``PanicException`` before) are read lazily; list arguments and gathered lines
  are bounded (``MAX_ITEMS``, ``MAX_BATCH_BYTES``).
* No ``PanicException`` (a ``BaseException``) reaches the user: a panic is an ``InternalError``.
* Ctrl-C stops a long batch.

What used to kill the interpreter runs in a subprocess, so that the test fails instead of
taking pytest down with it.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netfilter_helpers as nfh

from .conftest import FTP_BOUNCE, corpus

HERE = Path(__file__).resolve().parents[1]


def run_isolated(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter (netfilter_helpers imported as nfh, the tests'
    package importable)."""
    prelude = "import json, sys\nimport netfilter_helpers as nfh\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=HERE,
    )


def outcome(code: str) -> dict[str, Any]:
    """Runs `code`, which calls `attempt(lambda: ...)`, in a subprocess and returns what
    happened: the exception's type, its MRO names and its problems, or the result."""
    helper = """
    def attempt(f):
        try:
            r = f()
        except BaseException as e:
            print(json.dumps({
                "raised": type(e).__name__,
                "mro": [c.__name__ for c in type(e).__mro__],
                "problems": getattr(e, "problems", None),
                "message": str(e)[:2000],
            }))
        else:
            print(json.dumps({"result": repr(r)}))
    """
    proc = run_isolated(textwrap.dedent(helper) + textwrap.dedent(code))
    assert proc.returncode == 0, (
        f"the interpreter died (exit {proc.returncode}, "
        f"{signal.Signals(-proc.returncode).name if proc.returncode < 0 else 'no signal'}): "
        f"{proc.stderr[-2000:]}"
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


SITE: dict[str, Any] = {
    "interfaces": [
        {"name": "wan0", "default_route": True, "networks": ["198.51.100.2/24"]},
        {"name": "lan0", "networks": ["10.81.1.1/24"]},
    ],
    "services": [
        {"name": "ftp", "helper": "ftp", "direction": "inbound", "servers": ["10.81.1.10"]},
    ],
}


def deep_list(levels: int) -> list[Any]:
    d: list[Any] = []
    for _ in range(levels - 1):
        d = [d]
    return d


# Self-referencing documents: each builds `doc` and names the path where it refers to itself.
CYCLES = [
    ("site list", "site", "doc = {'interfaces': []}; doc['interfaces'].append(doc['interfaces'])",
     "interfaces[0]"),
    ("site dict", "site",
     "doc = {'services': [{'name': 'ftp', 'helper': 'ftp', 'direction': 'inbound'}]}\n"
     "doc['services'][0]['servers'] = [doc]", "services[0].servers[0]"),
    ("site root", "site", "doc = {}; doc['interfaces'] = doc", "interfaces"),
    ("policy dict", "policy",
     "doc = {'helpers': {'ftp': {}}}; doc['helpers']['ftp']['destinations'] = doc['helpers']",
     "helpers.ftp.destinations"),
    ("policy tuple", "policy",
     "x = []; t = (x,); x.append(t); doc = {'helpers': {'sip': {'sources': t}}}",
     "helpers.sip.sources[0][0]"),
    ("mapping", "site",
     "from collections.abc import Mapping\n"
     "class M(Mapping):\n"
     "    def __getitem__(self, k): return self\n"
     "    def __iter__(self): return iter(['interfaces'])\n"
     "    def __len__(self): return 1\n"
     "doc = {'services': [M()]}", "services[0].interfaces"),
]


@pytest.mark.parametrize(("what", "kind", "build", "path"), CYCLES, ids=[c[0] for c in CYCLES])
def test_self_referencing_documents_raise_with_the_path(what: str, kind: str, build: str, path: str) -> None:
    calls = (
        ["nfh.Site(doc)", "nfh.Site.from_dict(doc)"]
        if kind == "site"
        else ["nfh.SitePolicy(doc)", "nfh.SitePolicy.from_dict(doc)", "nfh.Validator(policy=doc)",
              "nfh.audit(nfh.HostSnapshot(), policy=doc)"]
    )
    for call in calls:
        got = outcome(build + f"\nattempt(lambda: {call})\n")
        error = "SiteError" if kind == "site" else "PolicyError"
        assert got.get("raised") == error, (call, got)
        assert "ValueError" in got["mro"] and "NetfilterHelpersError" in got["mro"]
        assert got["problems"][0][0] == path, (call, got)
        assert "cycle" in got["problems"][0][1]


@pytest.mark.parametrize(
    ("call", "error", "prefix"),
    [
        ("nfh.Site({'services': [{'name': 'x', 'servers': deep}]})", "SiteError", "services[0].servers[0][0]"),
        ("nfh.Site.from_dict({'interfaces': [deep_dict]})", "SiteError", "interfaces[0].a.a.a"),
        ("nfh.SitePolicy.from_dict({'helpers': {'ftp': {'destinations': deep}}})", "PolicyError",
         "helpers.ftp.destinations[0][0]"),
        ("nfh.Validator(policy={'helpers': deep_dict})", "PolicyError", "helpers.a.a"),
    ],
)
def test_twenty_thousand_levels_raise_with_the_path(call: str, error: str, prefix: str) -> None:
    got = outcome(f"""
    deep = []
    for _ in range(20_000):
        deep = [deep]
    deep_dict = {{}}
    for _ in range(20_000):
        deep_dict = {{"a": deep_dict}}
    attempt(lambda: {call})
    """)
    assert got.get("raised") == error, got
    assert "ValueError" in got["mro"]
    path, message = got["problems"][0]
    assert path.startswith(prefix)
    assert f"{nfh.MAX_DOCUMENT_DEPTH} levels" in message
    # The path is that of the first container past the limit (the root dict is level 1).
    assert path.count("[") + path.count(".") + 1 == nfh.MAX_DOCUMENT_DEPTH


@given(st.integers(min_value=1, max_value=3 * nfh.MAX_DOCUMENT_DEPTH))
def test_nesting_is_refused_exactly_beyond_the_limit(levels: int) -> None:
    # services (2), [0] (3), servers (4): the nested lists start at level 4.
    doc = json.loads(json.dumps(SITE))
    doc["services"][0]["servers"] = deep_list(levels)
    depth = 3 + levels
    if depth > nfh.MAX_DOCUMENT_DEPTH:
        with pytest.raises(nfh.SiteError) as e:
            nfh.Site(doc)
        # The first container past the limit: servers is level 4, each [0] one more.
        assert e.value.problems == [(
            "services[0].servers" + "[0]" * (nfh.MAX_DOCUMENT_DEPTH + 1 - 4),
            f"nested more than {nfh.MAX_DOCUMENT_DEPTH} levels deep (MAX_DOCUMENT_DEPTH)",
        )]
    else:
        try:
            nfh.Site(doc)
        except nfh.SiteError as e:  # refused by the site's own rules, not by the depth
            assert all("MAX_DOCUMENT_DEPTH" not in message for _, message in e.problems)


@given(st.integers(min_value=1, max_value=5))
def test_shared_subdocuments_are_no_cycle(copies: int) -> None:
    # The same object in several places (a DAG) is fine; only an object inside itself is a
    # cycle.
    doc = json.loads(json.dumps(SITE))
    clients = ["10.81.1.0/24"]
    service = {"name": "ftp", "helper": "ftp", "direction": "inbound", "servers": ["10.81.1.10"],
               "clients": clients, "related": clients}
    doc["services"] = [dict(service, name=f"ftp{i}", ports=[2100 + i]) for i in range(copies)]
    site = nfh.Site(doc)
    assert [s.clients for s in site.services] == [[ipaddress.ip_network("10.81.1.0/24")]] * copies


def test_a_dict_changed_while_it_is_read_is_no_panic() -> None:
    doc: dict[Any, Any] = {}

    class Sneaky(ipaddress.IPv4Address):
        def __str__(self) -> str:
            doc.pop("later", None)
            return super().__str__()

    doc.update({"helpers": {}, Sneaky("10.0.0.1"): 1, "later": 2})
    with pytest.raises(nfh.PolicyError):
        nfh.SitePolicy.from_dict(doc)


class HugeLen:
    """An iterable whose `__len__` lies: it announces `n` items and yields `items`."""

    def __init__(self, n: int, items: list[Any]) -> None:
        self.n = n
        self.items = items

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __getitem__(self, i: int) -> Any:
        return self.items[i]


@pytest.mark.parametrize(
    "call",
    [
        "nfh.aggregate(range(10**12))",
        "nfh.Interface('eth0', attached=range(10**12))",
        "nfh.Service('x', 'ftp', 'inbound', ports=range(10**12))",
        "nfh.HelperPolicy(destinations=range(10**12))",
        "nfh.Validator().count_conforming(range(10**12))",
        "nfh.parse_lines(range(10**12))",
    ],
)
def test_range_of_a_trillion_is_read_lazily(call: str) -> None:
    got = outcome(f"attempt(lambda: {call})\n")
    if "ports=" in call:
        # Ports 0, 1, 2, ... are fine until 65536: then the port is refused.
        assert got.get("raised") in ("OverflowError", "NetfilterHelpersError"), got
    else:
        assert got.get("raised") in ("CidrError", "TypeError"), got


def test_a_lying_len_in_a_subprocess_is_no_abort() -> None:
    got = outcome("""
    class HugeLen:
        def __len__(self): return 10**12
        def __iter__(self): return iter(["10.0.0.0/9", "10.128.0.0/9"])
    attempt(lambda: (nfh.aggregate(HugeLen()), nfh.Validator().count_conforming(HugeLen())))
    """)
    assert got == {"result": "([IPv4Network('10.0.0.0/8')], 0)"}


LYING = st.integers(min_value=2**62, max_value=2**63 - 1)


@given(LYING, st.lists(st.sampled_from(corpus(16) + [FTP_BOUNCE, "garbage"]), max_size=8))
def test_batches_ignore_len(n: int, lines: list[str]) -> None:
    v = nfh.Validator()
    assert v.count_conforming(HugeLen(n, lines)) == v.count_conforming(lines)
    assert v.conforms_many(HugeLen(n, lines)) == v.conforms_many(lines)
    assert v.check_lines(HugeLen(n, lines), errors="skip") == v.check_lines(lines, errors="skip")
    assert nfh.parse_lines(HugeLen(n, lines)) == nfh.parse_lines(lines)


@given(LYING, st.lists(st.sampled_from(["10.0.0.0/9", "10.128.0.0/9", "192.0.2.0/24", "2001:db8::/32"]), max_size=6))
def test_list_arguments_ignore_len(n: int, networks: list[str]) -> None:
    assert nfh.aggregate(HugeLen(n, networks)) == nfh.aggregate(networks)
    assert nfh.Interface("eth0", attached=HugeLen(n, networks)).attached == nfh.Interface("eth0", attached=networks).attached
    service = nfh.Service("ftp", "ftp", "inbound", servers=HugeLen(n, networks), ports=HugeLen(n, [21, 2121]),
                          families=HugeLen(n, ["ipv4"]))
    assert service.servers == nfh.Service("ftp", "ftp", "inbound", servers=networks).servers
    assert service.ports == [21, 2121]
    policy = nfh.HelperPolicy(destinations=HugeLen(n, networks), classes=HugeLen(n, []))
    assert policy == nfh.HelperPolicy(destinations=networks, classes=[])
    finding = nfh.Finding(nfh.Code.DESTINATION_ADDRESS, nfh.Severity.ERROR, "x")
    assert nfh.Verdict(findings=HugeLen(n, [finding])).findings == [finding]
    assert nfh.OptionsReport(nfh.ModuleOptions(), HugeLen(n, [])).findings == []
    assert nfh.AuditReport(findings=HugeLen(n, []), expectations=HugeLen(n, [])).expectations == []
    assert nfh.HostSnapshot(params=HugeLen(n, [("nf_conntrack_ftp", "loose", "1")])).params == [
        ("nf_conntrack_ftp", "loose", "1")
    ]


def test_list_arguments_take_any_iterable_but_text() -> None:
    # The stub has said Iterable all along; a generator used to be refused.
    assert nfh.aggregate(n for n in ["10.0.0.0/9", "10.128.0.0/9"]) == [ipaddress.ip_network("10.0.0.0/8")]
    assert nfh.Service("x", "ftp", "inbound", ports=iter([21])).ports == [21]
    with pytest.raises(TypeError):
        nfh.aggregate("10.0.0.0/8")  # a str is iterable, but no list of networks


def test_an_endless_list_argument_stops_at_the_item_limit() -> None:
    with pytest.raises(nfh.NetfilterHelpersError, match="MAX_ITEMS"):
        nfh.Service("x", "ftp", "inbound", ports=itertools.repeat(21))


def test_endless_lines_stop_at_the_byte_limit() -> None:
    # Capped address space: before the limit this gathered until memory ran out.
    got = outcome("""
    import itertools, resource
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    attempt(lambda: nfh.Validator().count_conforming(itertools.repeat(b"x" * (1 << 20))))
    """)
    assert got.get("raised") == "NetfilterHelpersError", got
    assert "MAX_BATCH_BYTES" in got["message"]
    assert nfh.MAX_BATCH_BYTES == 1 << 30 and nfh.MAX_ITEMS == 1 << 24 and nfh.MAX_DOCUMENT_DEPTH == 64


def test_internal_error_is_in_the_hierarchy_and_a_runtime_error() -> None:
    assert issubclass(nfh.InternalError, nfh.NetfilterHelpersError)
    assert issubclass(nfh.InternalError, RuntimeError)
    assert issubclass(nfh.InternalError, Exception)
    assert nfh.InternalError.__module__ == "netfilter_helpers"


class Interrupt:
    """Starts a batch in a subprocess (pinned to one CPU or not), sized to take a few seconds
    (at most 1000 MiB), and interrupts it with SIGINT 0.3 s after it started, or after a fifth
    of its expected time on a machine fast enough to finish 1000 MiB sooner."""

    CHILD = """
    import os, sys, time
    from tests.conftest import corpus
    if sys.argv[3] == "pinned":
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    v = nfh.Validator(policy={"helpers": {"ftp": {"destinations": ["10.71.1.0/24"]}}})
    call = {
        "count_conforming": v.count_conforming,
        "conforms_many": v.conforms_many,
        "check_lines": lambda b: v.check_lines(b, errors="skip"),
        "parse_lines": nfh.parse_lines,
    }[sys.argv[1]]
    sample = "".join(line + "\\n" for line in corpus(20_000)).encode()
    t = time.perf_counter()
    call(sample * 4)
    rate = len(sample) * 4 / (time.perf_counter() - t)
    copies = max(1, min(int(rate * float(sys.argv[2]) / len(sample)), (1000 << 20) // len(sample)))
    buf = sample * copies
    expected = len(buf) / rate
    print("started", expected, flush=True)
    t = time.perf_counter()
    try:
        call(buf)
    except KeyboardInterrupt:
        print("interrupted", time.perf_counter() - t, flush=True)
    else:
        print("finished", time.perf_counter() - t, flush=True)
    """

    @staticmethod
    def run(function: str, seconds: float, pinned: bool) -> tuple[float, str, float]:
        proc = subprocess.Popen(
            [sys.executable, "-c", "import netfilter_helpers as nfh\n" + textwrap.dedent(Interrupt.CHILD),
             function, str(seconds), "pinned" if pinned else "threads"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE,
        )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline().split()
            assert first and first[0] == "started", proc.stderr.read() if proc.stderr else ""
            # Interrupt early in the batch: 0.3 s, or a fifth of it on a fast machine.
            time.sleep(min(0.3, float(first[1]) / 5))
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        how, took = out.split()
        return float(first[1]), how, float(took)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs sched_setaffinity")
@pytest.mark.parametrize(
    ("function", "pinned"),
    [("count_conforming", True), ("count_conforming", False), ("conforms_many", True),
     ("check_lines", True), ("parse_lines", True)],
)
def test_ctrl_c_stops_a_long_batch(function: str, pinned: bool) -> None:
    expected, how, took = Interrupt.run(function, seconds=3.0, pinned=pinned)
    sent = min(0.3, expected / 5)
    assert how == "interrupted", (
        f"the batch ran to its end ({took:.1f} s of an expected {expected:.1f} s) despite SIGINT at {sent:.2f} s"
    )
    assert took < min(1.2, expected / 2), f"stopped {took:.2f} s after it started (SIGINT at {sent:.2f} s)"


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=29_999), max_size=6), st.integers(min_value=0, max_value=7))
def test_large_buffers_keep_line_numbers_across_pieces_and_threads(bad: list[int], shift: int) -> None:
    lines = corpus(30_000 + shift)
    for i in bad:
        lines[i] = FTP_BOUNCE if i % 2 else "garbage"
    blob = "".join(line + "\n" for line in lines).encode()
    assert len(blob) > 4 << 20  # threads and many pieces
    v = nfh.Validator()
    flags = v.conforms_many(blob)
    expected = sorted(set(bad))
    assert [i for i, ok in enumerate(flags) if not ok] == expected
    assert v.count_conforming(blob) == len(lines) - len(expected)
    verdicts = v.check_lines(blob, errors="skip")
    assert [x.line for x in verdicts if not x.conforms] == [i + 1 for i in expected if i % 2]
    parsed, errors = nfh.parse_lines(blob)
    assert [e.line for e in errors] == [i + 1 for i in expected if not i % 2]
    assert len(parsed) == len(lines) - len(errors)
