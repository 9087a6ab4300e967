"""netfilter_helpers: use Linux conntrack helpers safely.

The Python face of the netfilter-helpers core (pure Rust, via the ``_netfilter_helpers``
extension module): the helper catalogue and degree-of-freedom model, module options,
expectation parsing and validation against the model and a site policy, host audits, and
hardened rules for a site in every backend (iptables, ip6tables, commands, nft, nft JSON,
sysctl, modprobe, and the iptables hooks and the iptables and nft removal scripts).

>>> import netfilter_helpers as nfh
>>> nfh.ExpectationRule("ftp-data", {"ftp.loose": True}).freedoms.dst_addr.code
'P'
"""

from . import _netfilter_helpers
from ._netfilter_helpers import *  # noqa: F403 (every name of the extension's __all__)

# Written once: the stub `_netfilter_helpers.pyi` lists the names (stubtest checks that list
# against the extension's own, which pyo3 builds from what the module exports).
__all__ = _netfilter_helpers.__all__
