"""Shared fixtures: the repository's samples, a corpus of expectation lines, hypothesis
profiles (``HYPOTHESIS_PROFILE=ci`` runs more examples)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "examples" / "samples"

# A conforming ftp data expectation (conntrack -L expect), and the same with the data
# connection pointed at a third party: an FTP bounce.
FTP_OK = (
    "299 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=50000 mask-src=255.255.255.255 "
    "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 "
    "sport=55446 dport=21 class=0 helper=ftp"
)
FTP_BOUNCE = FTP_OK.replace("dst=10.71.1.2 sport=0 dport=50000", "dst=10.71.2.3 sport=0 dport=50000")


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def sample_site_text() -> str:
    return (REPO / "examples" / "site.toml").read_text()


def corpus(n: int) -> list[str]:
    """The benchmark's mix (netfilter-helpers-core/benches/expectations.rs): ftp, sip, irc
    and tftp, conntrack and /proc lines, IPv4 and IPv6; every line conforms."""
    out = []
    x = 0x12345678
    mask = 0xFFFFFFFF
    for i in range(n):
        x ^= (x << 13) & mask
        x ^= x >> 17
        x ^= (x << 5) & mask
        a, b = (x >> 8) & 0xFF, (x >> 16) & 0xFF
        port = 1024 + (x % 60000)
        cport = 1024 + ((x >> 3) % 60000)
        k = i % 8
        if k == 0:
            line = f"299 proto=6 src=10.{a}.{b}.2 dst=10.{b}.{a}.7 sport=0 dport={port} mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.{b}.{a}.7 master-dst=10.{a}.{b}.2 sport={cport} dport=21 class=0 helper=ftp"
        elif k == 1:
            line = f"179 proto=17 src=203.0.{a}.5 dst=192.168.{b}.10 sport=0 dport={port & ~1} mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.{b}.10 master-dst=203.0.{a}.5 sport=5060 dport=5060 class=1 helper=sip"
        elif k == 2:
            line = f"300 l3proto = 2 proto=6 src=0.0.0.0 dst=192.168.{a}.{b} sport=0 dport={port} irc"
        elif k == 3:
            line = f"    [NEW] 300 proto=17 src=10.{a}.0.2 dst=10.{b}.0.9 sport=0 dport={cport} mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.{b}.0.9 master-dst=10.{a}.0.2 sport={cport} dport=69 class=0 helper=tftp"
        elif k == 4:
            line = f"299 proto=6 src=2001:db8:{a:x}::2 dst=2001:db8:{b:x}::7 sport=0 dport={port} mask-src=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff mask-dst=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff sport=0 dport=65535 master-src=2001:db8:{b:x}::7 master-dst=2001:db8:{a:x}::2 sport={cport} dport=21 class=0 helper=ftp"
        elif k == 5:
            line = f"179 l3proto = 2 proto=17 src=203.0.113.{a} dst=192.168.1.{b} sport=0 dport={port & ~1} sip/audio"
        elif k == 6:
            line = f"[DESTROY] 3599 proto=17 src=203.0.113.5 dst=192.168.{a}.{b} sport=0 dport=5060 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.{a}.{b} master-dst=203.0.113.5 sport=5060 dport=5060 PERMANENT class=0 helper=sip"
        else:
            line = f"299 l3proto = 10 proto=6 src=2001:0db8:0000:0000:0000:0000:0000:{a:04x} dst=2001:0db8:0000:0000:0000:0000:0000:{b:04x} sport=0 dport={port} ftp"
        out.append(line)
    return out
