//! Kernel versions and the helper-related mechanisms each one offers.
//!
//! ```
//! use netfilter_helpers_core::kernel::{AutoAssignment, KernelVersion};
//!
//! let k: KernelVersion = "6.18.44-fc-v669".parse().unwrap();
//! let caps = k.capabilities();
//! assert!(caps.ct_target && caps.rpfilter_match);
//! assert_eq!(caps.auto_assignment, AutoAssignment::Removed);
//!
//! let old: KernelVersion = "4.4.0".parse().unwrap();
//! assert_eq!(old.capabilities().auto_assignment, AutoAssignment::KnobDefaultOn);
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Linux kernel version (`major.minor.patch`; distribution suffixes are dropped).
///
/// ```
/// use netfilter_helpers_core::kernel::KernelVersion;
/// let v: KernelVersion = "5.10.0-28-amd64".parse().unwrap();
/// assert_eq!(v, KernelVersion::new(5, 10, 0));
/// assert!(v < KernelVersion::new(6, 0, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub struct KernelVersion {
    major: u32,
    minor: u32,
    patch: u32,
}

/// An error reading a kernel version.
///
/// ```
/// use netfilter_helpers_core::kernel::KernelVersion;
/// let e = "six".parse::<KernelVersion>().unwrap_err();
/// assert_eq!(e.text, "six");
/// assert!(e.to_string().starts_with("invalid kernel version \"six\""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid kernel version {text:?}: expected MAJOR.MINOR[.PATCH][suffix], e.g. 6.1.0-18-amd64"
)]
pub struct KernelVersionError {
    /// The text that was given.
    pub text: String,
}

impl KernelVersion {
    /// A version from its parts.
    ///
    /// ```
    /// use netfilter_helpers_core::kernel::KernelVersion;
    /// assert_eq!(KernelVersion::new(6, 0, 0).to_string(), "6.0.0");
    /// ```
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        KernelVersion {
            major,
            minor,
            patch,
        }
    }

    /// The major number.
    ///
    /// ```
    /// use netfilter_helpers_core::kernel::KernelVersion;
    /// assert_eq!("6.12.3".parse::<KernelVersion>().unwrap().major(), 6);
    /// ```
    pub const fn major(self) -> u32 {
        self.major
    }
    /// The minor number.
    ///
    /// ```
    /// use netfilter_helpers_core::kernel::KernelVersion;
    /// assert_eq!("6.12.3".parse::<KernelVersion>().unwrap().minor(), 12);
    /// ```
    pub const fn minor(self) -> u32 {
        self.minor
    }
    /// The patch (sublevel) number.
    ///
    /// ```
    /// use netfilter_helpers_core::kernel::KernelVersion;
    /// assert_eq!("6.12.3".parse::<KernelVersion>().unwrap().patch(), 3);
    /// assert_eq!("6.12".parse::<KernelVersion>().unwrap().patch(), 0);
    /// ```
    pub const fn patch(self) -> u32 {
        self.patch
    }

    /// Reads the version from the text of `/proc/version` (`Linux version 6.1.0-18-amd64 ...`)
    /// or from `uname -r` output.
    ///
    /// ```
    /// use netfilter_helpers_core::kernel::KernelVersion;
    /// let v = KernelVersion::from_proc_version("Linux version 6.12.117-amd64 (debian-kernel@lists.debian.org) ...").unwrap();
    /// assert_eq!(v, KernelVersion::new(6, 12, 117));
    /// ```
    pub fn from_proc_version(text: &str) -> Result<Self, KernelVersionError> {
        let t = text.trim();
        let word = t
            .strip_prefix("Linux version ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or(t);
        word.parse()
    }

    /// What this version offers.
    ///
    /// ```
    /// use netfilter_helpers_core::kernel::{AutoAssignment, KernelVersion};
    /// let caps = KernelVersion::new(4, 12, 0).capabilities();
    /// assert!(caps.nft_ct_helper && !caps.sip_external_media);
    /// assert_eq!(caps.auto_assignment, AutoAssignment::KnobDefaultOff);
    /// ```
    pub fn capabilities(self) -> Capabilities {
        let at_least = |ma, mi| self >= KernelVersion::new(ma, mi, 0);
        let auto_assignment = if at_least(6, 0) {
            AutoAssignment::Removed
        } else if at_least(4, 7) {
            AutoAssignment::KnobDefaultOff
        } else if at_least(3, 5) {
            AutoAssignment::KnobDefaultOn
        } else {
            AutoAssignment::Always
        };
        Capabilities {
            version: self,
            ct_target: self >= KernelVersion::new(2, 6, 34),
            rpfilter_match: at_least(3, 3),
            nft_fib: at_least(4, 10),
            nft_ct_helper: at_least(4, 12),
            sip_external_media: at_least(5, 1),
            auto_assignment,
            ports_effect: if at_least(6, 0) {
                PortsEffect::NamesOnly
            } else {
                PortsEffect::NamesAndAutoAssignment
            },
        }
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl From<KernelVersion> for String {
    fn from(v: KernelVersion) -> Self {
        v.to_string()
    }
}

impl TryFrom<String> for KernelVersion {
    type Error = KernelVersionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for KernelVersion {
    type Err = KernelVersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || KernelVersionError {
            text: s.to_string(),
        };
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let mut parts = s[..end].trim_end_matches('.').split('.');
        let mut num = |required: bool| -> Result<u32, KernelVersionError> {
            match parts.next() {
                Some(p) if !p.is_empty() => p.parse().map_err(|_| err()),
                None if !required => Ok(0),
                _ => Err(err()),
            }
        };
        let major = num(true)?;
        let minor = num(true)?;
        let patch = num(false)?;
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(KernelVersion::new(major, minor, patch))
    }
}

/// How the kernel attaches helpers to connections that no rule assigned one to.
///
/// ```
/// use netfilter_helpers_core::kernel::{AutoAssignment, KernelVersion};
/// assert_eq!(KernelVersion::new(3, 4, 0).capabilities().auto_assignment, AutoAssignment::Always);
/// assert_eq!(KernelVersion::new(5, 19, 0).capabilities().auto_assignment, AutoAssignment::KnobDefaultOff);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoAssignment {
    /// Before 3.5: every connection to a helper's port gets the helper; nothing turns it off
    /// except `ports=0`-style renaming.
    Always,
    /// 3.5 to 4.6: `nf_conntrack_helper` exists and defaults to 1 (on).
    KnobDefaultOn,
    /// 4.7 to 5.19: `nf_conntrack_helper` exists and defaults to 0 (off).
    KnobDefaultOff,
    /// 6.0 and later: no automatic assignment; helpers come only from rules.
    Removed,
}

/// What the `ports=` module option does on a kernel.
///
/// ```
/// use netfilter_helpers_core::kernel::{KernelVersion, PortsEffect};
/// assert_eq!(KernelVersion::new(5, 15, 0).capabilities().ports_effect, PortsEffect::NamesAndAutoAssignment);
/// assert_eq!(KernelVersion::new(6, 0, 0).capabilities().ports_effect, PortsEffect::NamesOnly);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortsEffect {
    /// Names the registrations and, where automatic assignment is on, attaches the helper to
    /// every connection to those ports.
    NamesAndAutoAssignment,
    /// Only names the registrations (`ftp-2121`, `sip-1`) that CT rules refer to.
    NamesOnly,
}

/// The helper-related mechanisms of one kernel version.
///
/// ```
/// use netfilter_helpers_core::kernel::KernelVersion;
/// let caps = KernelVersion::new(2, 6, 32).capabilities();
/// assert!(!caps.ct_target && !caps.rpfilter_match && !caps.nft_fib);
/// assert_eq!(caps.version.to_string(), "2.6.32");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// The version described.
    pub version: KernelVersion,
    /// The iptables CT target (`-j CT --helper`), since 2.6.34.
    pub ct_target: bool,
    /// The iptables `rpfilter` match, since 3.3.
    pub rpfilter_match: bool,
    /// The nftables `fib` expression, since 4.10.
    pub nft_fib: bool,
    /// nftables `ct helper` objects, since 4.12.
    pub nft_ct_helper: bool,
    /// The SIP `sip_external_media` parameter, since 5.1.
    pub sip_external_media: bool,
    /// Automatic helper assignment.
    pub auto_assignment: AutoAssignment,
    /// What `ports=` does.
    pub ports_effect: PortsEffect,
}

/// A recommendation for a kernel version, with a stable code.
///
/// ```
/// use netfilter_helpers_core::kernel::KernelVersion;
/// let r = KernelVersion::new(2, 6, 32).capabilities().recommendations();
/// assert_eq!(r[0].code, "upgrade-for-ct");
/// assert!(r[0].text.starts_with("2.6.32 predates the CT target"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Recommendation {
    /// Stable code.
    pub code: &'static str,
    /// What to do, in words.
    pub text: String,
}

impl Capabilities {
    /// What to do on this kernel.
    ///
    /// ```
    /// use netfilter_helpers_core::kernel::KernelVersion;
    /// let r = KernelVersion::new(4, 4, 0).capabilities().recommendations();
    /// assert!(r.iter().any(|r| r.code == "disable-auto-assignment"));
    /// let r = KernelVersion::new(6, 1, 0).capabilities().recommendations();
    /// assert!(r.iter().all(|r| r.code != "disable-auto-assignment"));
    /// ```
    pub fn recommendations(&self) -> Vec<Recommendation> {
        let mut out = Vec::new();
        let mut add = |code, text: String| out.push(Recommendation { code, text });
        if self.ct_target {
            add(
                "assign-with-ct",
                "assign every helper explicitly: iptables -t raw ... -j CT --helper NAME or nft ct helper objects".into(),
            );
        } else {
            add(
                "upgrade-for-ct",
                format!(
                    "{} predates the CT target (2.6.34): helpers attach by port only; upgrade",
                    self.version
                ),
            );
        }
        match self.auto_assignment {
            AutoAssignment::Always => add(
                "ports-zero",
                "automatic assignment cannot be turned off before 3.5: load helpers with ports=0 and assign them by rule (names become NAME-0)".into(),
            ),
            AutoAssignment::KnobDefaultOn => add(
                "disable-auto-assignment",
                "automatic assignment is on by default: set net.netfilter.nf_conntrack_helper=0 (or nf_conntrack nf_conntrack_helper=0 at load)".into(),
            ),
            AutoAssignment::KnobDefaultOff => add(
                "keep-auto-assignment-off",
                "automatic assignment is off by default; make sure nothing sets nf_conntrack_helper=1".into(),
            ),
            AutoAssignment::Removed => add(
                "auto-assignment-removed",
                "automatic assignment no longer exists (6.0): a helper works only where a rule assigns it; nf_conntrack_helper is ignored".into(),
            ),
        }
        if self.ports_effect == PortsEffect::NamesOnly {
            add(
                "ports-names-only",
                "ports= only renames helper registrations; cover non-standard ports with CT rules instead".into(),
            );
        }
        if self.rpfilter_match || self.nft_fib {
            add(
                "rpfilter",
                "drop spoofed sources early: iptables -t raw -m rpfilter --invert -j DROP, or nft fib saddr . iif oif missing drop".into(),
            );
        } else {
            add(
                "manual-antispoof",
                "no rpfilter match before 3.3: write per-interface anti-spoofing rules in the raw table and set rp_filter".into(),
            );
        }
        out
    }
}

/// The kernel version assumed when a site (or an empty ruleset) names none.
pub const DEFAULT_KERNEL: KernelVersion = KernelVersion::new(6, 1, 0);

crate::spelling::spelling! {
    AutoAssignment {
        Always => "always",
        KnobDefaultOn => "knob-default-on",
        KnobDefaultOff => "knob-default-off",
        Removed => "removed",
    }
}

crate::spelling::spelling! {
    PortsEffect {
        NamesAndAutoAssignment => "names-and-auto-assignment",
        NamesOnly => "names-only",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_versions() {
        assert_eq!(
            "2.6.34".parse::<KernelVersion>().unwrap(),
            KernelVersion::new(2, 6, 34)
        );
        assert_eq!(
            "6.1".parse::<KernelVersion>().unwrap(),
            KernelVersion::new(6, 1, 0)
        );
        assert_eq!(
            "5.19.0-rc1".parse::<KernelVersion>().unwrap(),
            KernelVersion::new(5, 19, 0)
        );
        for bad in ["", "6", "x.1", "6..1", "1.2.3.4", "99999999999.1"] {
            assert!(bad.parse::<KernelVersion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn boundaries() {
        let c = |s: &str| s.parse::<KernelVersion>().unwrap().capabilities();
        assert!(!c("2.6.33").ct_target);
        assert!(c("2.6.34").ct_target);
        assert!(!c("3.2.99").rpfilter_match);
        assert!(c("3.3").rpfilter_match);
        assert_eq!(c("3.4.9").auto_assignment, AutoAssignment::Always);
        assert_eq!(c("3.5").auto_assignment, AutoAssignment::KnobDefaultOn);
        assert_eq!(c("4.6.7").auto_assignment, AutoAssignment::KnobDefaultOn);
        assert_eq!(c("4.7").auto_assignment, AutoAssignment::KnobDefaultOff);
        assert_eq!(c("5.19.17").auto_assignment, AutoAssignment::KnobDefaultOff);
        assert_eq!(c("6.0").auto_assignment, AutoAssignment::Removed);
        assert_eq!(c("5.19").ports_effect, PortsEffect::NamesAndAutoAssignment);
        assert_eq!(c("6.0").ports_effect, PortsEffect::NamesOnly);
    }
}
