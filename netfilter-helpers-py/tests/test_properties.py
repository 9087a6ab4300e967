"""Properties (hypothesis): the parsers never crash on arbitrary input, only raise this
module's errors; what the core renders parses back to the same value."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Union

from hypothesis import assume, given
from hypothesis import strategies as st

import netfilter_helpers as nfh

from .conftest import corpus

texts = st.text(max_size=300) | st.text(alphabet=" =.:,-/[]0123456789abcdefxlsrcdtpomkhPERMANENTINACTIVE\n", max_size=300)


@given(st.one_of(texts, st.binary(max_size=300)))
def test_parse_line_never_crashes(line: str | bytes) -> None:
    try:
        parsed = nfh.parse_line(line)
    except nfh.ParseError as e:
        assert e.errors and e.errors[0].kind == e.kind
    else:
        assert isinstance(parsed, nfh.ParsedLine)


@given(st.lists(st.one_of(texts, st.binary(max_size=200), st.sampled_from(corpus(16))), max_size=20))
def test_batches_never_crash_and_agree(lines: list[str | bytes]) -> None:
    assume(all((b"\n" not in x) if isinstance(x, bytes) else ("\n" not in x) for x in lines))
    parsed, errors = nfh.parse_lines(lines)
    assert len(parsed) + len(errors) <= len(lines)
    v = nfh.Validator()
    flags = v.conforms_many(lines)
    assert len(flags) == len(lines)
    verdicts = v.check_lines(lines, errors="skip")
    assert v.count_conforming(lines) == sum(flags) == sum(x.conforms for x in verdicts)


@given(texts)
def test_modprobe_parser_never_crashes(text: str) -> None:
    report = nfh.ModuleOptions.from_modprobe(text)
    for f in report.findings:
        assert f.line is None or f.line >= 1


@given(texts)
def test_site_and_policy_readers_raise_only_their_errors(text: str) -> None:
    try:
        nfh.Site(text)
    except nfh.SiteError as e:
        assert e.problems
    try:
        nfh.SitePolicy(text)
    except nfh.PolicyError as e:
        assert e.problems


@given(st.text(max_size=40))
def test_name_parsers_never_crash(text: str) -> None:
    for parse in (nfh.KernelVersion.parse, nfh.HelperName, nfh.Helper, nfh.Param, nfh.L4Proto):
        try:
            parse(text)
        except nfh.NetfilterHelpersError:
            pass


OptionValue = Union[bool, int, str, list[int]]


def option_value(spec: nfh.ParamSpec) -> st.SearchStrategy[OptionValue]:
    if spec.kind == nfh.ParamKind.BOOL:
        return st.booleans()
    if spec.kind == nfh.ParamKind.INT:
        return st.integers(-(2**31), 2**31 - 1)
    if spec.kind == nfh.ParamKind.UINT:
        lo, hi = spec.range or (0, 2**32 - 1)
        return st.integers(lo, hi)
    if spec.kind == nfh.ParamKind.PORTS:
        return st.lists(st.integers(0, 65535), min_size=1, max_size=nfh.MAX_PORTS, unique=True)
    return st.sampled_from(["kmp", "bm", "fsm"])


def options_of(pairs: list[tuple[nfh.Param, OptionValue]]) -> nfh.ModuleOptions:
    settings: dict[nfh.Param | str, OptionValue] = dict(pairs)
    return nfh.ModuleOptions(settings)


module_options = st.lists(
    st.sampled_from(nfh.params()).flatmap(lambda s: st.tuples(st.just(s.param), option_value(s))),
    max_size=8,
).map(options_of)


@given(module_options)
def test_module_options_render_parse_round_trip(options: nfh.ModuleOptions) -> None:
    report = nfh.ModuleOptions.from_modprobe(options.render_modprobe())
    assert not report.has_errors()
    assert report.options == options
    assert nfh.ModuleOptions(options.assignments()) == options
    assert eval(repr(options), vars(nfh)) == options


Address = Union[IPv4Address, IPv6Address]


def v4_of(n: int) -> Address:
    return IPv4Address(n)


def v6_of(n: int) -> Address:
    return IPv6Address(n)


v4: st.SearchStrategy[Address] = st.integers(1, 2**32 - 2).map(v4_of)
v6: st.SearchStrategy[Address] = st.integers(1, 2**128 - 2).map(v6_of)
ports = st.integers(1024, 65535)


@st.composite
def predictions(draw: st.DrawFn) -> tuple[nfh.ModuleOptions, list[nfh.Expectation], list[int | None]]:
    """A master connection, an announcement the kernel accepts, and what it creates."""
    kind = draw(st.sampled_from([
        nfh.ExpectationKind.FTP_DATA, nfh.ExpectationKind.IRC_DCC, nfh.ExpectationKind.TFTP_DATA,
        nfh.ExpectationKind.SIP_AUDIO, nfh.ExpectationKind.SIP_VIDEO, nfh.ExpectationKind.SIP_SIGNALLING,
    ]))
    options = nfh.ModuleOptions(draw(st.fixed_dictionaries({}, optional={
        "ftp.loose": st.booleans(), "sip.sip_direct_media": st.integers(0, 1),
    })))
    rule = nfh.rule(kind, options)
    addrs = v4 if kind == nfh.ExpectationKind.IRC_DCC else draw(st.sampled_from([v4, v6]))
    initiator, responder = draw(addrs), draw(addrs)
    assume(initiator != responder)
    helper = rule.helper.value
    l4 = draw(st.sampled_from([nfh.L4Proto.UDP, nfh.L4Proto.TCP])) if helper == "sip" else rule.helper.info().master_protocols[0]
    master = nfh.Master(helper, (initiator, draw(ports)), (responder, rule.helper.info().default_port or 0), l4)
    side = nfh.Side.INITIATOR if rule.command_from == nfh.CommandFrom.INITIATOR else draw(st.sampled_from(nfh.Side.members()))
    sender = initiator if side == nfh.Side.INITIATOR else responder
    address = draw(st.one_of(st.just(sender), addrs)) if rule.freedoms.dst_addr.forgeable else sender
    announcement = nfh.Announcement(side, address, draw(ports), confirmed=draw(st.booleans()))
    expectations = rule.predict(master, announcement)
    timeouts = [draw(st.none() | st.integers(0, rule.policy.timeout_secs)) for _ in expectations]
    return options, expectations, timeouts


@given(predictions())
def test_predicted_conntrack_lines_parse_back_and_conform(case: tuple[nfh.ModuleOptions, list[nfh.Expectation], list[int | None]]) -> None:
    options, expectations, timeouts = case
    v = nfh.Validator(options)
    for e, t in zip(expectations, timeouts):
        line = e.to_conntrack_line(t)
        parsed = nfh.parse_line(line)
        assert parsed.timeout == t
        p = parsed.expectation
        assert (p.src, p.src_mask, p.sport, p.sport_mask, p.dst, p.dport, p.l4) == (
            e.src, e.src_mask, e.sport, e.sport_mask, e.dst, e.dport, e.l4,
        )
        assert (p.helper, p.class_number, p.flags) == (e.helper, e.class_number, e.flags)
        assert p.master is not None and e.master is not None
        assert (p.master.src, p.master.dst, p.master.sport, p.master.dport) == (
            e.master.src, e.master.dst, e.master.sport, e.master.dport,
        )
        if parsed.master_l4_known:
            assert p == e
        assert eval(repr(p), vars(nfh)) == p
        verdict = v.check_line(line)
        assert verdict.conforms, (line, [str(f) for f in verdict.findings])


@given(predictions())
def test_predicted_proc_lines_parse_back(case: tuple[nfh.ModuleOptions, list[nfh.Expectation], list[int | None]]) -> None:
    options, expectations, timeouts = case
    for e, t in zip(expectations, timeouts):
        policy = nfh.ExpectClass.from_number(nfh.HelperName(e.helper or "").helper, e.class_number).policy_name
        line = e.to_proc_line(t, policy)
        parsed = nfh.parse_line(line)
        assert parsed.format == nfh.Format.PROC
        assert (parsed.timeout, parsed.policy_name) == (t, policy)
        p = parsed.expectation
        assert (p.src, p.dst, p.sport, p.dport, p.l4, p.helper, p.flags) == (
            e.src, e.dst, e.sport, e.dport, e.l4, e.helper, e.flags,
        )
        assert nfh.Validator(options).check_line(parsed).conforms


@given(st.dictionaries(
    st.sampled_from(["ftp", "sip", "tftp", "irc"]),
    st.fixed_dictionaries({}, optional={
        "destinations": st.lists(v4.map(lambda a: f"{a}/32"), min_size=1, max_size=3, unique=True),
        "min_port": st.integers(0, 65535),
        "allow_third_party": st.booleans(),
    }),
    max_size=4,
))
def test_policy_round_trips(document: dict[str, dict[str, object]]) -> None:
    policy = nfh.SitePolicy({"helpers": document})
    assert nfh.SitePolicy.from_toml(policy.to_toml()) == policy
    assert nfh.SitePolicy.from_dict(policy.to_dict()) == policy
    assert eval(repr(policy), vars(nfh)) == policy
