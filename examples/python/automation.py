#!/usr/bin/env python3
"""Audit a host's conntrack helpers, then render hardened rules for a site described as a
Python dict.

    python examples/python/automation.py [--root DIR] [--backend nft] [--strict]

The audit (kernel version, module options in force, automatic helper assignment, and every
expectation in ``/proc/net/nf_conntrack_expect`` checked against the kernel model and the
site's policy) goes to standard error; the rules for the site go to standard output, as an
nftables script by default (``nft -f -``). ``--root`` audits a copy of a host's ``proc`` and
``sys`` trees instead of ``/`` (try ``examples/samples/host-old``). Exit status: 0, or 1 with
``--strict`` when the audit found problems, 2 when the site is invalid or cannot be rendered.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Network
from typing import Any

import netfilter_helpers as nfh

# The site: a firewall with an uplink, a LAN and a DMZ; an FTP server in the DMZ, SIP phones
# on the LAN that talk to a provider, and the firewall fetching boot images by TFTP.
SITE: dict[str, Any] = {
    "kernel": "6.1.0",
    "table": "nfh",
    # Keep the dangerous helper features off, stated for the audit trail.
    "options": {"ftp.loose": False, "sip.sip_direct_media": 1},
    "interfaces": [
        {"name": "wan0", "default_route": True, "networks": ["198.51.100.2/24", "2001:db8:ff::2/64"]},
        {"name": "lan0", "networks": ["10.81.1.1/24", "fd81:1::1/64"], "routed": [IPv4Network("10.81.3.0/24")], "dhcp": True},
        {"name": "dmz0", "networks": ["10.81.2.1/24", "fd81:2::1/64"]},
    ],
    "services": [
        {"name": "ftp-dmz", "helper": nfh.Helper.FTP, "direction": nfh.Direction.INBOUND,
         "servers": [IPv4Address("10.81.2.10"), "fd81:2::10"], "ports": [21, 2121]},
        {"name": "voip", "helper": nfh.Helper.SIP, "direction": nfh.Direction.OUTBOUND,
         "clients": [IPv4Network("10.81.1.0/24")], "servers": ["203.0.113.5"], "related": ["203.0.113.0/24"]},
        {"name": "tftp-boot", "helper": nfh.Helper.TFTP, "direction": nfh.Direction.LOCAL, "servers": ["10.81.1.5"]},
    ],
}

# What RELATED flows the site allows, per helper, for judging the host's expectation table.
POLICY: dict[str, Any] = {
    "default": "deny",
    "helpers": {
        "ftp": {"destinations": [IPv4Network("10.81.2.10/32"), IPv6Network("fd81:2::10/128"), "10.81.1.0/24"], "min_port": 1024},
        "sip": {"sources": ["203.0.113.0/24"], "destinations": ["10.81.1.0/24"], "classes": ["signalling", "audio"]},
        "tftp": {"destinations": ["10.81.1.0/24"]},
    },
}


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr)


def audit_host(root: str, policy: nfh.SitePolicy) -> nfh.AuditReport:
    report = nfh.audit(root, policy=policy)
    log(f"audit of {root}: kernel {report.kernel or 'unknown'}, {len(report.expectations)} expectation(s)")
    for finding in report.findings:
        log(f"  {finding}")
    for verdict in report.expectations:
        if not verdict.conforms:
            codes = ", ".join(code.value for code in verdict.codes)
            log(f"  expectation line {verdict.line}: {verdict.helper} {verdict.kind}: {codes}")
    dangerous = report.options.dangerous()
    if dangerous:
        fix = nfh.ModuleOptions({param: param.default_value() for param, _ in dangerous})
        log("  to turn the dangerous options off (modprobe.d):")
        for line in fix.render_modprobe().splitlines():
            log(f"    {line}")
    if report.kernel is not None and not report.kernel.capabilities().nft_ct_helper:
        log(f"  note: kernel {report.kernel} has no nftables ct helper objects (4.12); use the iptables backends there")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--root", default="/", help="host root to audit (default /)")
    ap.add_argument("--backend", default="nft", choices=[b.value for b in nfh.Backend.members()])
    ap.add_argument("--strict", action="store_true", help="exit 1 when the audit found problems")
    args = ap.parse_args(argv)

    try:
        policy = nfh.SitePolicy(POLICY)
        site = nfh.Site(SITE)
    except (nfh.SiteError, nfh.PolicyError) as e:
        log(f"invalid {'site' if isinstance(e, nfh.SiteError) else 'policy'}:")
        for path, message in e.problems:
            log(f"  {path}: {message}")
        return 2

    report = audit_host(args.root, policy)

    try:
        rules = site.render(args.backend)
    except nfh.RenderError as e:
        log(f"cannot render {args.backend}: {e}")
        return 2
    sys.stdout.write(rules)
    ruleset = site.rules()
    log(
        f"rendered {ruleset.rule_count} rules for {len(site.services)} services "
        f"({', '.join(str(h.helper) for h in ruleset.helpers)}) as {args.backend}"
    )
    return 1 if args.strict and report.has_problems() else 0


if __name__ == "__main__":
    sys.exit(main())
