"""Module options: modprobe.d parsing with every finding, assignments, values, rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

import netfilter_helpers as nfh


def test_modprobe_reports_every_problem_by_line(samples: Path) -> None:
    text = (
        "options nf_conntrack_ftp ports=21,21 loose=maybe\n"
        "options nf-conntrack-sip sip_direct_media=0 \\\n  ports=\"5060,5070\"\n"
        "options nf_conntrack_irc max_dcc_channels=300\n"
        "frobnicate\n"
    )
    report = nfh.ModuleOptions.from_modprobe(text)
    got = [(f.line, f.code) for f in report.findings]
    assert got == [
        (1, nfh.OptionCode.DUPLICATE_PORT),
        (1, nfh.OptionCode.INVALID_VALUE),
        (2, nfh.OptionCode.DANGEROUS_OPTION),
        (2, nfh.OptionCode.PORTS_RENAME_ONLY),
        (4, nfh.OptionCode.OUT_OF_RANGE),
        (5, nfh.OptionCode.MALFORMED_LINE),
    ]
    out_of_range = report.findings[4]
    assert out_of_range.severity == nfh.Severity.ERROR
    assert (out_of_range.module, out_of_range.param, out_of_range.value) == (
        "nf_conntrack_irc", "max_dcc_channels", "300",
    )
    assert "accepted 1..=255" in out_of_range.message
    assert report.has_errors() and report.has_problems()
    assert not report.options.sip_direct_media
    assert report.options.ports(nfh.Module.SIP) == [5060, 5070]
    assert nfh.parse_modprobe(text) == report
    # The sample file of the repository parses.
    sample = nfh.parse_modprobe((samples / "modprobe.conf").read_text())
    assert isinstance(sample, nfh.OptionsReport)


def test_assignments_get_and_render() -> None:
    o = nfh.ModuleOptions().with_assignment("ftp.loose=1").with_assignment("sip.ports=5060,5061")
    assert o.ftp_loose and o.get("nf_conntrack_ftp.loose") is True
    assert o.get(nfh.Param.SIP_PORTS) == [5060, 5061]
    assert o.get(nfh.Param.SIP_TIMEOUT) == 3600  # the default
    assert o.explicit() == {nfh.Param.FTP_LOOSE: True, nfh.Param.SIP_PORTS: [5060, 5061]}
    assert o.render_modprobe() == (
        "options nf_conntrack_ftp loose=1\noptions nf_conntrack_sip ports=5060,5061\n"
    )
    assert nfh.ModuleOptions.from_modprobe(o.render_modprobe()).options == o
    assert o.dangerous() == [
        (nfh.Param.FTP_LOOSE, nfh.Param.FTP_LOOSE.spec().danger.why)  # type: ignore[union-attr]
    ]
    assert o.sysfs_writes() == [("/sys/module/nf_conntrack_ftp/parameters/loose", "1")]
    assert o.without(nfh.Param.FTP_LOOSE).ftp_loose is False
    assert len(o) == 2
    # Immutable: every change is a new value.
    assert nfh.ModuleOptions().ftp_loose is False


def test_options_from_mapping_and_values() -> None:
    settings: dict[nfh.Param | str, bool | int | str | tuple[int, ...]] = {
        "ftp.loose": True, nfh.Param.SIP_DIRECT_MEDIA: 0, "irc.ports": (6667, 6668),
    }
    o = nfh.ModuleOptions(settings)
    assert o == nfh.ModuleOptions(["ftp.loose=1", "sip.sip_direct_media=0", "irc.ports=6667,6668"])
    assert o.with_value("h323.gkrouted_only", False).h323_gkrouted_only is False
    assert o.with_sysfs("nf_conntrack_ftp", "loose", "N\n").ftp_loose is False
    with pytest.raises(nfh.OptionError) as e:
        nfh.ModuleOptions({"irc.max_dcc_channels": 0})
    assert e.value.code == nfh.OptionCode.OUT_OF_RANGE
    assert (e.value.module, e.value.param, e.value.value) == ("nf_conntrack_irc", "max_dcc_channels", "0")
    with pytest.raises(nfh.OptionError) as e:
        nfh.ModuleOptions(["ftp.lose=1"])
    assert e.value.code == nfh.OptionCode.UNKNOWN_PARAMETER
    with pytest.raises(nfh.OptionError):
        nfh.ModuleOptions().with_assignment("ftp.loose")
    with pytest.raises(TypeError):
        nfh.ModuleOptions("options nf_conntrack_ftp loose=1")


def test_params_and_specs() -> None:
    assert len(nfh.params()) == len(nfh.Param.members()) == 20
    spec = nfh.Param.IRC_MAX_DCC_CHANNELS.spec()
    assert (spec.module, spec.name, spec.kind, spec.range, spec.default) == (
        nfh.Module.IRC, "max_dcc_channels", nfh.ParamKind.UINT, (1, 255), "8",
    )
    assert nfh.Param.CONNTRACK_HELPER.spec().removed_in == (6, 0)
    danger = nfh.Param.SIP_DIRECT_MEDIA.spec().danger
    assert danger is not None and danger.when_true is False
    assert nfh.Param.lookup("nf-conntrack-h323", "gkrouted_only") == nfh.Param.H323_GKROUTED_ONLY
    assert nfh.Param("ftp.loose") == nfh.Param.FTP_LOOSE
    assert nfh.Param.FTP_LOOSE.parse_value("Y") is True
    assert nfh.Param.FTP_PORTS.default_value() == [21]
    assert nfh.Param.FTP_LOOSE.danger_of(True) is not None
    assert nfh.Param.SIP_DIRECT_MEDIA.danger_of(1) is None
    nfh.Param.FTP_PORTS.check([21, 2121])
    with pytest.raises(nfh.OptionError) as e:
        nfh.Param.FTP_PORTS.check([21, 21])
    assert e.value.code == nfh.OptionCode.DUPLICATE_PORT
    assert nfh.ParamKind.PORTS.kernel_type == "ushort array"
    assert nfh.MAX_PORTS == 8 and nfh.MAX_CHARP == 1024
