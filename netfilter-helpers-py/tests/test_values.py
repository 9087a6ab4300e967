"""Every value class: frozen, hashable, comparable, with an eval-able repr; enums pickle."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

import netfilter_helpers as nfh

from .conftest import FTP_BOUNCE, FTP_OK

NS = vars(nfh)


def values(samples: Path) -> list[Any]:
    site = nfh.Site((samples.parent / "site.toml").read_text())
    policy = nfh.SitePolicy((samples / "policy.toml").read_text())
    master = nfh.Master("ftp", ("10.0.0.2", 40000), ("10.0.1.2", 21))
    report = nfh.audit(samples / "host-old", policy=policy)
    opts = nfh.ModuleOptions({"ftp.loose": True, "sip.ports": [5060, 5070]})
    parsed = nfh.parse_line("[NEW] " + FTP_OK)
    verdict = nfh.Validator(policy=policy).check_line(FTP_BOUNCE)
    out: list[Any] = [
        nfh.Helper.FTP, nfh.L4Proto.UDP, nfh.Family.IPV6, nfh.Param.FTP_LOOSE, nfh.Backend.NFT_JSON,
        nfh.Helper.FTP.info(), nfh.ClassPolicy(nfh.ExpectClass.AUDIO, 4, 180), nfh.HelperName("sip-1"),
        nfh.resolve_name("ftp"), opts, nfh.ModuleOptions(), nfh.Param.SIP_DIRECT_MEDIA.spec(),
        nfh.Param.SIP_DIRECT_MEDIA.spec().danger, nfh.parse_modprobe("options nf_conntrack_ftp loose=1 x=2\n"),
        nfh.Freedom(nfh.FreedomKind.MASTER, endpoint=nfh.Endpoint.PEER),
        nfh.Freedom(nfh.FreedomKind.PROTOCOL, protocol=47),
        nfh.rule(nfh.ExpectationKind.FTP_DATA).freedoms, nfh.rule(nfh.ExpectationKind.FTP_DATA, opts),
        master, nfh.Announcement(nfh.Side.RESPONDER, None, 5, second_port=6, transport="udp", interface_prefix=24, confirmed=True),
        nfh.Table(opts), nfh.KernelVersion(6, 1, 2), nfh.KernelVersion(4, 4).capabilities(),
        nfh.KernelVersion(4, 4).capabilities().recommendations()[0],
        nfh.ExpectFlags.PERMANENT | nfh.ExpectFlags.INACTIVE, nfh.ExpectFlags(), nfh.ExpectFlags(16),
        master.tuple, parsed, parsed.expectation, nfh.parse_lines("bogus\n")[1][0],
        nfh.parse_line("2 proto=17 src=10.71.1.255 dst=10.71.1.2 sport=137 dport=37229 mask-src=255.255.255.0 mask-dst=255.255.255.255 sport=65535 dport=65535 master-src=10.71.1.2 master-dst=10.71.1.255 sport=37229 dport=137 PERMANENT class=0 helper=netbios-ns").expectation,
        verdict, verdict.findings[0], nfh.Validator(opts, policy=policy), policy,
        policy.helpers[nfh.Helper.SIP], report, report.findings[0], nfh.HostSnapshot.read(samples / "host-old"),
        site, site.interfaces[1], site.services[0], site.rules(), site.rules().helpers[0],
        nfh.Interface("ppp", routed=["10.99.0.0/16"], prefix_match=True, rp_filter_mark=True),
    ]
    return out


def test_repr_is_eval_able_and_equal(samples: Path) -> None:
    for v in values(samples):
        again = eval(repr(v), NS)
        assert again == v, repr(v)
        assert hash(again) == hash(v), repr(v)


def test_hashable_and_frozen(samples: Path) -> None:
    vs = values(samples)
    assert len({*vs}) == len(vs)
    for v in vs:
        if type(v).__name__ in {"Helper", "L4Proto", "Family", "Param", "Backend"}:
            continue
        with pytest.raises(AttributeError):
            v.bogus = 1


def test_pickle(samples: Path) -> None:
    for v in [nfh.Helper.Q931, nfh.L4Proto.TCP, nfh.ModuleOptions({"ftp.loose": 1}), nfh.KernelVersion(6, 1),
              nfh.HelperName("ftp-2121"), nfh.ExpectFlags.PERMANENT, nfh.ConnTuple("::1", 1, "::2", 2, 6),
              nfh.SitePolicy((samples / "policy.toml").read_text()), nfh.Site((samples.parent / "site.toml").read_text())]:
        assert pickle.loads(pickle.dumps(v)) == v


def test_enums_behave() -> None:
    assert nfh.Severity.INFO < nfh.Severity.WARNING < nfh.Severity.ERROR
    assert nfh.Code.DESTINATION_ADDRESS.value == "destination-address"
    assert nfh.Code("destination-address") == nfh.Code.DESTINATION_ADDRESS
    assert nfh.Backend("nft-json").name == "NFT_JSON"
    assert str(nfh.ExpectationKind.Q931_FROM_RRQ) == "q931-from-rrq"
    assert nfh.ExpectationKind.Q931_FROM_RRQ.label == "q931 (RRQ)"
    assert nfh.ChainKind.RELATED_FORWARD.suffix == "related-fwd"
    assert nfh.RpFilter.LOOSE.sysctl == 2
    with pytest.raises(nfh.NetfilterHelpersError, match="not a valid Severity"):
        nfh.Severity("bogus")
    with pytest.raises(TypeError):
        nfh.Severity(3.5)  # type: ignore[arg-type]
    assert {nfh.Helper.FTP: 1}[nfh.Helper("ftp")] == 1


def test_enum_members_hash_like_the_ints_they_equal() -> None:
    assert nfh.L4Proto.TCP == 6 and hash(nfh.L4Proto.TCP) == hash(6)
    by_number: dict[object, str] = {6: "tcp"}
    assert by_number[nfh.L4Proto.TCP] == "tcp"
    assert nfh.Family.IPV6 == 6 and hash(nfh.Family.IPV6) == hash(6)
    for member in nfh.Helper.members() + nfh.Code.members():
        assert member == int(member) and hash(member) == hash(int(member))
