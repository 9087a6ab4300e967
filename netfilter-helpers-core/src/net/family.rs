//! Address families and layer-4 protocols.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A family or protocol name that is not known.
///
/// ```
/// use netfilter_helpers_core::net::{Family, NameError};
/// assert_eq!("ipx".parse::<Family>(), Err(NameError::UnknownFamily { name: "ipx".into() }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The text names no address family.
    #[error("unknown address family {name:?}: expected ipv4 or ipv6")]
    UnknownFamily {
        /// The text that was given.
        name: String,
    },
    /// The text names no layer-4 protocol.
    #[error(
        "unknown layer-4 protocol {name:?}: expected tcp, udp, gre, sctp, dccp, udplite, icmp, icmpv6 or a number 0-255"
    )]
    UnknownProtocol {
        /// The text that was given.
        name: String,
    },
}

/// An address family.
///
/// ```
/// use netfilter_helpers_core::net::Family;
/// assert_eq!(Family::from_l3proto(10), Some(Family::Ipv6));
/// assert_eq!(Family::Ipv4.l3proto(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4 (`AF_INET`, 2).
    Ipv4,
    /// IPv6 (`AF_INET6`, 10).
    Ipv6,
}

impl Family {
    /// The `l3proto` number the kernel prints (`AF_INET` = 2, `AF_INET6` = 10).
    ///
    /// ```
    /// use netfilter_helpers_core::net::Family;
    /// assert_eq!(Family::Ipv6.l3proto(), 10);
    /// ```
    pub const fn l3proto(self) -> u8 {
        match self {
            Family::Ipv4 => 2,
            Family::Ipv6 => 10,
        }
    }

    /// The family for an `l3proto` number, if it is IPv4 or IPv6.
    ///
    /// ```
    /// use netfilter_helpers_core::net::Family;
    /// assert_eq!(Family::from_l3proto(2), Some(Family::Ipv4));
    /// assert_eq!(Family::from_l3proto(7), None);
    /// ```
    pub const fn from_l3proto(n: u8) -> Option<Family> {
        match n {
            2 => Some(Family::Ipv4),
            10 => Some(Family::Ipv6),
            _ => None,
        }
    }

    /// The family of an address.
    ///
    /// ```
    /// use netfilter_helpers_core::net::Family;
    /// assert_eq!(Family::of(&"::1".parse().unwrap()), Family::Ipv6);
    /// ```
    pub const fn of(addr: &std::net::IpAddr) -> Family {
        match addr {
            std::net::IpAddr::V4(_) => Family::Ipv4,
            std::net::IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        })
    }
}

impl FromStr for Family {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ipv4" | "ip4" | "ip" | "inet" | "4" => Ok(Family::Ipv4),
            "ipv6" | "ip6" | "inet6" | "6" => Ok(Family::Ipv6),
            _ => Err(NameError::UnknownFamily {
                name: s.to_string(),
            }),
        }
    }
}

/// A layer-4 protocol number; the value space is open, so unknown numbers are kept.
///
/// ```
/// use netfilter_helpers_core::net::L4Proto;
/// assert_eq!(L4Proto::from(47), L4Proto::Gre);
/// assert_eq!(u8::from(L4Proto::Udp), 17);
/// assert_eq!(L4Proto::from(253), L4Proto::Unknown(253));
/// assert_eq!("tcp".parse::<L4Proto>().unwrap(), L4Proto::Tcp);
/// assert_eq!(L4Proto::Unknown(253).to_string(), "253");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum L4Proto {
    /// ICMP (1).
    Icmp,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// DCCP (33).
    Dccp,
    /// GRE (47).
    Gre,
    /// ICMPv6 (58).
    Icmpv6,
    /// SCTP (132).
    Sctp,
    /// UDP-Lite (136).
    UdpLite,
    /// Any other protocol number.
    Unknown(u8),
}

impl L4Proto {
    /// The protocol's name in rule text (`tcp`), or its number for unknown protocols.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// assert_eq!(L4Proto::Icmpv6.name(), "icmpv6");
    /// assert_eq!(L4Proto::Unknown(200).name(), "200");
    /// ```
    pub fn name(self) -> String {
        match self {
            L4Proto::Icmp => "icmp".into(),
            L4Proto::Tcp => "tcp".into(),
            L4Proto::Udp => "udp".into(),
            L4Proto::Dccp => "dccp".into(),
            L4Proto::Gre => "gre".into(),
            L4Proto::Icmpv6 => "icmpv6".into(),
            L4Proto::Sctp => "sctp".into(),
            L4Proto::UdpLite => "udplite".into(),
            L4Proto::Unknown(n) => n.to_string(),
        }
    }

    /// Whether the protocol carries 16-bit ports the kernel prints as `sport=`/`dport=`.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// assert!(L4Proto::Tcp.has_ports());
    /// assert!(!L4Proto::Gre.has_ports());
    /// ```
    pub const fn has_ports(self) -> bool {
        matches!(
            self,
            L4Proto::Tcp | L4Proto::Udp | L4Proto::Dccp | L4Proto::Sctp | L4Proto::UdpLite
        )
    }
}

impl From<u8> for L4Proto {
    fn from(n: u8) -> Self {
        match n {
            1 => L4Proto::Icmp,
            6 => L4Proto::Tcp,
            17 => L4Proto::Udp,
            33 => L4Proto::Dccp,
            47 => L4Proto::Gre,
            58 => L4Proto::Icmpv6,
            132 => L4Proto::Sctp,
            136 => L4Proto::UdpLite,
            n => L4Proto::Unknown(n),
        }
    }
}

impl From<L4Proto> for u8 {
    fn from(p: L4Proto) -> Self {
        match p {
            L4Proto::Icmp => 1,
            L4Proto::Tcp => 6,
            L4Proto::Udp => 17,
            L4Proto::Dccp => 33,
            L4Proto::Gre => 47,
            L4Proto::Icmpv6 => 58,
            L4Proto::Sctp => 132,
            L4Proto::UdpLite => 136,
            L4Proto::Unknown(n) => n,
        }
    }
}

impl From<L4Proto> for String {
    fn from(p: L4Proto) -> Self {
        p.name()
    }
}

impl TryFrom<String> for L4Proto {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for L4Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for L4Proto {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let p = match s.to_ascii_lowercase().as_str() {
            "icmp" => L4Proto::Icmp,
            "tcp" => L4Proto::Tcp,
            "udp" => L4Proto::Udp,
            "dccp" => L4Proto::Dccp,
            "gre" => L4Proto::Gre,
            "icmpv6" | "ipv6-icmp" => L4Proto::Icmpv6,
            "sctp" => L4Proto::Sctp,
            "udplite" => L4Proto::UdpLite,
            other => match other.parse::<u8>() {
                Ok(n) => L4Proto::from(n),
                Err(_) => {
                    return Err(NameError::UnknownProtocol {
                        name: s.to_string(),
                    });
                }
            },
        };
        Ok(p)
    }
}

crate::spelling::spelling! {
    Family {
        Ipv4 => "ipv4",
        Ipv6 => "ipv6",
    }
}
