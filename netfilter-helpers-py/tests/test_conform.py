"""Validation: verdicts with findings, the options that decide, site policies, and the batch
functions (which release the GIL)."""

from __future__ import annotations

import threading
import time
from ipaddress import IPv4Network
from pathlib import Path

import pytest

import netfilter_helpers as nfh

from .conftest import FTP_BOUNCE, FTP_OK, corpus


def test_bounce_is_flagged_destination_address() -> None:
    v = nfh.Validator()
    assert v.check_line(FTP_OK).conforms
    verdict = v.check_line(FTP_BOUNCE)
    assert not verdict.conforms
    assert verdict.helper == nfh.HelperName("ftp")
    assert verdict.kind == nfh.ExpectationKind.FTP_DATA
    (finding,) = verdict.findings
    assert finding.code == nfh.Code.DESTINATION_ADDRESS
    assert finding.code.value == "destination-address"
    assert finding.severity == nfh.Severity.ERROR
    assert finding.attribute == nfh.Attribute.DST_ADDR
    assert "while ftp loose=0" in finding.message
    assert "it would conform with loose=1" in finding.message
    # With loose=1 the kernel would have created it: it conforms to the model.
    assert nfh.Validator({"ftp.loose": True}).check_line(FTP_BOUNCE).conforms


def test_check_lines_samples(samples: Path) -> None:
    v = nfh.Validator()
    with open(samples / "expectations.txt") as f:
        verdicts = v.check_lines(f, errors="skip")
    assert [(x.line, x.conforms) for x in verdicts] == [
        (1, True), (2, False), (3, False), (4, True), (5, True),
    ]
    assert verdicts[1].codes == [nfh.Code.DESTINATION_ADDRESS]
    assert verdicts[3].codes == [nfh.Code.MASTER_UNKNOWN]  # a /proc line: info only
    assert verdicts[3].findings[0].severity == nfh.Severity.INFO
    with pytest.raises(nfh.ParseError) as e:
        v.check_lines((samples / "expectations.txt").read_bytes())
    assert (e.value.line, e.value.kind, e.value.field) == (6, nfh.ParseErrorKind.INVALID, "dport")
    assert [x.line for x in e.value.errors] == [6]
    with pytest.raises(ValueError):
        v.check_lines([FTP_OK], errors="ignore")  # type: ignore[arg-type]


def test_policy_findings(samples: Path) -> None:
    policy = nfh.SitePolicy((samples / "policy.toml").read_text())
    assert policy.default == nfh.DefaultRule.DENY
    assert policy.helpers[nfh.Helper.FTP].min_port == 1024
    assert policy.helpers[nfh.Helper.SIP].sources == [IPv4Network("203.0.113.0/24")]
    assert policy.helpers[nfh.Helper.SIP].classes == [nfh.ExpectClass.SIGNALLING, nfh.ExpectClass.AUDIO]
    v = nfh.Validator(policy=policy)
    verdicts = v.check_lines((samples / "expectations.txt").read_text(), errors="skip")
    assert verdicts[1].codes == [
        nfh.Code.DESTINATION_ADDRESS, nfh.Code.POLICY_DESTINATION, nfh.Code.POLICY_THIRD_PARTY,
    ]
    assert [f.code for f in verdicts[3].policy_findings] == [nfh.Code.POLICY_HELPER]
    assert not verdicts[3].conforms  # irc is not allowed by the policy
    low = FTP_OK.replace("dport=50000", "dport=80")
    assert [f.code for f in policy.check(nfh.parse_line(low).expectation)] == [nfh.Code.POLICY_PORT]


def test_policy_sources() -> None:
    toml = '[helpers.ftp]\ndestinations = ["10.71.1.0/24"]\nmin_port = 1024\n'
    from_toml = nfh.SitePolicy.from_toml(toml)
    from_dict = nfh.SitePolicy({"helpers": {"ftp": {"destinations": [IPv4Network("10.71.1.0/24")], "min_port": 1024}}})
    from_json = nfh.SitePolicy('{"helpers": {"ftp": {"destinations": ["10.71.1.0/24"], "min_port": 1024}}}')
    built = nfh.SitePolicy(helpers={nfh.Helper.FTP: nfh.HelperPolicy(destinations=["10.71.1.0/24"], min_port=1024)})
    assert from_toml == from_dict == from_json == built == nfh.SitePolicy.from_dict(from_toml.to_dict())
    assert nfh.SitePolicy.from_toml(from_toml.to_toml()) == from_toml
    assert nfh.Validator(policy=toml) == nfh.Validator(policy=from_dict)


def test_policy_errors_list_every_problem() -> None:
    with pytest.raises(nfh.PolicyError) as e:
        nfh.SitePolicy(
            '[helpers.irc]\ndestinations = ["2001:db8::/32", "10.0.0.0/8", "10.0.0.0/8"]\nclasses = ["audio"]\n'
        )
    assert [p for p, _ in e.value.problems] == [
        "helpers.irc.destinations[0]", "helpers.irc.destinations[2]", "helpers.irc.classes[0]",
    ]
    with pytest.raises(nfh.PolicyError) as e:
        nfh.SitePolicy({"helpers": {"fpt": {}}})
    assert "fpt" in e.value.problems[0][1]
    with pytest.raises(nfh.CidrError) as c:
        nfh.HelperPolicy(destinations=["10.0.0.1/8"])
    assert c.value.text == "10.0.0.1/8"


def test_batch_functions_agree() -> None:
    lines = corpus(4000)
    lines[7] = FTP_BOUNCE
    lines[100] = "garbage"
    v = nfh.Validator()
    flags = v.conforms_many(lines)
    assert len(flags) == len(lines)
    assert flags[7] is False and flags[100] is False and flags[0] is True
    assert v.count_conforming(lines) == sum(flags) == len(lines) - 2
    verdicts = v.check_lines(lines, errors="skip")
    assert [x.line for x in verdicts if not x.conforms] == [8]
    blob = ("\n".join(lines) + "\n").encode()
    assert v.count_conforming(blob) == v.count_conforming("\n".join(lines)) == len(lines) - 2
    assert v.conforms_many(blob) == flags
    assert v.count_conforming([]) == 0 and v.conforms_many("") == []


def test_large_batches_run_in_parallel_chunks() -> None:
    lines = corpus(40_000)
    lines[12_345] = FTP_BOUNCE
    blob = "".join(line + "\n" for line in lines).encode()
    v = nfh.Validator()
    assert v.count_conforming(blob) == len(lines) - 1
    flags = v.conforms_many(blob)
    assert flags.index(False) == 12_345
    bad = [x.line for x in v.check_lines(blob) if not x.conforms]
    assert bad == [12_346]  # line numbers survive the chunking


def test_batches_release_the_gil() -> None:
    blob = "".join(line + "\n" for line in corpus(200_000)).encode()
    v = nfh.Validator()
    window: list[float] = []

    def work() -> None:
        window.append(time.perf_counter())
        v.count_conforming(blob)
        window.append(time.perf_counter())

    ticks: list[float] = []
    t = threading.Thread(target=work)
    t.start()
    while t.is_alive():
        ticks.append(time.perf_counter())
    t.join()
    start, end = window
    inside = [x for x in ticks if start + 0.2 * (end - start) < x < end - 0.2 * (end - start)]
    assert inside, "the main thread never ran while the batch was validated"


def test_check_and_check_line_forms() -> None:
    v = nfh.Validator(["ftp.loose=1"])
    parsed = nfh.parse_line(FTP_BOUNCE)
    assert v.check(parsed.expectation).conforms
    assert v.check_line(parsed) == v.check_line(FTP_BOUNCE.encode())
    assert v.options.ftp_loose and v.policy is None
    with pytest.raises(nfh.ParseError):
        v.check_line("bogus")
    unknown = nfh.Expectation("10.0.0.2", 5000, nfh.L4Proto.TCP, helper="rpc")
    assert nfh.Validator().check(unknown).codes == [nfh.Code.UNKNOWN_HELPER]
