"""The exception hierarchy: one subclass of NetfilterHelpersError (a ValueError) per core
error family, with structured details as attributes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import netfilter_helpers as nfh

FAMILIES = [
    nfh.CatalogueError, nfh.OptionError, nfh.ParseError, nfh.PolicyError, nfh.SiteError,
    nfh.RenderError, nfh.KernelVersionError, nfh.TupleError, nfh.CidrError, nfh.RefusalError,
]


def test_hierarchy() -> None:
    assert issubclass(nfh.NetfilterHelpersError, ValueError)
    for cls in FAMILIES:
        assert issubclass(cls, nfh.NetfilterHelpersError)
        assert cls.__module__ == "netfilter_helpers"


@pytest.mark.parametrize(
    ("call", "cls", "attrs"),
    [
        (lambda: nfh.Helper("bogus"), nfh.CatalogueError, {"name": "bogus"}),
        (lambda: nfh.ModuleOptions(["irc.max_dcc_channels=256"]), nfh.OptionError,
         {"code": nfh.OptionCode.OUT_OF_RANGE, "param": "max_dcc_channels"}),
        (lambda: nfh.parse_line(""), nfh.ParseError, {"kind": nfh.ParseErrorKind.EMPTY}),
        (lambda: nfh.SitePolicy("[helpers.ftp]\ndestination = []\n"), nfh.PolicyError, {}),
        (lambda: nfh.Site("[[interfaces]]\nname = \"a/b\"\n"), nfh.SiteError, {}),
        (lambda: nfh.Site('kernel = "4.9"\n[[interfaces]]\nname = "e"\ndefault_route = true\n').render("nft"),
         nfh.RenderError, {"needs": "4.12"}),
        (lambda: nfh.KernelVersion.parse("x"), nfh.KernelVersionError, {"text": "x"}),
        (lambda: nfh.ConnTuple("10.0.0.1", 1, "::1", 2, 6), nfh.TupleError, {}),
        (lambda: nfh.HelperPolicy(sources=["192.0.2.10/24"]), nfh.CidrError, {"text": "192.0.2.10/24"}),
        (lambda: nfh.rule("irc-dcc").predict(nfh.Master("irc", ("10.0.0.2", 4), ("10.0.1.2", 6667)),
                                              nfh.Announcement("initiator", None, 0)),
         nfh.RefusalError, {"kind": nfh.ExpectationKind.IRC_DCC, "reason": "announced port 0 is refused"}),
    ],
)
def test_each_family_with_details(
    call: Callable[[], object], cls: type[Exception], attrs: dict[str, object]
) -> None:
    with pytest.raises(cls) as e:
        call()
    for k, v in attrs.items():
        assert getattr(e.value, k) == v
    assert str(e.value)


def test_problem_lists() -> None:
    with pytest.raises(nfh.SiteError) as e:
        nfh.Site("[[interfaces]]\nname = \"a/b\"\n")
    assert e.value.problems[0][0] == "interfaces[0].name"
    with pytest.raises(nfh.PolicyError) as p:
        nfh.SitePolicy("[helpers.ftp]\ndestination = []\n")
    assert "unknown field `destination`" in p.value.problems[0][1]
