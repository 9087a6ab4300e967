//! Reverse-path filtering modes.

use serde::{Deserialize, Serialize};

/// Reverse-path filtering for an interface (`net.ipv4.conf.<if>.rp_filter`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RpFilter {
    /// 0: no source validation.
    Off,
    /// 2: the source must be reachable through some interface (asymmetric routing).
    Loose,
    /// 1: the source must be routed back through the arrival interface.
    #[default]
    Strict,
}

impl RpFilter {
    /// The sysctl value.
    ///
    /// ```
    /// use netfilter_helpers_core::net::RpFilter;
    /// assert_eq!(RpFilter::Loose.sysctl(), 2);
    /// ```
    pub const fn sysctl(self) -> u8 {
        match self {
            RpFilter::Off => 0,
            RpFilter::Strict => 1,
            RpFilter::Loose => 2,
        }
    }
}

crate::spelling::spelling! {
    RpFilter {
        Off => "off",
        Loose => "loose",
        Strict => "strict",
    }
}
