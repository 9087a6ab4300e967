//! Address masks: all-ones, all-zero, prefix masks, and masking.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Family;

/// The all-ones address of a family (an exact-match mask).
///
/// ```
/// use netfilter_helpers_core::net::{Family, full_mask};
/// assert_eq!(full_mask(Family::Ipv4).to_string(), "255.255.255.255");
/// assert_eq!(full_mask(Family::Ipv6).to_string(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
/// ```
pub fn full_mask(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::BROADCAST),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::from(u128::MAX)),
    }
}

/// The all-zero address of a family (a wildcard mask or address).
///
/// ```
/// use netfilter_helpers_core::net::{Family, zero_addr};
/// assert_eq!(zero_addr(Family::Ipv4).to_string(), "0.0.0.0");
/// assert_eq!(zero_addr(Family::Ipv6).to_string(), "::");
/// ```
pub fn zero_addr(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// The mask of a prefix length (`/24` is `255.255.255.0`); lengths beyond the family's width
/// saturate.
///
/// ```
/// use netfilter_helpers_core::net::prefix_mask;
/// use netfilter_helpers_core::net::Family;
/// assert_eq!(prefix_mask(Family::Ipv4, 24).to_string(), "255.255.255.0");
/// assert_eq!(prefix_mask(Family::Ipv6, 0).to_string(), "::");
/// ```
pub fn prefix_mask(family: Family, len: u8) -> IpAddr {
    match family {
        Family::Ipv4 => {
            let len = u32::from(len.min(32));
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            IpAddr::V4(Ipv4Addr::from(m))
        }
        Family::Ipv6 => {
            let len = u32::from(len.min(128));
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            IpAddr::V6(Ipv6Addr::from(m))
        }
    }
}

/// Applies a mask to an address of the same family.
///
/// ```
/// use netfilter_helpers_core::net::{Family, apply_mask, prefix_mask};
/// let a = "192.168.1.77".parse().unwrap();
/// assert_eq!(apply_mask(a, prefix_mask(Family::Ipv4, 24)).to_string(), "192.168.1.0");
/// // A mask of the other family leaves the address unchanged.
/// assert_eq!(apply_mask(a, "ffff::".parse().unwrap()), a);
/// ```
pub fn apply_mask(addr: IpAddr, mask: IpAddr) -> IpAddr {
    match (addr, mask) {
        (IpAddr::V4(a), IpAddr::V4(m)) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & u32::from(m))),
        (IpAddr::V6(a), IpAddr::V6(m)) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & u128::from(m))),
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(
            prefix_mask(Family::Ipv6, 64).to_string(),
            "ffff:ffff:ffff:ffff::"
        );
        assert_eq!(prefix_mask(Family::Ipv4, 40).to_string(), "255.255.255.255");
        assert_eq!(
            apply_mask(
                "192.168.1.77".parse().unwrap(),
                prefix_mask(Family::Ipv4, 24)
            )
            .to_string(),
            "192.168.1.0"
        );
    }
}
