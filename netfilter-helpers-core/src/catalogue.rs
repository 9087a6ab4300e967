//! The helper catalogue: every in-tree conntrack helper that creates expectations, with the
//! facts the kernel registers for it.
//!
//! The data follow Linux 6.1–6.18 (`net/netfilter/nf_conntrack_*.c`); each [`HelperInfo`]
//! names the source file it was read from. Names the kernel registers depend on the `ports=`
//! module option (see `registry::registered_names`): `ftp` and `sane` append the *port*
//! (`ftp-2121`), `irc`, `sip` and `tftp` append the *index* in `ports=` (`sip-1`), and the plain
//! name exists only when the default port is among the configured ports.
//!
//! ```
//! use netfilter_helpers_core::net::{Family, L4Proto};
//! use netfilter_helpers_core::catalogue::Helper;
//!
//! let ftp = Helper::Ftp.info();
//! assert_eq!(ftp.module.name(), "nf_conntrack_ftp");
//! assert_eq!(ftp.default_port, Some(21));
//! assert!(ftp.families.contains(&Family::Ipv6));
//! assert!(!Helper::Irc.info().families.contains(&Family::Ipv6));
//! assert_eq!(Helper::Pptp.info().master_protocols, &[L4Proto::Tcp]);
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::net::Family;
use crate::net::L4Proto;

/// An error about a catalogue name: helper, class, module or protocol.
///
/// ```
/// use netfilter_helpers_core::catalogue::{CatalogueError, Helper, HelperName};
/// let e = "RAS-1".parse::<HelperName>().unwrap_err();
/// assert_eq!(e, CatalogueError::UnexpectedSuffix { name: "RAS-1".into(), helper: Helper::Ras });
/// assert_eq!(e.to_string(), "helper name \"RAS-1\" has a suffix but RAS is never registered with one");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueError {
    /// The text names no helper the kernel registers.
    #[error(
        "unknown helper {name:?}: expected one of amanda, ftp, irc, netbios-ns, snmp, pptp, sane, sip, tftp, RAS, Q.931, H.245 (optionally with a -N suffix)"
    )]
    UnknownHelper {
        /// The text that was given.
        name: String,
    },
    /// The helper has a suffix the kernel cannot produce for it.
    #[error("helper name {name:?} has a suffix but {helper} is never registered with one")]
    UnexpectedSuffix {
        /// The text that was given.
        name: String,
        /// The helper the base name resolved to.
        helper: Helper,
    },
    /// A suffixed helper name does not match the `ports=` option in force.
    #[error(
        "helper name {name:?} is not registered with {module} ports={ports}: registered names are {registered}"
    )]
    NotRegistered {
        /// The text that was given.
        name: String,
        /// The module whose `ports=` was consulted.
        module: Module,
        /// The `ports=` value in force, comma separated.
        ports: String,
        /// The names the kernel registers with those ports, comma separated.
        registered: String,
    },
    /// The text names no expectation class.
    #[error(
        "unknown expectation class {name:?}: expected default, signalling, audio, video or image"
    )]
    UnknownClass {
        /// The text that was given.
        name: String,
    },
    /// The class number does not exist for this helper.
    #[error("helper {helper} has no expectation class number {number}")]
    UnknownClassNumber {
        /// The helper.
        helper: Helper,
        /// The number asked for.
        number: u8,
    },
    /// The class does not exist for this helper.
    #[error("helper {helper} has no expectation class {class}")]
    ClassNotInHelper {
        /// The helper.
        helper: Helper,
        /// The class asked for.
        class: ExpectClass,
    },
    /// The text names no helper module.
    #[error(
        "unknown module {name:?}: expected nf_conntrack or nf_conntrack_{{amanda,ftp,h323,irc,netbios_ns,pptp,sane,sip,snmp,tftp}}"
    )]
    UnknownModule {
        /// The text that was given.
        name: String,
    },
    /// An address family or protocol name is unknown.
    #[error(transparent)]
    Name(#[from] crate::net::NameError),
}

/// A conntrack helper as the kernel registers it.
///
/// H.323 registers three helpers from one module: `RAS`, `Q.931` and `H.245`.
///
/// ```
/// use netfilter_helpers_core::catalogue::Helper;
///
/// let h: Helper = "Q.931".parse().unwrap();
/// assert_eq!(h, Helper::Q931);
/// assert_eq!(h.to_string(), "Q.931");
/// assert_eq!("netbios-ns".parse::<Helper>().unwrap(), Helper::NetbiosNs);
/// assert!("bogus".parse::<Helper>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Helper {
    /// Amanda backup (`nf_conntrack_amanda`).
    #[serde(rename = "amanda")]
    Amanda,
    /// FTP (`nf_conntrack_ftp`).
    #[serde(rename = "ftp")]
    Ftp,
    /// IRC DCC (`nf_conntrack_irc`).
    #[serde(rename = "irc")]
    Irc,
    /// NetBIOS name service broadcasts (`nf_conntrack_netbios_ns`).
    #[serde(rename = "netbios-ns")]
    NetbiosNs,
    /// SNMP broadcasts (`nf_conntrack_snmp`).
    #[serde(rename = "snmp")]
    Snmp,
    /// PPTP and its GRE data channel (`nf_conntrack_pptp`).
    #[serde(rename = "pptp")]
    Pptp,
    /// SANE network scanning (`nf_conntrack_sane`).
    #[serde(rename = "sane")]
    Sane,
    /// SIP signalling and SDP media (`nf_conntrack_sip`).
    #[serde(rename = "sip")]
    Sip,
    /// TFTP (`nf_conntrack_tftp`).
    #[serde(rename = "tftp")]
    Tftp,
    /// H.323 registration, admission and status (`nf_conntrack_h323`).
    #[serde(rename = "RAS")]
    Ras,
    /// H.323 call signalling (`nf_conntrack_h323`).
    #[serde(rename = "Q.931")]
    Q931,
    /// H.323 control channel, attached only through expectations (`nf_conntrack_h323`).
    #[serde(rename = "H.245")]
    H245,
}

impl Helper {
    /// Every helper in the catalogue, in a stable order.
    ///
    /// ```
    /// assert_eq!(netfilter_helpers_core::catalogue::Helper::ALL.len(), 12);
    /// ```
    pub const ALL: [Helper; 12] = [
        Helper::Amanda,
        Helper::Ftp,
        Helper::Irc,
        Helper::NetbiosNs,
        Helper::Snmp,
        Helper::Pptp,
        Helper::Sane,
        Helper::Sip,
        Helper::Tftp,
        Helper::Ras,
        Helper::Q931,
        Helper::H245,
    ];

    /// The base name the kernel registers (without any `ports=` suffix).
    ///
    /// ```
    /// assert_eq!(netfilter_helpers_core::catalogue::Helper::H245.name(), "H.245");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Helper::Amanda => "amanda",
            Helper::Ftp => "ftp",
            Helper::Irc => "irc",
            Helper::NetbiosNs => "netbios-ns",
            Helper::Snmp => "snmp",
            Helper::Pptp => "pptp",
            Helper::Sane => "sane",
            Helper::Sip => "sip",
            Helper::Tftp => "tftp",
            Helper::Ras => "RAS",
            Helper::Q931 => "Q.931",
            Helper::H245 => "H.245",
        }
    }

    /// The kernel facts about this helper.
    ///
    /// ```
    /// use netfilter_helpers_core::catalogue::Helper;
    /// assert_eq!(Helper::Sip.info().classes.len(), 4);
    /// ```
    pub fn info(self) -> &'static HelperInfo {
        HELPERS
            .iter()
            .find(|i| i.helper == self)
            .expect("every helper has a catalogue entry")
    }

    /// The module that registers this helper.
    ///
    /// ```
    /// use netfilter_helpers_core::catalogue::{Helper, Module};
    /// assert_eq!(Helper::Ras.module(), Module::H323);
    /// ```
    pub fn module(self) -> Module {
        self.info().module
    }
}

impl fmt::Display for Helper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Helper> for &'static str {
    fn from(h: Helper) -> Self {
        h.name()
    }
}

impl FromStr for Helper {
    type Err = CatalogueError;

    /// Parses a base helper name. Matching is exact for the kernel spelling and also accepts
    /// lower-case and underscore spellings (`netbios_ns`, `ras`, `q931`, `h245`, `h323-ras`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(h) = Helper::ALL.iter().find(|h| h.name() == s) {
            return Ok(*h);
        }
        let lower = s.to_ascii_lowercase().replace('_', "-");
        let h = match lower.as_str() {
            "amanda" => Helper::Amanda,
            "ftp" => Helper::Ftp,
            "irc" => Helper::Irc,
            "netbios-ns" | "netbios" => Helper::NetbiosNs,
            "snmp" => Helper::Snmp,
            "pptp" => Helper::Pptp,
            "sane" => Helper::Sane,
            "sip" => Helper::Sip,
            "tftp" => Helper::Tftp,
            "ras" | "h323-ras" => Helper::Ras,
            "q.931" | "q931" | "h323-q931" => Helper::Q931,
            "h.245" | "h245" | "h323-h245" => Helper::H245,
            _ => {
                return Err(CatalogueError::UnknownHelper {
                    name: s.to_string(),
                });
            }
        };
        Ok(h)
    }
}

/// A kernel module that registers helpers or holds conntrack-wide helper options.
///
/// ```
/// use netfilter_helpers_core::catalogue::Module;
/// let m: Module = "nf-conntrack-ftp".parse().unwrap();
/// assert_eq!(m, Module::Ftp);
/// assert_eq!(m.name(), "nf_conntrack_ftp");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
#[non_exhaustive]
pub enum Module {
    /// `nf_conntrack` itself (holds the historical `nf_conntrack_helper` switch).
    Conntrack,
    /// `nf_conntrack_amanda`.
    Amanda,
    /// `nf_conntrack_ftp`.
    Ftp,
    /// `nf_conntrack_h323` (RAS, Q.931, H.245).
    H323,
    /// `nf_conntrack_irc`.
    Irc,
    /// `nf_conntrack_netbios_ns`.
    NetbiosNs,
    /// `nf_conntrack_pptp`.
    Pptp,
    /// `nf_conntrack_sane`.
    Sane,
    /// `nf_conntrack_sip`.
    Sip,
    /// `nf_conntrack_snmp`.
    Snmp,
    /// `nf_conntrack_tftp`.
    Tftp,
}

impl Module {
    /// Every module, in a stable order.
    ///
    /// ```
    /// use netfilter_helpers_core::catalogue::Module;
    /// assert_eq!(Module::ALL[0], Module::Conntrack);
    /// assert!(Module::ALL.iter().all(|m| m.name().starts_with("nf_conntrack")));
    /// ```
    pub const ALL: [Module; 11] = [
        Module::Conntrack,
        Module::Amanda,
        Module::Ftp,
        Module::H323,
        Module::Irc,
        Module::NetbiosNs,
        Module::Pptp,
        Module::Sane,
        Module::Sip,
        Module::Snmp,
        Module::Tftp,
    ];

    /// The module name as `modprobe` and `/sys/module` spell it.
    ///
    /// ```
    /// assert_eq!(netfilter_helpers_core::catalogue::Module::NetbiosNs.name(), "nf_conntrack_netbios_ns");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Module::Conntrack => "nf_conntrack",
            Module::Amanda => "nf_conntrack_amanda",
            Module::Ftp => "nf_conntrack_ftp",
            Module::H323 => "nf_conntrack_h323",
            Module::Irc => "nf_conntrack_irc",
            Module::NetbiosNs => "nf_conntrack_netbios_ns",
            Module::Pptp => "nf_conntrack_pptp",
            Module::Sane => "nf_conntrack_sane",
            Module::Sip => "nf_conntrack_sip",
            Module::Snmp => "nf_conntrack_snmp",
            Module::Tftp => "nf_conntrack_tftp",
        }
    }

    /// The short name used on the `nfh` command line (`ftp`, `h323`, `conntrack`).
    ///
    /// ```
    /// assert_eq!(netfilter_helpers_core::catalogue::Module::H323.short_name(), "h323");
    /// ```
    pub const fn short_name(self) -> &'static str {
        match self {
            Module::Conntrack => "conntrack",
            Module::Amanda => "amanda",
            Module::Ftp => "ftp",
            Module::H323 => "h323",
            Module::Irc => "irc",
            Module::NetbiosNs => "netbios_ns",
            Module::Pptp => "pptp",
            Module::Sane => "sane",
            Module::Sip => "sip",
            Module::Snmp => "snmp",
            Module::Tftp => "tftp",
        }
    }

    /// The helpers this module registers.
    ///
    /// ```
    /// use netfilter_helpers_core::catalogue::{Helper, Module};
    /// assert_eq!(Module::H323.helpers(), vec![Helper::Ras, Helper::Q931, Helper::H245]);
    /// ```
    pub fn helpers(self) -> Vec<Helper> {
        Helper::ALL
            .iter()
            .copied()
            .filter(|h| h.module() == self)
            .collect()
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Module> for &'static str {
    fn from(m: Module) -> Self {
        m.name()
    }
}

impl TryFrom<String> for Module {
    type Error = CatalogueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for Module {
    type Err = CatalogueError;

    /// Accepts the full module name (dashes and underscores are the same to `modprobe`) or the
    /// short name (`ftp`, `h323`, `netbios_ns`, `conntrack`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.replace('-', "_");
        Module::ALL
            .iter()
            .copied()
            .find(|m| m.name() == norm || m.short_name() == norm)
            .ok_or_else(|| CatalogueError::UnknownModule {
                name: s.to_string(),
            })
    }
}

/// An expectation class: the index into a helper's expectation policies.
///
/// Only SIP has named classes; every other helper uses class 0 (`default`).
///
/// ```
/// use netfilter_helpers_core::catalogue::{ExpectClass, Helper};
/// assert_eq!(ExpectClass::Audio.number(), 1);
/// assert_eq!(ExpectClass::from_number(Helper::Sip, 3).unwrap(), ExpectClass::Image);
/// assert_eq!(ExpectClass::from_number(Helper::Ftp, 0).unwrap(), ExpectClass::Default);
/// assert!(ExpectClass::from_number(Helper::Ftp, 1).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectClass {
    /// `NF_CT_EXPECT_CLASS_DEFAULT` (0), used by every helper but SIP.
    Default,
    /// SIP signalling (0): incoming calls to a registered contact.
    Signalling,
    /// SIP audio media (1).
    Audio,
    /// SIP video media (2).
    Video,
    /// SIP image (T.38 fax) media (3).
    Image,
}

impl ExpectClass {
    /// The class number the kernel prints as `class=`.
    ///
    /// ```
    /// use netfilter_helpers_core::catalogue::ExpectClass;
    /// assert_eq!(ExpectClass::Signalling.number(), 0);
    /// assert_eq!(ExpectClass::Image.number(), 3);
    /// ```
    pub const fn number(self) -> u8 {
        match self {
            ExpectClass::Default | ExpectClass::Signalling => 0,
            ExpectClass::Audio => 1,
            ExpectClass::Video => 2,
            ExpectClass::Image => 3,
        }
    }

    /// The policy name the kernel appends in `/proc` (`sip/audio`); `None` for the unnamed
    /// default class.
    ///
    /// ```
    /// use netfilter_helpers_core::catalogue::ExpectClass;
    /// assert_eq!(ExpectClass::Video.policy_name(), Some("video"));
    /// assert_eq!(ExpectClass::Default.policy_name(), None);
    /// ```
    pub const fn policy_name(self) -> Option<&'static str> {
        match self {
            ExpectClass::Default => None,
            ExpectClass::Signalling => Some("signalling"),
            ExpectClass::Audio => Some("audio"),
            ExpectClass::Video => Some("video"),
            ExpectClass::Image => Some("image"),
        }
    }

    /// The class with this number for this helper.
    ///
    /// ```
    /// use netfilter_helpers_core::catalogue::{ExpectClass, Helper};
    /// assert_eq!(ExpectClass::from_number(Helper::Sip, 0).unwrap(), ExpectClass::Signalling);
    /// assert!(ExpectClass::from_number(Helper::Sip, 4).is_err());
    /// ```
    pub fn from_number(helper: Helper, n: u8) -> Result<ExpectClass, CatalogueError> {
        helper
            .info()
            .classes
            .iter()
            .map(|c| c.class)
            .find(|c| c.number() == n)
            .ok_or(CatalogueError::UnknownClassNumber { helper, number: n })
    }
}

impl fmt::Display for ExpectClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.policy_name().unwrap_or("default"))
    }
}

impl FromStr for ExpectClass {
    type Err = CatalogueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "default" => Ok(ExpectClass::Default),
            "signalling" | "signaling" => Ok(ExpectClass::Signalling),
            "audio" => Ok(ExpectClass::Audio),
            "video" => Ok(ExpectClass::Video),
            "image" => Ok(ExpectClass::Image),
            _ => Err(CatalogueError::UnknownClass {
                name: s.to_string(),
            }),
        }
    }
}

/// The expectation policy of one class: how many expectations a master may hold and for how
/// long a new one lives.
///
/// When a master reaches `max_expected` in a class the kernel evicts the oldest expectation of
/// that class; it does not refuse the new one.
///
/// ```
/// use netfilter_helpers_core::catalogue::{ExpectClass, Helper};
/// let p = Helper::Ftp.info().class(ExpectClass::Default).unwrap();
/// assert_eq!((p.max_expected, p.timeout_secs), (1, 300));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClassPolicy {
    /// The class.
    pub class: ExpectClass,
    /// Per-master limit (`max_expected`) with default module options.
    pub max_expected: u32,
    /// Expectation lifetime in seconds with default module options.
    pub timeout_secs: u32,
}

/// How the kernel names the extra helpers that `ports=` registers.
///
/// ```
/// use netfilter_helpers_core::catalogue::{Helper, Naming};
/// assert_eq!(Helper::Ftp.info().naming, Naming::Port);
/// assert_eq!(Helper::Sip.info().naming, Naming::Index);
/// assert_eq!(Helper::Pptp.info().naming, Naming::Fixed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Naming {
    /// No `ports=` parameter: one fixed name.
    Fixed,
    /// `name-<port>` for a port other than the default (ftp, sane).
    Port,
    /// `name-<index in ports=>` for a port other than the default (irc, sip, tftp).
    Index,
}

/// The kernel facts about one helper.
///
/// ```
/// use netfilter_helpers_core::catalogue::{Helper, Module};
/// use netfilter_helpers_core::net::L4Proto;
/// let sip = Helper::Sip.info();
/// assert_eq!(sip.module, Module::Sip);
/// assert_eq!(sip.master_protocols, &[L4Proto::Udp, L4Proto::Tcp]);
/// assert_eq!(sip.source, "net/netfilter/nf_conntrack_sip.c");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct HelperInfo {
    /// The helper.
    pub helper: Helper,
    /// The module that registers it.
    pub module: Module,
    /// Master connection protocols the helper is registered for.
    pub master_protocols: &'static [L4Proto],
    /// The registered (default) master port, `None` for H.245 (attached only through
    /// expectations).
    pub default_port: Option<u16>,
    /// Address families the helper is registered for.
    pub families: &'static [Family],
    /// How `ports=` changes the registered names.
    pub naming: Naming,
    /// Expectation classes and their default policies.
    pub classes: &'static [ClassPolicy],
    /// A short description.
    pub description: &'static str,
    /// The kernel source file.
    pub source: &'static str,
}

impl HelperInfo {
    /// The policy of one class, if the helper has it.
    ///
    /// ```
    /// use netfilter_helpers_core::catalogue::{ExpectClass, Helper};
    /// let sip = Helper::Sip.info();
    /// assert_eq!(sip.class(ExpectClass::Image).unwrap().max_expected, 2);
    /// assert!(sip.class(ExpectClass::Default).is_none());
    /// ```
    pub fn class(&self, class: ExpectClass) -> Option<&ClassPolicy> {
        self.classes.iter().find(|c| c.class == class)
    }

    /// Whether the helper is registered for this family.
    ///
    /// ```
    /// use netfilter_helpers_core::net::Family;
    /// use netfilter_helpers_core::catalogue::Helper;
    /// assert!(!Helper::Pptp.info().supports(Family::Ipv6));
    /// ```
    pub fn supports(&self, family: Family) -> bool {
        self.families.contains(&family)
    }

    /// The protocols a CT rule (`-p PROTO -j CT --helper NAME`, nft `ct helper` with
    /// `protocol`) can assign this helper for: its registrations.
    ///
    /// These are the master protocols, except for H.245: the kernel registers it for UDP with
    /// no port and no family (`AF_UNSPEC`), although H.245 channels are TCP; it is only ever
    /// attached through the expectations Q.931 and RAS create, never usefully by a rule.
    ///
    /// ```
    /// use netfilter_helpers_core::catalogue::Helper;
    /// use netfilter_helpers_core::net::L4Proto;
    /// assert_eq!(Helper::H245.info().registered_protocols(), &[L4Proto::Udp]);
    /// assert_eq!(Helper::Sip.info().registered_protocols(), &[L4Proto::Udp, L4Proto::Tcp]);
    /// ```
    pub fn registered_protocols(&self) -> &'static [L4Proto] {
        if self.helper == Helper::H245 {
            UDP
        } else {
            self.master_protocols
        }
    }
}

const V4: &[Family] = &[Family::Ipv4];
const V46: &[Family] = &[Family::Ipv4, Family::Ipv6];
const TCP: &[L4Proto] = &[L4Proto::Tcp];
const UDP: &[L4Proto] = &[L4Proto::Udp];

const fn default_policy(max_expected: u32, timeout_secs: u32) -> [ClassPolicy; 1] {
    [ClassPolicy {
        class: ExpectClass::Default,
        max_expected,
        timeout_secs,
    }]
}

const AMANDA_P: [ClassPolicy; 1] = default_policy(4, 180);
const FTP_P: [ClassPolicy; 1] = default_policy(1, 300);
const IRC_P: [ClassPolicy; 1] = default_policy(8, 300);
const NETBIOS_P: [ClassPolicy; 1] = default_policy(1, 3);
const SNMP_P: [ClassPolicy; 1] = default_policy(1, 30);
const PPTP_P: [ClassPolicy; 1] = default_policy(2, 300);
const SANE_P: [ClassPolicy; 1] = default_policy(1, 300);
const TFTP_P: [ClassPolicy; 1] = default_policy(1, 300);
const RAS_P: [ClassPolicy; 1] = default_policy(32, 240);
const Q931_P: [ClassPolicy; 1] = default_policy(20, 240);
const H245_P: [ClassPolicy; 1] = default_policy(18, 240);
const SIP_P: [ClassPolicy; 4] = [
    ClassPolicy {
        class: ExpectClass::Signalling,
        max_expected: 1,
        timeout_secs: 180,
    },
    ClassPolicy {
        class: ExpectClass::Audio,
        max_expected: 4,
        timeout_secs: 180,
    },
    ClassPolicy {
        class: ExpectClass::Video,
        max_expected: 4,
        timeout_secs: 180,
    },
    ClassPolicy {
        class: ExpectClass::Image,
        max_expected: 2,
        timeout_secs: 180,
    },
];

/// The catalogue, in [`Helper::ALL`] order.
///
/// ```
/// use netfilter_helpers_core::catalogue::{Helper, HELPERS};
/// assert_eq!(HELPERS[1].helper, Helper::Ftp);
/// // Only H.245 has no registered port: it is attached through expectations.
/// assert!(HELPERS.iter().filter(|i| i.default_port.is_none()).all(|i| i.helper == Helper::H245));
/// ```
pub static HELPERS: [HelperInfo; 12] = [
    HelperInfo {
        helper: Helper::Amanda,
        module: Module::Amanda,
        master_protocols: UDP,
        default_port: Some(10080),
        families: V46,
        naming: Naming::Fixed,
        classes: &AMANDA_P,
        description: "Amanda backup: the client's CONNECT reply announces TCP ports for data, messages and index",
        source: "net/netfilter/nf_conntrack_amanda.c",
    },
    HelperInfo {
        helper: Helper::Ftp,
        module: Module::Ftp,
        master_protocols: TCP,
        default_port: Some(21),
        families: V46,
        naming: Naming::Port,
        classes: &FTP_P,
        description: "FTP: PORT/EPRT commands and 227/229 replies announce the data connection",
        source: "net/netfilter/nf_conntrack_ftp.c",
    },
    HelperInfo {
        helper: Helper::Irc,
        module: Module::Irc,
        master_protocols: TCP,
        default_port: Some(6667),
        families: V4,
        naming: Naming::Index,
        classes: &IRC_P,
        description: "IRC: DCC offers in PRIVMSG from the client announce a connection to the client",
        source: "net/netfilter/nf_conntrack_irc.c",
    },
    HelperInfo {
        helper: Helper::NetbiosNs,
        module: Module::NetbiosNs,
        master_protocols: UDP,
        default_port: Some(137),
        families: V4,
        naming: Naming::Fixed,
        classes: &NETBIOS_P,
        description: "NetBIOS name service: replies to locally generated broadcast queries",
        source: "net/netfilter/nf_conntrack_netbios_ns.c",
    },
    HelperInfo {
        helper: Helper::Snmp,
        module: Module::Snmp,
        master_protocols: UDP,
        default_port: Some(161),
        families: V4,
        naming: Naming::Fixed,
        classes: &SNMP_P,
        description: "SNMP: replies to locally generated broadcast queries",
        source: "net/netfilter/nf_conntrack_snmp.c",
    },
    HelperInfo {
        helper: Helper::Pptp,
        module: Module::Pptp,
        master_protocols: TCP,
        default_port: Some(1723),
        families: V4,
        naming: Naming::Fixed,
        classes: &PPTP_P,
        description: "PPTP: call replies announce the GRE call IDs of the tunnel",
        source: "net/netfilter/nf_conntrack_pptp.c",
    },
    HelperInfo {
        helper: Helper::Sane,
        module: Module::Sane,
        master_protocols: TCP,
        default_port: Some(6566),
        families: V46,
        naming: Naming::Port,
        classes: &SANE_P,
        description: "SANE: the reply to SANE_NET_START announces the data port",
        source: "net/netfilter/nf_conntrack_sane.c",
    },
    HelperInfo {
        helper: Helper::Sip,
        module: Module::Sip,
        master_protocols: &[L4Proto::Udp, L4Proto::Tcp],
        default_port: Some(5060),
        families: V46,
        naming: Naming::Index,
        classes: &SIP_P,
        description: "SIP: REGISTER contacts open incoming signalling, SDP bodies open RTP/RTCP media",
        source: "net/netfilter/nf_conntrack_sip.c",
    },
    HelperInfo {
        helper: Helper::Tftp,
        module: Module::Tftp,
        master_protocols: UDP,
        default_port: Some(69),
        families: V46,
        naming: Naming::Index,
        classes: &TFTP_P,
        description: "TFTP: a read or write request opens the server's reply from a new port",
        source: "net/netfilter/nf_conntrack_tftp.c",
    },
    HelperInfo {
        helper: Helper::Ras,
        module: Module::H323,
        master_protocols: UDP,
        default_port: Some(1719),
        families: V46,
        naming: Naming::Fixed,
        classes: &RAS_P,
        description: "H.323 RAS: gatekeeper messages announce RAS and Q.931 call-signalling addresses",
        source: "net/netfilter/nf_conntrack_h323_main.c",
    },
    HelperInfo {
        helper: Helper::Q931,
        module: Module::H323,
        master_protocols: TCP,
        default_port: Some(1720),
        families: V46,
        naming: Naming::Fixed,
        classes: &Q931_P,
        description: "H.323 Q.931: call signalling announces the H.245 control channel, fastStart media and call forwarding",
        source: "net/netfilter/nf_conntrack_h323_main.c",
    },
    HelperInfo {
        helper: Helper::H245,
        module: Module::H323,
        master_protocols: TCP,
        default_port: None,
        families: V46,
        naming: Naming::Fixed,
        classes: &H245_P,
        description: "H.323 H.245: logical channel signalling announces RTP/RTCP and T.120 channels",
        source: "net/netfilter/nf_conntrack_h323_main.c",
    },
];

/// A helper name as the kernel registers it: base name plus optional `-N` suffix.
///
/// ```
/// use netfilter_helpers_core::catalogue::{Helper, HelperName};
/// let n: HelperName = "ftp-2121".parse().unwrap();
/// assert_eq!(n.helper, Helper::Ftp);
/// assert_eq!(n.suffix, Some(2121));
/// assert_eq!(n.to_string(), "ftp-2121");
/// assert!("pptp-1".parse::<HelperName>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HelperName {
    /// The helper.
    pub helper: Helper,
    /// The port (ftp, sane) or index (irc, sip, tftp) suffix.
    pub suffix: Option<u16>,
}

impl fmt::Display for HelperName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.suffix {
            None => f.write_str(self.helper.name()),
            Some(n) => write!(f, "{}-{n}", self.helper.name()),
        }
    }
}

impl FromStr for HelperName {
    type Err = CatalogueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(helper) = s.parse::<Helper>() {
            return Ok(HelperName {
                helper,
                suffix: None,
            });
        }
        let unknown = || CatalogueError::UnknownHelper {
            name: s.to_string(),
        };
        let (base, num) = s.rsplit_once('-').ok_or_else(unknown)?;
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) || num.len() > 5 {
            return Err(unknown());
        }
        let suffix: u16 = num.parse().map_err(|_| unknown())?;
        let helper: Helper = base.parse().map_err(|_| unknown())?;
        if helper.info().naming == Naming::Fixed {
            return Err(CatalogueError::UnexpectedSuffix {
                name: s.to_string(),
                helper,
            });
        }
        Ok(HelperName {
            helper,
            suffix: Some(suffix),
        })
    }
}

crate::spelling::spelling! {
    ExpectClass {
        Default => "default",
        Signalling => "signalling",
        Audio => "audio",
        Video => "video",
        Image => "image",
    }
}

crate::spelling::spelling! {
    Helper {
        Amanda => "amanda",
        Ftp => "ftp",
        Irc => "irc",
        NetbiosNs => "netbios-ns",
        Snmp => "snmp",
        Pptp => "pptp",
        Sane => "sane",
        Sip => "sip",
        Tftp => "tftp",
        Ras => "RAS",
        Q931 => "Q.931",
        H245 => "H.245",
    }
}

crate::spelling::spelling! {
    Module {
        Conntrack => "nf_conntrack",
        Amanda => "nf_conntrack_amanda",
        Ftp => "nf_conntrack_ftp",
        H323 => "nf_conntrack_h323",
        Irc => "nf_conntrack_irc",
        NetbiosNs => "nf_conntrack_netbios_ns",
        Pptp => "nf_conntrack_pptp",
        Sane => "nf_conntrack_sane",
        Sip => "nf_conntrack_sip",
        Snmp => "nf_conntrack_snmp",
        Tftp => "nf_conntrack_tftp",
    }
}

crate::spelling::spelling! {
    Naming {
        Fixed => "fixed",
        Port => "port",
        Index => "index",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_in_all_order() {
        for (i, h) in Helper::ALL.iter().enumerate() {
            assert_eq!(HELPERS[i].helper, *h);
        }
    }

    #[test]
    fn names_round_trip() {
        for h in Helper::ALL {
            assert_eq!(h.name().parse::<Helper>().unwrap(), h);
            assert_eq!(
                serde_json::to_string(&h).unwrap(),
                format!("\"{}\"", h.name())
            );
        }
        for m in Module::ALL {
            assert_eq!(m.name().parse::<Module>().unwrap(), m);
            assert_eq!(m.short_name().parse::<Module>().unwrap(), m);
        }
        for n in 0..=255u8 {
            let p = L4Proto::from(n);
            assert_eq!(u8::from(p), n);
            assert_eq!(p.to_string().parse::<L4Proto>().unwrap(), p);
        }
    }
}
