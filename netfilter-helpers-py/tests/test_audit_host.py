"""Host audits through the shared hardened reader (``netfilter-helpers-host``, the reader
``nfh audit`` and ``nfh_audit_host`` use), and a site's drift."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import netfilter_helpers as nfh

SITE = """
kernel = "6.1.0"
[[interfaces]]
name = "eth0"
default_route = true
networks = ["198.51.100.2/24"]
[[interfaces]]
name = "eth1"
networks = ["10.0.1.1/24"]
[[services]]
name = "ftp-in"
helper = "ftp"
direction = "inbound"
servers = ["10.0.1.10"]
"""

BLANKET = (
    "*filter\n:FORWARD DROP [0:0]\n"
    "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n"
)

# The findings `nfh audit --root examples/samples/host-ruleset` prints (README), in order.
SAMPLE_CODES = [
    nfh.AuditCode.DANGEROUS_OPTION,
    nfh.AuditCode.HELPER_UNRESTRICTED,
    nfh.AuditCode.DANGEROUS_OPTION_IN_USE,
    nfh.AuditCode.RELATED_ACCEPT_NO_ADDRESS,
    nfh.AuditCode.RELATED_ACCEPT_BLANKET,
    nfh.AuditCode.NO_ANTISPOOFING,
    nfh.AuditCode.NO_ANTISPOOFING,
]


def read_in_thread(root: Path) -> nfh.HostSnapshot:
    """Reads a snapshot on a thread and fails when it does not come back (a FIFO opened
    blocking would wait for a writer forever)."""
    out: list[nfh.HostSnapshot] = []
    t = threading.Thread(target=lambda: out.append(nfh.HostSnapshot.read(root)), daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "reading the root blocked"
    return out[0]


def test_snapshot_read_refuses_fifos_and_symlinks_out_of_the_root(tmp_path: Path) -> None:
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/osrelease").write_text("6.12.0\n")
    params = tmp_path / "sys/module/nf_conntrack_ftp/parameters"
    params.mkdir(parents=True)
    os.mkfifo(params / "loose")
    (tmp_path / "proc/net").mkdir()
    secret = tmp_path.parent / f"{tmp_path.name}-outside"
    secret.write_text("299 proto=6 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=21 ftp\n")
    os.symlink(secret, tmp_path / "proc/net/nf_conntrack_expect")
    snap = read_in_thread(tmp_path)
    why = dict(snap.unreadable)
    assert snap.kernel_release == "6.12.0"
    assert "not a regular file" in why["sys/module/nf_conntrack_ftp/parameters/loose"]
    assert "a symlink leads out of the root" in why["proc/net/nf_conntrack_expect"]
    assert snap.expectations is None
    codes = [f.code for f in nfh.audit(snap).findings]
    assert codes.count(nfh.AuditCode.UNREADABLE) == 2


def test_snapshot_read_collects_interfaces(samples: Path) -> None:
    snap = nfh.HostSnapshot.read(samples / "host-ruleset")
    assert snap.interfaces == [
        ("lo", ["127.0.0.1/8"], None),
        ("eth0", ["198.51.100.2/24", "fe80::1/64"], "0"),
        ("eth1", ["10.0.1.1/24", "fd00:1::1/64"], "1"),
    ]
    assert snap.rp_filter_all == "0"


def test_snapshot_read_rejects_a_broken_ip_addr_json(tmp_path: Path) -> None:
    (tmp_path / "ip-addr.json").write_text("not json")
    with pytest.raises(ValueError, match="ip-addr.json"):
        nfh.HostSnapshot.read(tmp_path)


def test_the_per_file_limit_can_be_changed(samples: Path, tmp_path: Path) -> None:
    osrelease = tmp_path / "proc" / "sys" / "kernel" / "osrelease"
    osrelease.parent.mkdir(parents=True)
    osrelease.write_text("6.12.0-1-amd64\n")
    assert nfh.HostSnapshot.read(tmp_path).kernel_release == "6.12.0-1-amd64"
    small = nfh.HostSnapshot.read(tmp_path, max_file_bytes=4)
    assert small.kernel_release is None
    assert any("osrelease" in path and "larger than 4 bytes" in why for path, why in small.unreadable)
    report = nfh.audit(tmp_path, max_file_bytes=4)
    assert nfh.AuditCode.KERNEL_UNKNOWN in [f.code for f in report.findings]
    # The sample's rulesets are bigger than 64 bytes: refused, and said so.
    tight = nfh.audit_host(samples / "host-ruleset", max_file_bytes=64)
    assert any(f.code == nfh.AuditCode.UNREADABLE and "larger than 64 bytes" in f.message for f in tight.findings)
    for call in (
        lambda: nfh.HostSnapshot.read(tmp_path, max_file_bytes=0),
        lambda: nfh.audit(tmp_path, max_file_bytes=0),
        lambda: nfh.audit_host(tmp_path, max_file_bytes=0),
    ):
        with pytest.raises(ValueError, match="max_file_bytes must be at least 1"):
            call()
    with pytest.raises(OverflowError):
        nfh.audit_host(tmp_path, max_file_bytes=-1)


def test_audit_host_of_the_sample_tree(samples: Path) -> None:
    report = nfh.audit_host(samples / "host-ruleset")
    assert [f.code for f in report.findings] == SAMPLE_CODES
    assert report.findings[4].rule_text == "-A fwd_lan -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    assert report.to_dict()["ruleset"]["rules"] == 5
    bare = nfh.audit_host(str(samples / "host-ruleset"), read_rulesets=False)
    assert [f.code for f in bare.findings] == [nfh.AuditCode.DANGEROUS_OPTION]
    # The site's rules are not loaded there: the hazards, then every rule missing.
    drifted = nfh.audit_host(samples / "host-ruleset", site=SITE)
    codes = [f.code for f in drifted.findings]
    assert codes[:7] == SAMPLE_CODES
    assert len(codes) > 7 and set(codes[7:]) == {nfh.AuditCode.DRIFT_MISSING}


def test_audit_host_bad_roots(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        nfh.audit_host(tmp_path / "missing")
    (tmp_path / "nft-ruleset.json").write_text("{ not json")
    with pytest.raises(ValueError, match="nft-ruleset.json: not an `nft -j list ruleset` document"):
        nfh.audit_host(tmp_path)


def test_audit_host_live() -> None:
    # The live host without rulesets: /proc and /sys, the expectation table over ctnetlink
    # (or /proc, with a finding saying why); no command is run.
    report = nfh.audit_host(read_rulesets=False)
    assert report.kernel is not None


def rendering(site: nfh.Site) -> list[str]:
    """The site's iptables and ip6tables rules as iptables-save and ip6tables-save print them."""
    return [
        "# Generated by iptables-save v1.8.9\n" + site.render(nfh.Backend.IPTABLES),
        "# Generated by ip6tables-save v1.8.9\n" + site.render(nfh.Backend.IP6TABLES),
    ]


def test_audit_drift_from_a_site() -> None:
    site = nfh.Site(SITE)
    snap = nfh.HostSnapshot(kernel_release="6.1.0", expectations="")
    # Loaded as rendered: no drift, no hazard.
    assert nfh.audit(snap, ruleset=rendering(site), site=site).findings == []
    # One rule less: it is missing; another table's blanket accept is a hazard, not drift.
    v4, v6 = rendering(site)
    lines = v4.splitlines(keepends=True)
    dropped = next(i for i, l in enumerate(lines) if l.startswith("-A nfh-"))
    report = nfh.audit(snap, ruleset=["".join(lines[:dropped] + lines[dropped + 1 :]), v6, BLANKET], site=SITE)
    assert [f.code for f in report.findings] == [
        nfh.AuditCode.RELATED_ACCEPT_BLANKET,
        nfh.AuditCode.DRIFT_MISSING,
    ]
    assert report.findings[1].rule_text == lines[dropped].strip()
    # Nothing loaded: everything is missing; the site as a dict works as well.
    nothing = nfh.audit(snap, site=site.to_dict())
    assert nothing.findings and {f.code for f in nothing.findings} == {nfh.AuditCode.DRIFT_MISSING}
    assert nothing.findings == nfh.audit(snap, ruleset=[], site=site).findings


def test_audit_site_errors() -> None:
    snap = nfh.HostSnapshot(kernel_release="6.1.0", expectations="")
    with pytest.raises(nfh.SiteError):
        nfh.audit(snap, site='[[interfaces]]\nname = "a b"\n')
    # A 4.9 site, nothing loaded: its nft rendering cannot be compared.
    with pytest.raises(nfh.RenderError, match="Linux 4.12"):
        nfh.audit(snap, site='kernel = "4.9"\n[[interfaces]]\nname = "eth0"\ndefault_route = true\n')


def test_audit_host_with_a_policy(samples: Path) -> None:
    policy = (samples / "policy.toml").read_text()
    judged = nfh.audit_host(samples / "host-old", policy=policy, read_rulesets=False)
    assert nfh.AuditCode.POLICY_VIOLATION in [f.code for f in judged.findings]
    assert judged == nfh.audit(samples / "host-old", policy=policy)
    plain = nfh.audit_host(samples / "host-old", read_rulesets=False)
    assert nfh.AuditCode.POLICY_VIOLATION not in [f.code for f in plain.findings]
