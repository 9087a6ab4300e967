"""The degree-of-freedom model: freedoms per attribute and option, explanations, risks,
tables, and predictions of the kernel's expectations."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

import netfilter_helpers as nfh

F = nfh.Freedom
K = nfh.FreedomKind


def test_ftp_destination_becomes_payload_with_loose() -> None:
    strict = nfh.rule(nfh.ExpectationKind.FTP_DATA)
    assert strict.freedoms.dst_addr == F(K.PAYLOAD_CHECKED, endpoint=nfh.Endpoint.SENDER)
    assert strict.freedoms.dst_addr.code == "P=M(sender)"
    assert not strict.freedoms.dst_addr.forgeable
    assert strict.risk is None
    loose = nfh.rule("ftp-data", {"ftp.loose": True})
    assert loose.freedoms.dst_addr == F(K.PAYLOAD)
    assert loose.freedoms.dst_addr.forgeable
    # loose=1 does not free the source (the 2012 article says it does).
    assert loose.freedoms.src_addr == F(K.MASTER, endpoint=nfh.Endpoint.PEER)
    assert loose.risk is not None and "FTP bounce" in loose.risk
    assert loose.options == [nfh.Param.FTP_LOOSE]
    assert loose.option_text == "loose = 1"
    assert loose.module_options == nfh.ModuleOptions(["ftp.loose=1"])


def test_rules_per_kind_and_helper() -> None:
    assert len(nfh.all_rules()) == len(nfh.ExpectationKind.members()) == 20
    sip = nfh.rules_for(nfh.Helper.SIP)
    assert [r.kind for r in sip] == [
        nfh.ExpectationKind.SIP_SIGNALLING, nfh.ExpectationKind.SIP_AUDIO,
        nfh.ExpectationKind.SIP_VIDEO, nfh.ExpectationKind.SIP_IMAGE,
    ]
    assert nfh.kinds_of(nfh.Helper.TFTP) == [nfh.ExpectationKind.TFTP_DATA]
    assert nfh.Helper.TFTP.kinds() == [nfh.ExpectationKind.TFTP_DATA]
    audio = nfh.ExpectationRule(nfh.ExpectationKind.SIP_AUDIO)
    assert (audio.helper, audio.expect_class, audio.count) == (nfh.Helper.SIP, nfh.ExpectClass.AUDIO, 2)
    assert audio.port_rule == nfh.PortRule.SDP_RTP_PAIR
    assert audio.command_from == nfh.CommandFrom.EITHER
    assert audio.policy == nfh.ClassPolicy(nfh.ExpectClass.AUDIO, 4, 180)
    assert audio.notes and audio.trigger
    signalling = nfh.rule(nfh.ExpectationKind.SIP_SIGNALLING)
    assert nfh.ExpectFlags.INACTIVE in signalling.flags
    assert signalling.freedoms.l4 == F(K.MASTER_PROTOCOL)
    media = nfh.rule(nfh.ExpectationKind.SIP_AUDIO, {"sip.sip_direct_media": 0})
    assert media.freedoms.src_addr == F(K.WILDCARD)
    assert media.risk is not None and "any host" in media.risk
    irc = nfh.rule(nfh.ExpectationKind.IRC_DCC, {"irc.max_dcc_channels": 2})
    assert irc.policy.max_expected == 2
    assert nfh.class_policy(nfh.Helper.IRC, nfh.ExpectClass.DEFAULT, {"irc.dcc_timeout": 60}) == nfh.ClassPolicy(
        nfh.ExpectClass.DEFAULT, 8, 60
    )
    assert nfh.class_policy(nfh.Helper.FTP, nfh.ExpectClass.AUDIO) is None


def test_freedoms_by_attribute() -> None:
    tftp = nfh.rule(nfh.ExpectationKind.TFTP_DATA).freedoms
    assert tftp.get(nfh.Attribute.DST_PORT) == F(K.MASTER, endpoint=nfh.Endpoint.INITIATOR)
    assert [a for a, _ in tftp.items()] == nfh.Attribute.members()
    gre = nfh.rule(nfh.ExpectationKind.PPTP_GRE).freedoms.l4
    assert gre.kind == K.PROTOCOL and gre.protocol == nfh.L4Proto.GRE
    assert F(K.WILDCARD).article_keyword(nfh.Attribute.SRC_PORT) == "0-65535"
    assert F(K.WILDCARD).article_keyword("src_addr") == "Full"
    assert nfh.Attribute.DST_PORT.words == "destination port"
    with pytest.raises(ValueError):
        F(K.MASTER)  # needs an endpoint
    with pytest.raises(ValueError):
        F(K.PAYLOAD, protocol=nfh.L4Proto.TCP)


def test_explanations() -> None:
    text = "\n".join(nfh.rule(nfh.ExpectationKind.FTP_DATA, ["ftp.loose=1"]).explain())
    assert "destination address of ftp data connections is taken from the payload" in text
    assert "risk:" in text


def test_tables() -> None:
    article = nfh.Table().to_article_text()
    assert article.startswith("Module")
    assert any(line.startswith("ftp") and "loose = 0 (default)" in line for line in article.splitlines())
    precise = nfh.Table({"ftp.loose": True}).to_precise_text()
    ftp = next(line for line in precise.splitlines() if line.startswith("ftp"))
    assert ftp.split()[:6] == ["ftp", "M(peer)", "*", "P", "P", "tcp"]
    assert len(nfh.Table().rows) == 20
    assert nfh.Table() != nfh.Table({"ftp.loose": True})


def test_predict_and_refusals() -> None:
    master = nfh.Master("ftp", ("10.0.0.2", 40000), ("10.0.1.2", 21))
    assert master.initiator == (IPv4Address("10.0.0.2"), 40000)
    assert master.tuple.dport == 21
    ftp = nfh.rule(nfh.ExpectationKind.FTP_DATA)
    (exp,) = ftp.predict(master, nfh.Announcement(nfh.Side.INITIATOR, "10.0.0.2", 50000))
    assert exp.dst == IPv4Address("10.0.0.2") and exp.src == IPv4Address("10.0.1.2")
    assert exp.to_conntrack_line().split(" mask-src")[0] == "proto=6 src=10.0.1.2 dst=10.0.0.2 sport=0 dport=50000"
    assert nfh.Validator().check(exp).conforms
    with pytest.raises(nfh.RefusalError) as e:
        ftp.predict(master, nfh.Announcement(nfh.Side.INITIATOR, "10.0.1.3", 50000))
    assert e.value.kind == nfh.ExpectationKind.FTP_DATA
    assert "differs from the master's sender" in e.value.reason
    pptp = nfh.Master("pptp", ("192.168.13.152", 40000), ("192.168.13.118", 1723))
    gre = nfh.rule("pptp-gre").predict(pptp, nfh.Announcement("responder", None, 0x6BD8, second_port=0xA9A0))
    assert [(x.sport, x.dport) for x in gre] == [(0xA9A0, 0x6BD8), (0x6BD8, 0xA9A0)]
    with pytest.raises(nfh.TupleError):
        nfh.Master("ftp", ("10.0.0.2", 1), ("::1", 21))
