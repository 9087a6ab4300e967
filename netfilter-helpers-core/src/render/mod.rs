//! Renderers: one file per backend, `Ruleset -> String`. Renderers never decide policy; they
//! print what synthesis built, deterministically.
//!
//! ```
//! use netfilter_helpers_core::render::{render, Backend};
//! use netfilter_helpers_core::site::Site;
//! use netfilter_helpers_core::synth::synthesize;
//!
//! let site = Site::from_toml("[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n").unwrap().validate().unwrap();
//! let rs = synthesize(&site);
//! let v4 = render(&rs, Backend::Iptables).unwrap();
//! assert!(v4.contains("*raw") && !v4.contains(":PREROUTING"));
//! assert!(render(&rs, Backend::IptablesHooks).unwrap().contains("nfh_hook iptables raw PREROUTING -j nfh-prerouting"));
//! assert!(render(&rs, Backend::Nft).unwrap().contains("table inet nfh"));
//! assert!(render(&rs, Backend::Sysctl).unwrap().contains("net.ipv4.conf.all.rp_filter = 1"));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ir::Ruleset;

mod iptables;
mod modprobe;
mod nft;
mod nft_json;
mod sysctl;

pub use sysctl::sysctl_pairs;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Backend {
    /// `iptables-restore -w --noflush` input, IPv4: nfh's own chains only.
    Iptables,
    /// `ip6tables-restore -w --noflush` input, IPv6: nfh's own chains only.
    Ip6tables,
    /// `iptables -A ...` / `ip6tables -A ...` commands, as the article writes them, in an
    /// idempotent shell script with the hooks.
    Commands,
    /// An nftables script for `nft -f`: nfh's own table, replaced atomically.
    Nft,
    /// libnftables JSON for `nft -j -f`.
    NftJson,
    /// `sysctl.d` settings (rp_filter, the helper switch on older kernels).
    Sysctl,
    /// `modprobe.d` settings for the module options.
    Modprobe,
    /// A shell script that adds the jumps into nfh's iptables chains (both families) unless
    /// they are there.
    IptablesHooks,
    /// A shell script that removes nfh's iptables jumps and chains (both families).
    IptablesRemove,
    /// An `nft -f` script that removes nfh's table.
    NftRemove,
}

impl Backend {
    /// Every backend.
    pub const ALL: [Backend; 10] = [
        Backend::Iptables,
        Backend::Ip6tables,
        Backend::Commands,
        Backend::Nft,
        Backend::NftJson,
        Backend::Sysctl,
        Backend::Modprobe,
        Backend::IptablesHooks,
        Backend::IptablesRemove,
        Backend::NftRemove,
    ];

    /// The backend's name (`nft-json`).
    ///
    /// ```
    /// use netfilter_helpers_core::render::Backend;
    /// assert_eq!(Backend::NftJson.name(), "nft-json");
    /// assert_eq!("ip6tables".parse::<Backend>().unwrap(), Backend::Ip6tables);
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Iptables => "iptables",
            Backend::Ip6tables => "ip6tables",
            Backend::Commands => "commands",
            Backend::Nft => "nft",
            Backend::NftJson => "nft-json",
            Backend::Sysctl => "sysctl",
            Backend::Modprobe => "modprobe",
            Backend::IptablesHooks => "iptables-hooks",
            Backend::IptablesRemove => "iptables-remove",
            Backend::NftRemove => "nft-remove",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = RenderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Backend::ALL
            .iter()
            .copied()
            .find(|b| b.name() == s)
            .ok_or_else(|| RenderError::UnknownBackend {
                name: s.to_string(),
            })
    }
}

/// Why a ruleset cannot be rendered for a backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The backend name is not known.
    #[error(
        "unknown backend {name:?}: expected iptables, ip6tables, iptables-hooks, iptables-remove, commands, nft, nft-json, nft-remove, sysctl or modprobe"
    )]
    UnknownBackend {
        /// The name given.
        name: String,
    },
    /// The site's kernel lacks a mechanism the backend needs.
    #[error("{backend} output needs {what} (Linux {needs}), but the site's kernel is {kernel}")]
    KernelTooOld {
        /// The backend.
        backend: Backend,
        /// The mechanism.
        what: &'static str,
        /// The version that introduced it.
        needs: &'static str,
        /// The site's kernel.
        kernel: String,
    },
}

/// Renders a ruleset for a backend.
pub fn render(rs: &Ruleset, backend: Backend) -> Result<String, RenderError> {
    let caps = rs.kernel.capabilities();
    let too_old = |what, needs| RenderError::KernelTooOld {
        backend,
        what,
        needs,
        kernel: rs.kernel.to_string(),
    };
    match backend {
        Backend::Nft | Backend::NftJson if !caps.nft_ct_helper => {
            return Err(too_old("nftables ct helper objects", "4.12"));
        }
        Backend::Iptables | Backend::Ip6tables | Backend::Commands | Backend::IptablesHooks
            if !caps.ct_target =>
        {
            return Err(too_old("the CT target", "2.6.34"));
        }
        _ => {}
    }
    Ok(match backend {
        Backend::Iptables => iptables::restore(rs, crate::net::Family::Ipv4),
        Backend::Ip6tables => iptables::restore(rs, crate::net::Family::Ipv6),
        Backend::Commands => iptables::commands(rs),
        Backend::Nft => nft::script(rs),
        Backend::NftJson => nft_json::json(rs),
        Backend::IptablesHooks => iptables::hooks_script(rs),
        Backend::IptablesRemove => iptables::remove_script(rs),
        Backend::NftRemove => nft::remove(rs),
        Backend::Sysctl => sysctl::text(rs),
        Backend::Modprobe => modprobe::text(rs),
    })
}

/// The first line of every text output.
pub(crate) const HEADER: &str = concat!(
    "# Generated by netfilter-helpers ",
    env!("CARGO_PKG_VERSION"),
    "; do not edit by hand.\n"
);

crate::spelling::spelling! {
    Backend {
        Iptables => "iptables",
        Ip6tables => "ip6tables",
        Commands => "commands",
        Nft => "nft",
        NftJson => "nft-json",
        Sysctl => "sysctl",
        Modprobe => "modprobe",
        IptablesHooks => "iptables-hooks",
        IptablesRemove => "iptables-remove",
        NftRemove => "nft-remove",
    }
}
