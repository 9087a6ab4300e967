//! Every parameter of every helper module: kind, default, range, danger.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::*;
use crate::catalogue::Module;

/// Most entries a `ports=` array accepts (`MAX_PORTS` in every helper).
///
/// ```
/// use netfilter_helpers_core::options::{Param, MAX_PORTS};
/// let ports = (1..=MAX_PORTS as u16).map(|p| p.to_string()).collect::<Vec<_>>().join(",");
/// assert!(Param::SipPorts.parse_value(&ports).is_ok());
/// assert!(Param::SipPorts.parse_value(&format!("{ports},9")).is_err());
/// ```
pub const MAX_PORTS: usize = 8;
/// Longest `charp` value the kernel stores (`param_set_charp`).
///
/// ```
/// use netfilter_helpers_core::options::{Param, MAX_CHARP};
/// let e = Param::AmandaTsAlgo.parse_value(&"k".repeat(MAX_CHARP + 1)).unwrap_err();
/// assert!(e.to_string().ends_with("accepted at most 1024 bytes"));
/// ```
pub const MAX_CHARP: usize = 1024;

/// The type of a module parameter, as declared with `module_param`.
///
/// ```
/// use netfilter_helpers_core::options::{Param, ParamKind};
/// assert_eq!(Param::FtpPorts.spec().kind, ParamKind::Ports);
/// assert_eq!(ParamKind::Ports.to_string(), "ushort array");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// `bool`: `kstrtobool` spellings (`1`/`0`, `y`/`n`, `on`/`off`, ...).
    Bool,
    /// `int`: signed decimal, `0x` hex or leading-`0` octal.
    Int,
    /// `uint`: unsigned decimal, `0x` hex or leading-`0` octal.
    Uint,
    /// `ushort` array: comma-separated ports, at most [`MAX_PORTS`] entries.
    Ports,
    /// `charp`: a string of at most [`MAX_CHARP`] bytes.
    Text,
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamKind::Bool => "bool",
            ParamKind::Int => "int",
            ParamKind::Uint => "uint",
            ParamKind::Ports => "ushort array",
            ParamKind::Text => "charp",
        })
    }
}

/// A parameter value.
///
/// ```
/// use netfilter_helpers_core::options::Value;
/// assert_eq!(Value::Ports(vec![21, 2121]).to_string(), "21,2121");
/// assert_eq!(Value::Bool(true).to_string(), "1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i32),
    /// An unsigned integer.
    Uint(u32),
    /// A list of ports.
    Ports(Vec<u16>),
    /// A string.
    Text(String),
}

impl fmt::Display for Value {
    /// Renders the value in the form `modprobe` and `/sys` accept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => f.write_str(if *b { "1" } else { "0" }),
            Value::Int(n) => write!(f, "{n}"),
            Value::Uint(n) => write!(f, "{n}"),
            Value::Ports(p) => {
                for (i, port) in p.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{port}")?;
                }
                Ok(())
            }
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// Every parameter of every helper module (and the removed `nf_conntrack_helper` switch).
///
/// ```
/// use netfilter_helpers_core::options::Param;
/// let p = Param::lookup("nf_conntrack_sip", "sip_direct_media").unwrap();
/// assert_eq!(p, Param::SipDirectMedia);
/// assert!(p.spec().writable);
/// assert!(Param::lookup("nf_conntrack_sip", "bogus").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Param {
    /// `nf_conntrack.nf_conntrack_helper`: automatic helper assignment (removed in 6.0).
    ConntrackHelper,
    /// `nf_conntrack_amanda.master_timeout`.
    AmandaMasterTimeout,
    /// `nf_conntrack_amanda.ts_algo`.
    AmandaTsAlgo,
    /// `nf_conntrack_ftp.ports`.
    FtpPorts,
    /// `nf_conntrack_ftp.loose`.
    FtpLoose,
    /// `nf_conntrack_h323.default_rrq_ttl`.
    H323DefaultRrqTtl,
    /// `nf_conntrack_h323.gkrouted_only`.
    H323GkroutedOnly,
    /// `nf_conntrack_h323.callforward_filter`.
    H323CallforwardFilter,
    /// `nf_conntrack_irc.ports`.
    IrcPorts,
    /// `nf_conntrack_irc.max_dcc_channels`.
    IrcMaxDccChannels,
    /// `nf_conntrack_irc.dcc_timeout`.
    IrcDccTimeout,
    /// `nf_conntrack_netbios_ns.timeout`.
    NetbiosNsTimeout,
    /// `nf_conntrack_sane.ports`.
    SanePorts,
    /// `nf_conntrack_sip.ports`.
    SipPorts,
    /// `nf_conntrack_sip.sip_timeout`.
    SipTimeout,
    /// `nf_conntrack_sip.sip_direct_signalling`.
    SipDirectSignalling,
    /// `nf_conntrack_sip.sip_direct_media`.
    SipDirectMedia,
    /// `nf_conntrack_sip.sip_external_media`.
    SipExternalMedia,
    /// `nf_conntrack_snmp.timeout`.
    SnmpTimeout,
    /// `nf_conntrack_tftp.ports`.
    TftpPorts,
}

/// What the kernel does with a parameter value that weakens a helper.
///
/// ```
/// use netfilter_helpers_core::options::{Param, Value};
/// let d = Param::SipDirectMedia.spec().danger.unwrap();
/// assert!(!d.when_true);
/// assert_eq!(Param::SipDirectMedia.danger_of(&Value::Int(0)), Some(d.why));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Danger {
    /// The value is dangerous when the parameter is "true" (non-zero) rather than "false".
    pub when_true: bool,
    /// Why, in words an administrator understands.
    pub why: &'static str,
}

/// The declaration of one module parameter.
///
/// ```
/// use netfilter_helpers_core::{catalogue::Module, options::Param};
/// let s = Param::IrcDccTimeout.spec();
/// assert_eq!((s.module, s.name, s.default), (Module::Irc, "dcc_timeout", "300"));
/// assert!(!s.writable && s.danger.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct ParamSpec {
    /// The parameter.
    pub param: Param,
    /// Its module.
    pub module: Module,
    /// Its name in `modprobe.d` and `/sys/module/<module>/parameters/`.
    pub name: &'static str,
    /// Its type.
    pub kind: ParamKind,
    /// The default, rendered as `modprobe` accepts it.
    pub default: &'static str,
    /// The accepted numeric range, inclusive, where the kernel enforces one beyond the type.
    pub range: Option<(i64, i64)>,
    /// Whether root can change it at run time through `/sys` (mode 0600/0644) or only at load
    /// time (mode 0400).
    pub writable: bool,
    /// The value that enables a dangerous feature, if any.
    pub danger: Option<Danger>,
    /// The first kernel version without this parameter, if it was removed.
    pub removed_in: Option<(u32, u32)>,
    /// What it does.
    pub description: &'static str,
}

pub(super) const fn spec(
    param: Param,
    module: Module,
    name: &'static str,
    kind: ParamKind,
    default: &'static str,
    writable: bool,
    description: &'static str,
) -> ParamSpec {
    ParamSpec {
        param,
        module,
        name,
        kind,
        default,
        range: None,
        writable,
        danger: None,
        removed_in: None,
        description,
    }
}

pub(super) const fn dangerous(mut s: ParamSpec, when_true: bool, why: &'static str) -> ParamSpec {
    s.danger = Some(Danger { when_true, why });
    s
}

/// Every parameter's declaration, in [`Param`] order.
///
/// ```
/// use netfilter_helpers_core::options::{Param, PARAMS};
/// assert_eq!(PARAMS[0].param, Param::ConntrackHelper);
/// assert_eq!(PARAMS[0].removed_in, Some((6, 0)));
/// assert_eq!(PARAMS.iter().filter(|s| s.danger.is_some()).count(), 6);
/// ```
pub static PARAMS: [ParamSpec; 20] = {
    use Module as M;
    use Param as P;
    use ParamKind as K;
    let mut helper = dangerous(
        spec(
            P::ConntrackHelper,
            M::Conntrack,
            "nf_conntrack_helper",
            K::Bool,
            "0",
            true,
            "automatic helper assignment by port (3.5 to 5.19; default on before 4.7)",
        ),
        true,
        "every connection to a helper's port gets the helper, whatever the rules intended",
    );
    helper.removed_in = Some((6, 0));
    let mut dcc = spec(
        P::IrcMaxDccChannels,
        M::Irc,
        "max_dcc_channels",
        K::Uint,
        "8",
        false,
        "most DCC expectations one IRC connection may hold",
    );
    dcc.range = Some((1, 255));
    [
        helper,
        spec(
            P::AmandaMasterTimeout,
            M::Amanda,
            "master_timeout",
            K::Uint,
            "300",
            true,
            "timeout of the master UDP connection, in seconds",
        ),
        spec(
            P::AmandaTsAlgo,
            M::Amanda,
            "ts_algo",
            K::Text,
            "kmp",
            false,
            "textsearch algorithm used to find CONNECT (kmp, bm or fsm)",
        ),
        spec(
            P::FtpPorts,
            M::Ftp,
            "ports",
            K::Ports,
            "21",
            false,
            "ports the helper registers; each non-default port adds a helper named ftp-<port>",
        ),
        dangerous(
            spec(
                P::FtpLoose,
                M::Ftp,
                "loose",
                K::Bool,
                "0",
                true,
                "accept PORT/EPRT/227 addresses other than the sender's",
            ),
            true,
            "the data connection may go to any host the command names: FTP bounce through the firewall",
        ),
        spec(
            P::H323DefaultRrqTtl,
            M::H323,
            "default_rrq_ttl",
            K::Uint,
            "300",
            true,
            "registration TTL in seconds when an RRQ carries none",
        ),
        dangerous(
            spec(
                P::H323GkroutedOnly,
                M::H323,
                "gkrouted_only",
                K::Int,
                "1",
                true,
                "accept incoming calls only from the gatekeeper",
            ),
            false,
            "with 0 any host may open a Q.931 call to a registered endpoint",
        ),
        dangerous(
            spec(
                P::H323CallforwardFilter,
                M::H323,
                "callforward_filter",
                K::Bool,
                "1",
                true,
                "skip call-forward expectations when both parties are reached through the same interface",
            ),
            false,
            "with 0 a Facility message can open a call-signalling channel to any forwarded-to address",
        ),
        spec(
            P::IrcPorts,
            M::Irc,
            "ports",
            K::Ports,
            "6667",
            false,
            "ports the helper registers; each non-default port adds a helper named irc-<index>",
        ),
        dcc,
        spec(
            P::IrcDccTimeout,
            M::Irc,
            "dcc_timeout",
            K::Uint,
            "300",
            false,
            "lifetime of a DCC expectation, in seconds",
        ),
        spec(
            P::NetbiosNsTimeout,
            M::NetbiosNs,
            "timeout",
            K::Uint,
            "3",
            false,
            "lifetime of the broadcast reply expectation, in seconds",
        ),
        spec(
            P::SanePorts,
            M::Sane,
            "ports",
            K::Ports,
            "6566",
            false,
            "ports the helper registers; each non-default port adds a helper named sane-<port>",
        ),
        spec(
            P::SipPorts,
            M::Sip,
            "ports",
            K::Ports,
            "5060",
            false,
            "ports the helper registers; each non-default port adds a helper named sip-<index>",
        ),
        spec(
            P::SipTimeout,
            M::Sip,
            "sip_timeout",
            K::Uint,
            "3600",
            true,
            "timeout of the master SIP connection, in seconds",
        ),
        dangerous(
            spec(
                P::SipDirectSignalling,
                M::Sip,
                "sip_direct_signalling",
                K::Int,
                "1",
                true,
                "expect incoming calls from the registrar only",
            ),
            false,
            "with 0 any host may send signalling to a registered phone",
        ),
        dangerous(
            spec(
                P::SipDirectMedia,
                M::Sip,
                "sip_direct_media",
                K::Int,
                "1",
                true,
                "expect media streams between the signalling endpoints only",
            ),
            false,
            "with 0 the SDP body may name any host as media destination, and media may come from anywhere",
        ),
        spec(
            P::SipExternalMedia,
            M::Sip,
            "sip_external_media",
            K::Int,
            "0",
            true,
            "with sip_direct_media=0: skip media expectations routed out of the interface the SIP packet came from",
        ),
        spec(
            P::SnmpTimeout,
            M::Snmp,
            "timeout",
            K::Uint,
            "30",
            false,
            "lifetime of the broadcast reply expectation, in seconds",
        ),
        spec(
            P::TftpPorts,
            M::Tftp,
            "ports",
            K::Ports,
            "69",
            false,
            "ports the helper registers; each non-default port adds a helper named tftp-<index>",
        ),
    ]
};

impl Param {
    /// Every parameter, in a stable order.
    ///
    /// ```
    /// use netfilter_helpers_core::options::Param;
    /// assert_eq!(Param::all().count(), 20);
    /// assert_eq!(Param::all().next(), Some(Param::ConntrackHelper));
    /// ```
    pub fn all() -> impl Iterator<Item = Param> {
        PARAMS.iter().map(|s| s.param)
    }

    /// The declaration of this parameter.
    ///
    /// ```
    /// use netfilter_helpers_core::options::Param;
    /// assert_eq!(Param::IrcMaxDccChannels.spec().range, Some((1, 255)));
    /// ```
    pub fn spec(self) -> &'static ParamSpec {
        PARAMS
            .iter()
            .find(|s| s.param == self)
            .expect("every parameter has a spec")
    }

    /// Finds a parameter by module and parameter name (module names as [`Module`] parses them).
    ///
    /// ```
    /// use netfilter_helpers_core::options::{OptionError, Param};
    /// assert_eq!(Param::lookup("nf-conntrack-h323", "gkrouted_only").unwrap(), Param::H323GkroutedOnly);
    /// assert_eq!(Param::lookup("h323", "gkrouted_only").unwrap(), Param::H323GkroutedOnly);
    /// assert!(matches!(Param::lookup("nf_conntrack_foo", "x"), Err(OptionError::UnknownModule { .. })));
    /// ```
    pub fn lookup(module: &str, param: &str) -> Result<Param, OptionError> {
        let m: Module = module.parse().map_err(|_| OptionError::UnknownModule {
            module: module.to_string(),
        })?;
        Param::lookup_in(m, param)
    }

    /// Finds a parameter of a known module.
    ///
    /// ```
    /// use netfilter_helpers_core::{catalogue::Module, options::Param};
    /// assert_eq!(Param::lookup_in(Module::Sip, "ports").unwrap(), Param::SipPorts);
    /// assert!(Param::lookup_in(Module::Pptp, "ports").is_err());
    /// ```
    pub fn lookup_in(module: Module, param: &str) -> Result<Param, OptionError> {
        PARAMS
            .iter()
            .find(|s| s.module == module && s.name == param)
            .map(|s| s.param)
            .ok_or_else(|| OptionError::UnknownParameter {
                module: module.name().to_string(),
                param: param.to_string(),
                known: {
                    let names: Vec<&str> = PARAMS
                        .iter()
                        .filter(|s| s.module == module)
                        .map(|s| s.name)
                        .collect();
                    if names.is_empty() {
                        "it has none".to_string()
                    } else {
                        names.join(", ")
                    }
                },
            })
    }

    /// The default value.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{Param, Value};
    /// assert_eq!(Param::FtpPorts.default_value(), Value::Ports(vec![21]));
    /// ```
    pub fn default_value(self) -> Value {
        self.parse_value(self.spec().default)
            .expect("defaults are valid values")
    }

    /// Parses a value for this parameter the way the kernel does and checks its range.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{Param, Value};
    /// assert_eq!(Param::FtpLoose.parse_value("Y").unwrap(), Value::Bool(true));
    /// assert_eq!(Param::SipDirectMedia.parse_value("0x0").unwrap(), Value::Int(0));
    /// assert!(Param::IrcMaxDccChannels.parse_value("256").is_err());
    /// assert!(Param::FtpPorts.parse_value("1,2,3,4,5,6,7,8,9").is_err());
    /// ```
    pub fn parse_value(self, text: &str) -> Result<Value, OptionError> {
        let s = self.spec();
        let invalid = |expected: &'static str| OptionError::InvalidValue {
            module: s.module.name().to_string(),
            param: s.name.to_string(),
            value: text.to_string(),
            expected,
        };
        let value = match s.kind {
            ParamKind::Bool => Value::Bool(
                kstrtobool(text)
                    .ok_or_else(|| invalid("a boolean: 1/0, y/n, Y/N, on/off, true/false"))?,
            ),
            ParamKind::Int => {
                let n = kstrtoll(text).ok_or_else(|| invalid("an integer"))?;
                Value::Int(i32::try_from(n).map_err(|_| OptionError::OutOfRange {
                    module: s.module.name().to_string(),
                    param: s.name.to_string(),
                    value: text.to_string(),
                    range: format!("{}..={}", i32::MIN, i32::MAX),
                })?)
            }
            ParamKind::Uint => {
                let n = kstrtoull(text).ok_or_else(|| invalid("an unsigned integer"))?;
                Value::Uint(u32::try_from(n).map_err(|_| OptionError::OutOfRange {
                    module: s.module.name().to_string(),
                    param: s.name.to_string(),
                    value: text.to_string(),
                    range: format!("0..={}", u32::MAX),
                })?)
            }
            ParamKind::Ports => {
                let items: Vec<&str> = text.split(',').collect();
                if items.len() > MAX_PORTS {
                    return Err(OptionError::TooManyValues {
                        module: s.module.name().to_string(),
                        param: s.name.to_string(),
                        count: items.len(),
                        max: MAX_PORTS,
                    });
                }
                let mut ports = Vec::with_capacity(items.len());
                for item in items {
                    let n = kstrtoull(item).ok_or_else(|| invalid("comma-separated ports"))?;
                    ports.push(u16::try_from(n).map_err(|_| OptionError::OutOfRange {
                        module: s.module.name().to_string(),
                        param: s.name.to_string(),
                        value: item.to_string(),
                        range: "0..=65535".to_string(),
                    })?);
                }
                Value::Ports(ports)
            }
            ParamKind::Text => {
                if text.len() > MAX_CHARP {
                    return Err(OptionError::OutOfRange {
                        module: s.module.name().to_string(),
                        param: s.name.to_string(),
                        value: format!("{}...", text.chars().take(16).collect::<String>()),
                        range: format!("at most {MAX_CHARP} bytes"),
                    });
                }
                Value::Text(text.to_string())
            }
        };
        self.check(&value)?;
        Ok(value)
    }

    /// Checks a typed value against the parameter's type and range.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{Param, Value};
    /// assert!(Param::FtpPorts.check(&Value::Ports(vec![21, 2121])).is_ok());
    /// assert!(Param::FtpPorts.check(&Value::Ports(vec![21, 21])).is_err());
    /// assert!(Param::FtpLoose.check(&Value::Int(1)).is_err()); // loose is a bool
    /// ```
    pub fn check(self, value: &Value) -> Result<(), OptionError> {
        let s = self.spec();
        let out_of_range = |range: String| OptionError::OutOfRange {
            module: s.module.name().to_string(),
            param: s.name.to_string(),
            value: value.to_string(),
            range,
        };
        match (s.kind, value) {
            (ParamKind::Bool, Value::Bool(_)) | (ParamKind::Int, Value::Int(_)) => {}
            (ParamKind::Uint, Value::Uint(n)) => {
                if let Some((lo, hi)) = s.range
                    && (i64::from(*n) < lo || i64::from(*n) > hi)
                {
                    return Err(out_of_range(format!("{lo}..={hi}")));
                }
            }
            (ParamKind::Ports, Value::Ports(p)) => {
                if p.len() > MAX_PORTS {
                    return Err(OptionError::TooManyValues {
                        module: s.module.name().to_string(),
                        param: s.name.to_string(),
                        count: p.len(),
                        max: MAX_PORTS,
                    });
                }
                if p.is_empty() {
                    return Err(out_of_range("1 to 8 ports".into()));
                }
                for (i, port) in p.iter().enumerate() {
                    if p[..i].contains(port) {
                        return Err(OptionError::DuplicatePort {
                            module: s.module.name().to_string(),
                            param: s.name.to_string(),
                            port: *port,
                        });
                    }
                }
            }
            (ParamKind::Text, Value::Text(t)) => {
                if self == Param::AmandaTsAlgo && !["kmp", "bm", "fsm"].contains(&t.as_str()) {
                    return Err(out_of_range("one of kmp, bm, fsm".into()));
                }
            }
            _ => {
                return Err(OptionError::InvalidValue {
                    module: s.module.name().to_string(),
                    param: s.name.to_string(),
                    value: value.to_string(),
                    expected: match s.kind {
                        ParamKind::Bool => "a boolean",
                        ParamKind::Int => "an integer",
                        ParamKind::Uint => "an unsigned integer",
                        ParamKind::Ports => "a list of ports",
                        ParamKind::Text => "a string",
                    },
                });
            }
        }
        Ok(())
    }

    /// Why a value is dangerous, if it is.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{Param, Value};
    /// assert!(Param::FtpLoose.danger_of(&Value::Bool(true)).is_some());
    /// assert!(Param::SipDirectMedia.danger_of(&Value::Int(1)).is_none());
    /// assert!(Param::SipDirectMedia.danger_of(&Value::Int(0)).is_some());
    /// ```
    pub fn danger_of(self, value: &Value) -> Option<&'static str> {
        let d = self.spec().danger?;
        let truthy = match value {
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Uint(n) => *n != 0,
            _ => return None,
        };
        (truthy == d.when_true).then_some(d.why)
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.spec();
        write!(f, "{}.{}", s.module.name(), s.name)
    }
}

impl FromStr for Param {
    type Err = OptionError;
    /// Parses `MODULE.PARAM` (`nf_conntrack_ftp.loose` or `ftp.loose`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (m, p) = s.rsplit_once('.').ok_or_else(|| OptionError::Malformed {
            text: s.to_string(),
            reason: "expected MODULE.PARAM".into(),
        })?;
        Param::lookup(m, p)
    }
}
