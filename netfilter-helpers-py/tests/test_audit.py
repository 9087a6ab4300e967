"""Host audits: files read by the binding (a root directory) or a snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

import netfilter_helpers as nfh


def test_audit_sample_host(samples: Path) -> None:
    report = nfh.audit(samples / "host-old")
    assert report.kernel == nfh.KernelVersion(4, 4, 0)
    assert report.options.ftp_loose
    codes = [f.code for f in report.findings]
    assert codes == [nfh.AuditCode.DANGEROUS_OPTION, nfh.AuditCode.AUTO_ASSIGNMENT, nfh.AuditCode.NONCONFORMING]
    assert report.findings[0].subject == "nf_conntrack_ftp.loose"
    assert report.findings[1].severity == nfh.Severity.ERROR
    assert [v.line for v in report.expectations] == [1, 2]
    assert report.expectations[0].conforms  # ftp to a third party: loose=1 is in force
    assert report.has_problems()
    assert report == nfh.audit(str(samples / "host-old"))
    assert report.to_dict()["kernel"] == "4.4.0"


def test_audit_with_policy(samples: Path) -> None:
    report = nfh.audit(samples / "host-old", policy=(samples / "policy.toml").read_text())
    assert nfh.AuditCode.POLICY_VIOLATION in [f.code for f in report.findings]
    assert report.expectations[0].policy_findings


def test_audit_snapshot() -> None:
    snap = nfh.HostSnapshot(
        kernel_release="6.1.0-18-amd64",
        params=[("nf_conntrack_sip", "sip_direct_media", "0")],
        expectations="299 l3proto = 2 proto=6 src=10.0.1.2 dst=10.0.0.9 sport=0 dport=50000 ftp\n",
    )
    report = nfh.audit(snap)
    assert report.kernel == nfh.KernelVersion(6, 1, 0)
    assert [f.code for f in report.findings] == [nfh.AuditCode.DANGEROUS_OPTION]
    assert len(report.expectations) == 1
    empty = nfh.audit(nfh.HostSnapshot(kernel_release="6.12.0", expectations=""))
    assert not empty.has_problems()


def test_snapshot_read(samples: Path) -> None:
    snap = nfh.HostSnapshot.read(samples / "host-old")
    assert snap.kernel_release == "4.4.0-210-generic"
    assert ("nf_conntrack_ftp", "loose", "Y") in snap.params
    assert snap.auto_assign_sysctl == "1"
    assert snap.expectations is not None and "sip/audio" in snap.expectations
    assert "sys/module/nf_conntrack_ftp/parameters/loose" in nfh.HostSnapshot.paths()
    assert nfh.audit(snap) == nfh.audit(samples / "host-old")


def test_audit_bad_roots(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        nfh.audit(tmp_path / "missing")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(NotADirectoryError):
        nfh.audit(f)
    # An empty tree: nothing readable, reported as findings rather than raised.
    report = nfh.audit(tmp_path)
    assert report.kernel is None
    assert nfh.AuditCode.KERNEL_UNKNOWN in [f.code for f in report.findings]
