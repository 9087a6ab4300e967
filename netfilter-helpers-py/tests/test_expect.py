"""Tuples, expectations, their text forms and the parsers; ipaddress objects in and out."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

import netfilter_helpers as nfh

from .conftest import FTP_OK


def test_parse_conntrack_line() -> None:
    p = nfh.parse_line(FTP_OK)
    assert p.format == nfh.Format.CONNTRACK and p.timeout == 299 and p.event is None
    e = p.expectation
    assert isinstance(e.src, IPv4Address) and isinstance(e.dst, IPv4Address)
    assert e.src == IPv4Address("10.71.2.2") and e.dst == IPv4Address("10.71.1.2")
    assert e.src_mask == IPv4Address("255.255.255.255")
    assert (e.dport, e.l4, e.helper, e.class_number) == (50000, nfh.L4Proto.TCP, "ftp", 0)
    assert e.master is not None and e.master.dport == 21 and e.master.l4 == nfh.L4Proto.TCP
    assert p.master_l4_known
    assert e.family == nfh.Family.IPV4
    assert e.src_port_wildcard() and not e.src_addr_wildcard()
    assert nfh.parse_line(FTP_OK.encode()) == p


def test_parse_proc_line_ipv6_and_events() -> None:
    p = nfh.parse_line(
        "299 l3proto = 10 proto=6 src=2001:0db8:0000:0000:0000:0000:0000:0007 "
        "dst=2001:0db8:0000:0000:0000:0000:0000:0001 sport=0 dport=40000 ftp"
    )
    assert p.format == nfh.Format.PROC
    assert p.expectation.dst == IPv6Address("2001:db8::1")
    assert p.expectation.family == nfh.Family.IPV6
    sip = nfh.parse_line("179 l3proto = 2 proto=17 src=203.0.113.5 dst=192.168.1.10 sport=0 dport=5060 PERMANENT,INACTIVE sip/signalling")
    assert sip.policy_name == "signalling"
    assert sip.expectation.flags == nfh.ExpectFlags.PERMANENT | nfh.ExpectFlags.INACTIVE
    assert sip.expectation.flags.kernel_text == "PERMANENT,INACTIVE"
    destroy = nfh.parse_line("[DESTROY] " + FTP_OK)
    assert destroy.event == nfh.Event.DESTROY
    gre = nfh.parse_line("133 l3proto = 2 proto=47 src=192.168.13.152 dst=192.168.13.118 srckey=0xa9a0 dstkey=0x6bd8 pptp")
    assert (gre.expectation.sport, gre.expectation.dport, gre.expectation.l4) == (0xA9A0, 0x6BD8, nfh.L4Proto.GRE)


def test_parse_errors_name_line_and_field() -> None:
    with pytest.raises(nfh.ParseError) as e:
        nfh.parse_line("300 l3proto = 2 proto=6 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=99999 ftp")
    assert (e.value.kind, e.value.field, e.value.near, e.value.line) == (
        nfh.ParseErrorKind.INVALID, "dport", "99999", 0,
    )
    assert isinstance(e.value, ValueError)
    with pytest.raises(nfh.ParseError) as e:
        nfh.parse_line("300 l3proto = 2 proto=6 src=10.0.0.1 dst=::1 sport=0 dport=1 ftp")
    assert e.value.kind == nfh.ParseErrorKind.FAMILY_MISMATCH
    parsed, errors = nfh.parse_lines(f"{FTP_OK}\ngarbage here\n\n{FTP_OK}\nconntrack v1.4.8 (conntrack-tools): 2 expectations have been shown.\n")
    assert [n for n, _ in parsed] == [1, 4]
    assert [(x.line, x.kind, x.field) for x in errors] == [(2, nfh.ParseErrorKind.INVALID, "timeout")]
    # An iterable of lines, as a file yields them (with newlines) or without.
    assert nfh.parse_lines([FTP_OK + "\n", b"bogus", FTP_OK])[0][1][0] == 3


def test_build_and_render_expectations() -> None:
    master = nfh.ConnTuple("192.168.1.10", 51000, "198.51.100.7", 21, nfh.L4Proto.TCP)
    e = nfh.Expectation(IPv4Address("192.168.1.10"), 40000, "tcp", src="198.51.100.7", master=master, helper="ftp")
    assert e.to_proc_line(299) == "299 l3proto = 2 proto=6 src=198.51.100.7 dst=192.168.1.10 sport=0 dport=40000 ftp"
    assert e.to_conntrack_line(299) == (
        "299 proto=6 src=198.51.100.7 dst=192.168.1.10 sport=0 dport=40000 mask-src=255.255.255.255 "
        "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.1.10 master-dst=198.51.100.7 "
        "sport=51000 dport=21 class=0 helper=ftp"
    )
    assert nfh.parse_line(e.to_conntrack_line(299)).expectation == e
    assert master.reversed().dport == 51000
    wild = nfh.Expectation("10.0.0.2", 5000, 6)
    assert wild.src == IPv4Address("0.0.0.0") and wild.src_addr_wildcard()
    with pytest.raises(nfh.TupleError) as err:
        nfh.Expectation("10.0.0.2", 5000, nfh.L4Proto.TCP, src="::1")
    assert err.value.addresses == (IPv6Address("::1"), IPv4Address("10.0.0.2"))
    with pytest.raises(ValueError):
        nfh.Expectation("not an address", 1, 6)


def test_flags() -> None:
    f = nfh.ExpectFlags.PERMANENT | nfh.ExpectFlags.INACTIVE
    assert nfh.ExpectFlags.PERMANENT in f and nfh.ExpectFlags.USERSPACE not in f
    assert (f - nfh.ExpectFlags.INACTIVE) == nfh.ExpectFlags.PERMANENT
    assert not nfh.ExpectFlags() and int(f) == 3 and str(f) == "PERMANENT,INACTIVE"
    assert repr(f) == "ExpectFlags.PERMANENT | ExpectFlags.INACTIVE"


def test_mask_helpers_are_private_and_master_endpoints_public() -> None:
    # The mask arithmetic is the core's (net::mask); the module exports none of it.
    for name in ("full_mask", "zero_addr", "prefix_mask", "apply_mask"):
        assert not hasattr(nfh, name) and name not in nfh.__all__
    m = nfh.ConnTuple("10.0.0.2", 40000, "10.0.1.2", 21, nfh.L4Proto.TCP)
    assert nfh.is_master_endpoint(m, "10.0.1.2") and not nfh.is_master_endpoint(m, IPv4Address("10.0.1.3"))
