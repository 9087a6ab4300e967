"""The helper catalogue: helpers, modules, names, registrations, classes and policies."""

from __future__ import annotations

import pytest

import netfilter_helpers as nfh


def test_every_helper_with_its_kernel_name_and_module() -> None:
    names = [h.value for h in nfh.Helper.members()]
    assert names == [
        "amanda", "ftp", "irc", "netbios-ns", "snmp", "pptp", "sane", "sip", "tftp",
        "RAS", "Q.931", "H.245",
    ]
    assert [i.helper for i in nfh.helpers()] == nfh.Helper.members()
    assert nfh.Helper.FTP.module == nfh.Module.FTP
    assert nfh.Helper.RAS.module == nfh.Module("nf_conntrack_h323")
    assert nfh.Module.H323.helpers() == [nfh.Helper.RAS, nfh.Helper.Q931, nfh.Helper.H245]
    assert nfh.Module("ftp") is not None and nfh.Module("ftp").short_name == "ftp"


def test_helper_facts() -> None:
    ftp = nfh.Helper.FTP.info()
    assert ftp.default_port == 21
    assert ftp.master_protocols == [nfh.L4Proto.TCP]
    assert nfh.Family.IPV6 in ftp.families
    assert ftp.naming == nfh.Naming.PORT
    assert ftp.source == "net/netfilter/nf_conntrack_ftp.c"
    assert not nfh.Helper.IRC.info().supports(nfh.Family.IPV6)
    sip = nfh.Helper("sip").info()
    assert [c.expect_class for c in sip.classes] == [
        nfh.ExpectClass.SIGNALLING, nfh.ExpectClass.AUDIO, nfh.ExpectClass.VIDEO, nfh.ExpectClass.IMAGE,
    ]
    image = sip.class_policy(nfh.ExpectClass.IMAGE)
    assert image == nfh.ClassPolicy(nfh.ExpectClass.IMAGE, max_expected=2, timeout_secs=180)
    assert sip.class_policy("default") is None
    assert nfh.Helper.H245.info().default_port is None
    assert nfh.Helper.H245.info().registered_protocols == [nfh.L4Proto.UDP]


def test_helper_spellings() -> None:
    assert nfh.Helper("Q.931") == nfh.Helper("q931") == nfh.Helper.Q931
    assert str(nfh.Helper.NETBIOS_NS) == "netbios-ns"
    assert nfh.Helper("FTP") == nfh.Helper.FTP  # the member name
    with pytest.raises(nfh.CatalogueError) as e:
        nfh.Helper("bogus")
    assert e.value.name == "bogus"


def test_registered_names_follow_ports() -> None:
    opts = nfh.ModuleOptions({"sip.ports": [5060, 5070], "ftp.ports": "21,2121"})
    assert [str(r.name) for r in nfh.registered_names(nfh.Helper.SIP, opts)] == ["sip", "sip-1"]
    assert [r.port for r in nfh.registered_names("ftp", opts)] == [21, 2121]
    assert nfh.registered_names("pptp")[0].name == nfh.HelperName("pptp")
    r = nfh.resolve_name("sip-1", opts)
    assert r == nfh.Registration(nfh.HelperName(nfh.Helper.SIP, 1), port=5070)
    with pytest.raises(nfh.CatalogueError, match="registered names are sip, sip-1") as e:
        nfh.resolve_name("sip-2", opts)
    assert e.value.module == nfh.Module.SIP


def test_helper_names() -> None:
    n = nfh.HelperName("ftp-2121")
    assert (n.helper, n.suffix, str(n)) == (nfh.Helper.FTP, 2121, "ftp-2121")
    assert nfh.HelperName(nfh.Helper.FTP, 2121) == n
    with pytest.raises(nfh.CatalogueError, match="never registered with one") as e:
        nfh.HelperName("RAS-1")
    assert e.value.helper == nfh.Helper.RAS
    assert sorted([nfh.HelperName("sip-1"), nfh.HelperName("ftp")])[0] == nfh.HelperName("ftp")


def test_expect_classes() -> None:
    assert nfh.ExpectClass.AUDIO.number == 1
    assert nfh.ExpectClass.from_number(nfh.Helper.SIP, 3) == nfh.ExpectClass.IMAGE
    assert nfh.ExpectClass.VIDEO.policy_name == "video"
    assert nfh.ExpectClass.DEFAULT.policy_name is None
    with pytest.raises(nfh.CatalogueError):
        nfh.ExpectClass.from_number(nfh.Helper.FTP, 1)


def test_families_and_protocols() -> None:
    assert nfh.Family.IPV4 == 4 and nfh.Family.IPV6 == 6
    assert nfh.Family.IPV6.l3proto == 10
    assert nfh.Family.from_l3proto(2) == nfh.Family.IPV4
    assert nfh.Family.from_l3proto(7) is None
    assert nfh.Family.of("2001:db8::1") == nfh.Family.IPV6
    assert nfh.L4Proto.TCP == 6 and int(nfh.L4Proto.GRE) == 47
    assert nfh.L4Proto(17) == nfh.L4Proto("udp") == nfh.L4Proto.UDP
    assert nfh.L4Proto.TCP.has_ports and not nfh.L4Proto.GRE.has_ports
    with pytest.raises(nfh.NetfilterHelpersError):
        nfh.L4Proto(253)  # a number without a member
    with pytest.raises(nfh.CatalogueError):
        nfh.L4Proto("bogus")
