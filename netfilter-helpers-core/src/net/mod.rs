//! Network primitives shared by every layer: address families and protocols, CIDR networks
//! and prefix arithmetic, masks, names that are safe in rule text, reverse-path modes, and
//! the nftables keywords a name must avoid.
//!
//! This is the bottom layer of the core: it depends on nothing else in the crate.
//!
//! ```
//! use netfilter_helpers_core::net::{Cidr, Family, IfName, prefix_mask};
//! let c: Cidr = "192.0.2.0/24".parse().unwrap();
//! assert_eq!(c.family(), Family::Ipv4);
//! assert_eq!(prefix_mask(Family::Ipv4, 24).to_string(), "255.255.255.0");
//! assert!(IfName::new("eth0;reboot").is_err());
//! ```

mod cidr;
mod family;
mod mask;
mod name;
pub mod nft_keywords;
mod rp;

pub(crate) use cidr::span;
pub use cidr::{Cidr, CidrError, aggregate};
pub use family::{Family, L4Proto, NameError};
pub use mask::{apply_mask, full_mask, prefix_mask, zero_addr};
pub use name::{IFNAME_MAX, IfName, RuleName};
pub use rp::RpFilter;
