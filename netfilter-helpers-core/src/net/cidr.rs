//! Networks in CIDR notation, and prefix arithmetic over them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};

use super::{Family, apply_mask};

/// A network in CIDR notation. The address is stored as written; [`Cidr::new`] refuses host
/// bits outside the prefix (`192.0.2.10/24`), because such a typo usually hides an intent
/// (`/32` or the network).
///
/// ```
/// use netfilter_helpers_core::net::Cidr;
/// let c: Cidr = "192.0.2.0/24".parse().unwrap();
/// assert!(c.contains("192.0.2.77".parse().unwrap()));
/// assert!("192.0.2.10/24".parse::<Cidr>().is_err());
/// assert_eq!("2001:db8::1".parse::<Cidr>().unwrap().to_string(), "2001:db8::1/128");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr(IpNetwork);

/// An error reading a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrError {
    /// Not an address or address/prefix.
    #[error("{text:?} is not an IP network (expected ADDRESS or ADDRESS/PREFIX)")]
    Syntax {
        /// The text.
        text: String,
    },
    /// Host bits are set beyond the prefix.
    #[error(
        "{text:?} has host bits set beyond /{prefix}: did you mean {network}/{prefix} or {addr}/{full}?"
    )]
    HostBits {
        /// The text.
        text: String,
        /// The prefix length.
        prefix: u8,
        /// The network address.
        network: IpAddr,
        /// The address as written.
        addr: IpAddr,
        /// The full prefix length of the family.
        full: u8,
    },
}

impl Cidr {
    /// A network from an address and prefix length; host bits must be clear.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        let text = format!("{addr}/{prefix}");
        let net =
            IpNetwork::new(addr, prefix).map_err(|_| CidrError::Syntax { text: text.clone() })?;
        if net.network() != addr {
            return Err(CidrError::HostBits {
                text,
                prefix,
                network: net.network(),
                addr,
                full: if addr.is_ipv4() { 32 } else { 128 },
            });
        }
        Ok(Cidr(net))
    }

    /// The network address.
    ///
    /// ```
    /// use netfilter_helpers_core::net::Cidr;
    /// assert_eq!("10.0.0.0/8".parse::<Cidr>().unwrap().addr().to_string(), "10.0.0.0");
    /// ```
    pub fn addr(&self) -> IpAddr {
        self.0.ip()
    }

    /// The prefix length.
    ///
    /// ```
    /// use netfilter_helpers_core::net::Cidr;
    /// assert_eq!("10.0.0.0/8".parse::<Cidr>().unwrap().prefix(), 8);
    /// ```
    pub fn prefix(&self) -> u8 {
        self.0.prefix()
    }

    /// The family.
    pub fn family(&self) -> Family {
        Family::of(&self.addr())
    }

    /// Whether the network contains the address (an address of the other family is never
    /// contained).
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.0.contains(addr)
    }

    /// Whether the network contains the whole network `addr/mask`.
    ///
    /// ```
    /// use netfilter_helpers_core::net::Cidr;
    /// let c: Cidr = "10.0.0.0/8".parse().unwrap();
    /// assert!(c.contains_masked("10.1.2.0".parse().unwrap(), "255.255.255.0".parse().unwrap()));
    /// assert!(!c.contains_masked("0.0.0.0".parse().unwrap(), "0.0.0.0".parse().unwrap()));
    /// ```
    pub fn contains_masked(&self, addr: IpAddr, mask: IpAddr) -> bool {
        let len = match mask {
            IpAddr::V4(m) => u32::from(m).leading_ones() as u8,
            IpAddr::V6(m) => u128::from(m).leading_ones() as u8,
        };
        len >= self.prefix() && self.contains(apply_mask(addr, mask))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.0.ip(), self.0.prefix())
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || CidrError::Syntax {
            text: s.to_string(),
        };
        match s.split_once('/') {
            None => {
                let a: IpAddr = s.parse().map_err(|_| syntax())?;
                Cidr::new(a, if a.is_ipv4() { 32 } else { 128 })
            }
            Some((a, p)) => {
                let a: IpAddr = a.parse().map_err(|_| syntax())?;
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(syntax());
                }
                let p: u8 = p.parse().map_err(|_| syntax())?;
                Cidr::new(a, p).map_err(|e| match e {
                    CidrError::HostBits {
                        prefix,
                        network,
                        addr,
                        full,
                        ..
                    } => CidrError::HostBits {
                        text: s.to_string(),
                        prefix,
                        network,
                        addr,
                        full,
                    },
                    CidrError::Syntax { .. } => syntax(),
                })
            }
        }
    }
}

impl TryFrom<String> for Cidr {
    type Error = CidrError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Cidr> for String {
    fn from(c: Cidr) -> Self {
        c.to_string()
    }
}

impl From<Cidr> for IpNetwork {
    fn from(c: Cidr) -> Self {
        c.0
    }
}

impl TryFrom<IpNetwork> for Cidr {
    type Error = CidrError;
    fn try_from(n: IpNetwork) -> Result<Self, Self::Error> {
        Cidr::new(n.ip(), n.prefix())
    }
}

/// (family, first, last address) of a network, as integers.
pub(crate) fn span(c: &Cidr) -> (u8, u128, u128) {
    match c.addr() {
        IpAddr::V4(a) => {
            let start = u128::from(u32::from(a));
            let size = 1u128 << (32 - u32::from(c.prefix()));
            (4, start, start + size - 1)
        }
        IpAddr::V6(a) => {
            let start = u128::from(a);
            let host = 128 - u32::from(c.prefix());
            let size_minus_one = if host == 128 {
                u128::MAX
            } else {
                (1u128 << host) - 1
            };
            (6, start, start.saturating_add(size_minus_one))
        }
    }
}

/// Aggregates networks: removes those contained in others and merges adjacent siblings
/// (`10.0.0.0/25` + `10.0.0.128/25` = `10.0.0.0/24`), repeatedly. The result is sorted.
///
/// ```
/// use netfilter_helpers_core::net::aggregate;
/// use netfilter_helpers_core::net::Cidr;
/// let nets: Vec<Cidr> = ["10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/24", "10.0.0.7", "192.0.2.0/24"]
///     .iter().map(|s| s.parse().unwrap()).collect();
/// let agg: Vec<String> = aggregate(nets).iter().map(ToString::to_string).collect();
/// assert_eq!(agg, ["10.0.0.0/23", "192.0.2.0/24"]);
/// ```
pub fn aggregate(mut nets: Vec<Cidr>) -> Vec<Cidr> {
    // Work on (family, start as u128, prefix) sorted by start then prefix.
    let key = |c: &Cidr| -> (u8, u128, u8) {
        match c.addr() {
            IpAddr::V4(a) => (4, u128::from(u32::from(a)), c.prefix()),
            IpAddr::V6(a) => (6, u128::from(a), c.prefix()),
        }
    };
    nets.sort_by_key(key);
    nets.dedup();
    loop {
        let mut out: Vec<Cidr> = Vec::with_capacity(nets.len());
        let mut changed = false;
        for n in nets {
            if let Some(last) = out.last().copied() {
                if last.family() == n.family()
                    && last.contains(n.addr())
                    && last.prefix() <= n.prefix()
                {
                    changed = true;
                    continue;
                }
                if let Some(merged) = sibling_merge(&last, &n) {
                    out.pop();
                    out.push(merged);
                    changed = true;
                    continue;
                }
            }
            out.push(n);
        }
        nets = out;
        if !changed {
            return nets;
        }
        nets.sort_by_key(key);
    }
}

fn sibling_merge(a: &Cidr, b: &Cidr) -> Option<Cidr> {
    if a.family() != b.family() || a.prefix() != b.prefix() || a.prefix() == 0 {
        return None;
    }
    let parent = Cidr::new(
        apply_mask(
            a.addr(),
            crate::net::prefix_mask(a.family(), a.prefix() - 1),
        ),
        a.prefix() - 1,
    )
    .ok()?;
    (parent.addr() == a.addr() && parent.contains(b.addr()) && a.addr() != b.addr())
        .then_some(parent)
}
