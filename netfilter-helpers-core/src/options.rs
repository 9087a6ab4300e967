//! Module options: a typed model of every parameter of every `nf_conntrack_*` helper module.
//!
//! Values are parsed the way the kernel parses them (`kstrtobool`, `kstrtoint` with base 0,
//! comma-separated `ushort` arrays of at most 8 entries), so a value accepted here is one the
//! kernel accepts, and a value refused here is one that makes the module refuse to load or the
//! write to `/sys/module/<module>/parameters/<param>` fail.
//!
//! ```
//! use netfilter_helpers_core::options::{ModuleOptions, Param};
//!
//! let report = ModuleOptions::from_modprobe("options nf_conntrack_ftp loose=1 ports=21,2121\n");
//! assert!(!report.has_errors());
//! assert!(report.options.ftp_loose());
//! assert_eq!(report.options.ports(Param::FtpPorts.spec().module), vec![21, 2121]);
//! // loose=1 is dangerous: it is reported as a warning.
//! assert_eq!(report.findings[0].code.as_str(), "dangerous-option");
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalogue::Module;
use crate::report::Severity;

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

const fn spec(
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

const fn dangerous(mut s: ParamSpec, when_true: bool, why: &'static str) -> ParamSpec {
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

/// Conntrack modules that exist (or existed) but hold no helper parameters.
const NOT_HELPER_MODULES: &[&str] = &[
    "nf_conntrack_netlink",
    "nf_conntrack_ipv4",
    "nf_conntrack_ipv6",
    "nf_conntrack_l3proto_ipv4",
    "nf_conntrack_l3proto_ipv6",
    "nf_conntrack_proto_gre",
    "nf_conntrack_proto_sctp",
    "nf_conntrack_proto_dccp",
    "nf_conntrack_proto_udplite",
    "nf_conntrack_broadcast",
    "nf_conntrack_bridge",
    "nf_conntrack_ovs",
];

/// `kstrtobool`: the first character decides (`1yYtTeE` true, `0nNfFdD` false, `on`/`off`).
fn kstrtobool(s: &str) -> Option<bool> {
    let b = s.as_bytes();
    match b.first()? {
        b'1' | b'y' | b'Y' | b't' | b'T' | b'e' | b'E' => Some(true),
        b'0' | b'n' | b'N' | b'f' | b'F' | b'd' | b'D' => Some(false),
        b'o' | b'O' => match b.get(1)? {
            b'n' | b'N' => Some(true),
            b'f' | b'F' => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `kstrtoull` with base 0 (one trailing newline allowed, as the kernel allows).
fn kstrtoull(s: &str) -> Option<u64> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let s = s.strip_prefix('+').unwrap_or(s);
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `kstrtoll` with base 0.
fn kstrtoll(s: &str) -> Option<i64> {
    if let Some(rest) = s.strip_prefix('-') {
        if rest.starts_with('+') {
            return None;
        }
        let n = kstrtoull(rest)?;
        if n > i64::MAX as u64 + 1 {
            return None;
        }
        Some((n as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(kstrtoull(s)?).ok()
    }
}

/// An error about one module option.
///
/// ```
/// use netfilter_helpers_core::options::{OptionError, Param};
/// let e = Param::FtpPorts.parse_value("21,21").unwrap_err();
/// assert!(matches!(e, OptionError::DuplicatePort { port: 21, .. }));
/// assert_eq!(e.to_string(), "nf_conntrack_ftp ports: port 21 given twice (the second registration fails with EBUSY)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    /// The module is not a conntrack helper module.
    #[error(
        "unknown module {module:?}: expected nf_conntrack or nf_conntrack_{{amanda,ftp,h323,irc,netbios_ns,pptp,sane,sip,snmp,tftp}}"
    )]
    UnknownModule {
        /// The module name given.
        module: String,
    },
    /// The module has no such parameter.
    #[error("{module} has no parameter {param:?} (its parameters: {known})")]
    UnknownParameter {
        /// The module.
        module: String,
        /// The parameter name given.
        param: String,
        /// The parameters the module has, comma separated.
        known: String,
    },
    /// The value does not parse as the parameter's type.
    #[error("{module} {param}={value:?}: expected {expected}")]
    InvalidValue {
        /// The module.
        module: String,
        /// The parameter.
        param: String,
        /// The value given.
        value: String,
        /// What the kernel accepts.
        expected: &'static str,
    },
    /// The value parses but is outside what the kernel accepts.
    #[error("{module} {param}={value}: out of range, accepted {range}")]
    OutOfRange {
        /// The module.
        module: String,
        /// The parameter.
        param: String,
        /// The value given.
        value: String,
        /// The accepted range.
        range: String,
    },
    /// An array has more entries than the kernel accepts.
    #[error("{module} {param}: {count} values given, at most {max} accepted")]
    TooManyValues {
        /// The module.
        module: String,
        /// The parameter.
        param: String,
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A port appears twice: the second helper registration fails and the module does not load.
    #[error("{module} {param}: port {port} given twice (the second registration fails with EBUSY)")]
    DuplicatePort {
        /// The module.
        module: String,
        /// The parameter.
        param: String,
        /// The repeated port.
        port: u16,
    },
    /// A non-boolean parameter was given without `=value`.
    #[error("{module} {param}: a value is required (only bool parameters may omit =value)")]
    MissingValue {
        /// The module.
        module: String,
        /// The parameter.
        param: String,
    },
    /// The text is not a well-formed option.
    #[error("malformed option {text:?}: {reason}")]
    Malformed {
        /// The text.
        text: String,
        /// What is wrong.
        reason: String,
    },
}

/// Stable codes of module option findings.
///
/// ```
/// use netfilter_helpers_core::options::{ModuleOptions, OptionCode, Param, Value};
/// let r = ModuleOptions::from_modprobe("options nf_conntrack_sip sip_timeout=60 sip_timeout=120\n");
/// assert_eq!(r.findings[0].code, OptionCode::DuplicateSetting);
/// assert_eq!(r.options.get(Param::SipTimeout), Value::Uint(120));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum OptionCode {
    /// The line cannot be read as a `modprobe.d` directive.
    MalformedLine,
    /// An `options` line names an `nf_conntrack*` module that does not exist.
    UnknownModule,
    /// The module has no such parameter.
    UnknownParameter,
    /// The value is not of the parameter's type.
    InvalidValue,
    /// The value is outside the accepted range.
    OutOfRange,
    /// More array entries than accepted.
    TooManyValues,
    /// A port appears twice in `ports=`.
    DuplicatePort,
    /// A non-boolean parameter has no value.
    MissingValue,
    /// The parameter is set more than once; the last setting wins.
    DuplicateSetting,
    /// The value enables a dangerous helper feature.
    DangerousOption,
    /// The parameter no longer exists in current kernels.
    RemovedParameter,
    /// `ports=` no longer enables anything since 6.0; it only renames helpers.
    PortsRenameOnly,
    /// A directive for a module that is not a conntrack helper module; not examined.
    OtherModule,
    /// A directive other than `options` for a helper module; noted, not modelled.
    OtherDirective,
}

impl OptionCode {
    /// The stable code text.
    ///
    /// ```
    /// use netfilter_helpers_core::options::OptionCode;
    /// assert_eq!(OptionCode::DangerousOption.as_str(), "dangerous-option");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            OptionCode::MalformedLine => "malformed-line",
            OptionCode::UnknownModule => "unknown-module",
            OptionCode::UnknownParameter => "unknown-parameter",
            OptionCode::InvalidValue => "invalid-value",
            OptionCode::OutOfRange => "out-of-range",
            OptionCode::TooManyValues => "too-many-values",
            OptionCode::DuplicatePort => "duplicate-port",
            OptionCode::MissingValue => "missing-value",
            OptionCode::DuplicateSetting => "duplicate-setting",
            OptionCode::DangerousOption => "dangerous-option",
            OptionCode::RemovedParameter => "removed-parameter",
            OptionCode::PortsRenameOnly => "ports-rename-only",
            OptionCode::OtherModule => "other-module",
            OptionCode::OtherDirective => "other-directive",
        }
    }
}

impl fmt::Display for OptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&OptionError> for OptionCode {
    fn from(e: &OptionError) -> Self {
        match e {
            OptionError::UnknownModule { .. } => OptionCode::UnknownModule,
            OptionError::UnknownParameter { .. } => OptionCode::UnknownParameter,
            OptionError::InvalidValue { .. } => OptionCode::InvalidValue,
            OptionError::OutOfRange { .. } => OptionCode::OutOfRange,
            OptionError::TooManyValues { .. } => OptionCode::TooManyValues,
            OptionError::DuplicatePort { .. } => OptionCode::DuplicatePort,
            OptionError::MissingValue { .. } => OptionCode::MissingValue,
            OptionError::Malformed { .. } => OptionCode::MalformedLine,
        }
    }
}

/// One finding about module options, with where it was found.
///
/// ```
/// use netfilter_helpers_core::options::ModuleOptions;
/// let r = ModuleOptions::from_modprobe("options nf_conntrack_irc dcc_timeout=x\n");
/// let f = &r.findings[0];
/// assert_eq!((f.line, f.param.as_deref(), f.value.as_deref()), (Some(1), Some("dcc_timeout"), Some("x")));
/// assert_eq!(f.to_string(), "line 1: error [invalid-value]: nf_conntrack_irc dcc_timeout=\"x\": expected an unsigned integer");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OptionFinding {
    /// How serious it is.
    pub severity: Severity,
    /// The stable code.
    pub code: OptionCode,
    /// The 1-based line of the input, when the options came from text.
    pub line: Option<usize>,
    /// The module, when known.
    pub module: Option<String>,
    /// The parameter, when known.
    pub param: Option<String>,
    /// The value, when known.
    pub value: Option<String>,
    /// A message naming the input and, for range problems, the accepted range.
    pub message: String,
}

impl fmt::Display for OptionFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        write!(f, "{} [{}]: {}", self.severity, self.code, self.message)
    }
}

/// The result of reading module options: the values and every finding.
///
/// ```
/// use netfilter_helpers_core::{catalogue::Module, options::ModuleOptions};
/// let r = ModuleOptions::from_modprobe("options nf_conntrack_ftp loose=1 ports=2121,x\n");
/// assert!(r.has_errors());
/// assert!(r.options.ftp_loose()); // valid settings are kept,
/// assert_eq!(r.options.ports(Module::Ftp), vec![21]); // invalid ones skipped
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct OptionsReport {
    /// The options that were accepted (invalid settings are left at their previous value).
    pub options: ModuleOptions,
    /// Every finding, in input order.
    pub findings: Vec<OptionFinding>,
}

impl OptionsReport {
    /// Whether any finding is an error.
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// assert!(ModuleOptions::from_modprobe("frobnicate\n").has_errors());
    /// assert!(!ModuleOptions::from_modprobe("options nf_conntrack_ftp loose=1\n").has_errors());
    /// ```
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Whether any finding is a warning or an error.
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// assert!(ModuleOptions::from_modprobe("options nf_conntrack_ftp loose=1\n").has_problems());
    /// assert!(!ModuleOptions::from_modprobe("options nf_conntrack_ftp ports=21\n").has_problems());
    /// ```
    pub fn has_problems(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity >= Severity::Warning)
    }
}

/// The module options in force: explicitly set values over the kernel defaults.
///
/// ```
/// use netfilter_helpers_core::options::{ModuleOptions, Param, Value};
///
/// let mut o = ModuleOptions::new();
/// assert!(!o.ftp_loose());
/// o.set(Param::FtpLoose, Value::Bool(true)).unwrap();
/// assert!(o.ftp_loose());
/// assert_eq!(o.render_modprobe(), "options nf_conntrack_ftp loose=1\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModuleOptions {
    values: BTreeMap<Param, Value>,
}

impl ModuleOptions {
    /// Options with every parameter at its kernel default.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, Param, Value};
    /// let o = ModuleOptions::new();
    /// assert_eq!(o.explicit().count(), 0);
    /// assert_eq!(o.get(Param::SipTimeout), Value::Uint(3600));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a parameter to a typed value after checking it.
    ///
    /// ```
    /// use netfilter_helpers_core::{catalogue::Module, options::{ModuleOptions, Param, Value}};
    /// let mut o = ModuleOptions::new();
    /// o.set(Param::SipPorts, Value::Ports(vec![5060, 5070])).unwrap();
    /// assert_eq!(o.ports(Module::Sip), vec![5060, 5070]);
    /// assert!(o.set(Param::SipPorts, Value::Bool(true)).is_err());
    /// ```
    pub fn set(&mut self, param: Param, value: Value) -> Result<(), OptionError> {
        param.check(&value)?;
        self.values.insert(param, value);
        Ok(())
    }

    /// Parses and sets a parameter given as module, parameter and value text (`modprobe` or
    /// `/sys` spelling).
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_text("nf_conntrack_sip", "sip_direct_media", "0").unwrap();
    /// assert!(!o.sip_direct_media());
    /// let e = o.set_text("nf_conntrack_irc", "max_dcc_channels", "0").unwrap_err();
    /// assert_eq!(e.to_string(), "nf_conntrack_irc max_dcc_channels=0: out of range, accepted 1..=255");
    /// ```
    pub fn set_text(&mut self, module: &str, param: &str, value: &str) -> Result<(), OptionError> {
        let p = Param::lookup(module, param)?;
        let v = p.parse_value(value)?;
        self.values.insert(p, v);
        Ok(())
    }

    /// Parses and sets a `MODULE.PARAM=VALUE` assignment (as `nfh --set` takes it).
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("ftp.loose=1").unwrap();
    /// o.set_assignment("nf_conntrack_h323.gkrouted_only=0").unwrap();
    /// assert!(o.ftp_loose() && !o.h323_gkrouted_only());
    /// assert!(o.set_assignment("ftp.loose").is_err());
    /// ```
    pub fn set_assignment(&mut self, text: &str) -> Result<(), OptionError> {
        let (lhs, value) = text.split_once('=').ok_or_else(|| OptionError::Malformed {
            text: text.to_string(),
            reason: "expected MODULE.PARAM=VALUE".into(),
        })?;
        let (module, param) = lhs.rsplit_once('.').ok_or_else(|| OptionError::Malformed {
            text: text.to_string(),
            reason: "expected MODULE.PARAM=VALUE".into(),
        })?;
        self.set_text(module, param, value)
    }

    /// Reads a value as `/sys/module/<module>/parameters/<param>` shows it (`Y`/`N` for
    /// booleans, a trailing newline allowed).
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_sysfs("nf_conntrack_ftp", "loose", "Y\n").unwrap();
    /// assert!(o.ftp_loose());
    /// ```
    pub fn set_sysfs(&mut self, module: &str, param: &str, raw: &str) -> Result<(), OptionError> {
        let v = raw.strip_suffix('\n').unwrap_or(raw);
        self.set_text(module, param, v)
    }

    /// Removes an explicit setting (the parameter returns to its default).
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, Param};
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("ftp.loose=1").unwrap();
    /// o.unset(Param::FtpLoose);
    /// assert!(!o.ftp_loose() && o.explicit().next().is_none());
    /// ```
    pub fn unset(&mut self, param: Param) {
        self.values.remove(&param);
    }

    /// The value in force (explicit or default).
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, Param, Value};
    /// let mut o = ModuleOptions::new();
    /// assert_eq!(o.get(Param::FtpPorts), Value::Ports(vec![21]));
    /// o.set_assignment("ftp.ports=2121").unwrap();
    /// assert_eq!(o.get(Param::FtpPorts), Value::Ports(vec![2121]));
    /// ```
    pub fn get(&self, param: Param) -> Value {
        self.values
            .get(&param)
            .cloned()
            .unwrap_or_else(|| param.default_value())
    }

    /// The explicitly set values.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, Param, Value};
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("irc.dcc_timeout=60").unwrap();
    /// assert_eq!(o.explicit().collect::<Vec<_>>(), [(Param::IrcDccTimeout, &Value::Uint(60))]);
    /// ```
    pub fn explicit(&self) -> impl Iterator<Item = (Param, &Value)> {
        self.values.iter().map(|(p, v)| (*p, v))
    }

    fn flag(&self, param: Param) -> bool {
        match self.get(param) {
            Value::Bool(b) => b,
            Value::Int(n) => n != 0,
            Value::Uint(n) => n != 0,
            Value::Ports(_) | Value::Text(_) => false,
        }
    }

    fn uint(&self, param: Param) -> u32 {
        match self.get(param) {
            Value::Uint(n) => n,
            _ => 0,
        }
    }

    /// `nf_conntrack_ftp loose`.
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(!o.ftp_loose());
    /// o.set_assignment("ftp.loose=y").unwrap();
    /// assert!(o.ftp_loose());
    /// ```
    pub fn ftp_loose(&self) -> bool {
        self.flag(Param::FtpLoose)
    }
    /// `nf_conntrack_sip sip_direct_signalling` (non-zero).
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(o.sip_direct_signalling());
    /// o.set_assignment("sip.sip_direct_signalling=0").unwrap();
    /// assert!(!o.sip_direct_signalling());
    /// ```
    pub fn sip_direct_signalling(&self) -> bool {
        self.flag(Param::SipDirectSignalling)
    }
    /// `nf_conntrack_sip sip_direct_media` (non-zero).
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(o.sip_direct_media());
    /// o.set_assignment("sip.sip_direct_media=2").unwrap();
    /// assert!(o.sip_direct_media()); // any non-zero value
    /// ```
    pub fn sip_direct_media(&self) -> bool {
        self.flag(Param::SipDirectMedia)
    }
    /// `nf_conntrack_sip sip_external_media` (non-zero).
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(!o.sip_external_media());
    /// o.set_assignment("sip.sip_external_media=1").unwrap();
    /// assert!(o.sip_external_media());
    /// ```
    pub fn sip_external_media(&self) -> bool {
        self.flag(Param::SipExternalMedia)
    }
    /// `nf_conntrack_h323 gkrouted_only` (non-zero).
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(o.h323_gkrouted_only());
    /// o.set_assignment("h323.gkrouted_only=0").unwrap();
    /// assert!(!o.h323_gkrouted_only());
    /// ```
    pub fn h323_gkrouted_only(&self) -> bool {
        self.flag(Param::H323GkroutedOnly)
    }
    /// `nf_conntrack_h323 callforward_filter`.
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(o.h323_callforward_filter());
    /// o.set_assignment("h323.callforward_filter=N").unwrap();
    /// assert!(!o.h323_callforward_filter());
    /// ```
    pub fn h323_callforward_filter(&self) -> bool {
        self.flag(Param::H323CallforwardFilter)
    }
    /// `nf_conntrack_irc max_dcc_channels`.
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert_eq!(o.irc_max_dcc_channels(), 8);
    /// o.set_assignment("irc.max_dcc_channels=2").unwrap();
    /// assert_eq!(o.irc_max_dcc_channels(), 2);
    /// ```
    pub fn irc_max_dcc_channels(&self) -> u32 {
        self.uint(Param::IrcMaxDccChannels)
    }
    /// `nf_conntrack_irc dcc_timeout`.
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert_eq!(o.irc_dcc_timeout(), 300);
    /// o.set_assignment("irc.dcc_timeout=0x3c").unwrap();
    /// assert_eq!(o.irc_dcc_timeout(), 60);
    /// ```
    pub fn irc_dcc_timeout(&self) -> u32 {
        self.uint(Param::IrcDccTimeout)
    }
    /// `nf_conntrack_netbios_ns timeout`.
    ///
    /// ```
    /// let o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert_eq!(o.netbios_ns_timeout(), 3);
    /// ```
    pub fn netbios_ns_timeout(&self) -> u32 {
        self.uint(Param::NetbiosNsTimeout)
    }
    /// `nf_conntrack_snmp timeout`.
    ///
    /// ```
    /// let o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert_eq!(o.snmp_timeout(), 30);
    /// ```
    pub fn snmp_timeout(&self) -> u32 {
        self.uint(Param::SnmpTimeout)
    }

    /// The `ports=` in force for a module (its default port when unset, empty for modules
    /// without `ports=`).
    ///
    /// ```
    /// use netfilter_helpers_core::{catalogue::Module, options::ModuleOptions};
    /// let o = ModuleOptions::new();
    /// assert_eq!(o.ports(Module::Tftp), vec![69]);
    /// assert!(o.ports(Module::Pptp).is_empty());
    /// ```
    pub fn ports(&self, module: Module) -> Vec<u16> {
        PARAMS
            .iter()
            .find(|s| s.module == module && s.kind == ParamKind::Ports)
            .map(|s| match self.get(s.param) {
                Value::Ports(p) => p,
                _ => Vec::new(),
            })
            .unwrap_or_default()
    }

    /// Every setting in force that enables a dangerous feature, with the reason.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, Param};
    /// let mut o = ModuleOptions::new();
    /// assert!(o.dangerous().is_empty());
    /// o.set_assignment("sip.sip_direct_media=0").unwrap();
    /// assert_eq!(o.dangerous()[0].0, Param::SipDirectMedia);
    /// ```
    pub fn dangerous(&self) -> Vec<(Param, &'static str)> {
        Param::all()
            .filter(|p| p.spec().removed_in.is_none())
            .filter_map(|p| p.danger_of(&self.get(p)).map(|why| (p, why)))
            .collect()
    }

    /// Renders the explicit settings as `modprobe.d` text: one `options` line per module, in
    /// a stable order. Parsing the result gives back equal options.
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("sip.sip_direct_media=0").unwrap();
    /// o.set_assignment("ftp.ports=21,2121").unwrap();
    /// assert_eq!(o.render_modprobe(), "options nf_conntrack_ftp ports=21,2121\noptions nf_conntrack_sip sip_direct_media=0\n");
    /// assert_eq!(ModuleOptions::from_modprobe(&o.render_modprobe()).options, o);
    /// ```
    pub fn render_modprobe(&self) -> String {
        let mut out = String::new();
        for module in Module::ALL {
            let items: Vec<String> = self
                .values
                .iter()
                .filter(|(p, _)| p.spec().module == module)
                .map(|(p, v)| format!("{}={}", p.spec().name, v))
                .collect();
            if !items.is_empty() {
                out.push_str("options ");
                out.push_str(module.name());
                for i in items {
                    out.push(' ');
                    out.push_str(&i);
                }
                out.push('\n');
            }
        }
        out
    }

    /// The writes that apply the explicit, run-time writable settings through `/sys`:
    /// `(path, value)` pairs. Load-time-only settings need `modprobe.d` and a module reload.
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("ftp.loose=0").unwrap();
    /// o.set_assignment("ftp.ports=21,2121").unwrap();
    /// assert_eq!(o.sysfs_writes(), vec![("/sys/module/nf_conntrack_ftp/parameters/loose".to_string(), "0".to_string())]);
    /// ```
    pub fn sysfs_writes(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .filter(|(p, _)| p.spec().writable && p.spec().removed_in.is_none())
            .map(|(p, v)| {
                let s = p.spec();
                (
                    format!("/sys/module/{}/parameters/{}", s.module.name(), s.name),
                    v.to_string(),
                )
            })
            .collect()
    }

    /// Parses `modprobe.d` text and validates every setting for conntrack modules.
    ///
    /// Comments (`#` at the start of a line), blank lines and `\` continuations are handled;
    /// values may be double-quoted. Every problem is reported, each with its line; invalid
    /// settings are skipped, valid ones are kept.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, OptionCode};
    /// let text = "# site\noptions nf_conntrack_irc max_dcc_channels=300\noptions nf_conntrack_ftp lose=1\n";
    /// let r = ModuleOptions::from_modprobe(text);
    /// let codes: Vec<_> = r.findings.iter().map(|f| (f.line, f.code)).collect();
    /// assert_eq!(codes, [(Some(2), OptionCode::OutOfRange), (Some(3), OptionCode::UnknownParameter)]);
    /// assert!(r.findings[0].message.contains("accepted 1..=255"));
    /// ```
    pub fn from_modprobe(text: &str) -> OptionsReport {
        let mut report = OptionsReport::default();
        let mut seen: BTreeMap<Param, usize> = BTreeMap::new();
        for (line_no, logical) in logical_lines(text) {
            let words = match split_words(&logical) {
                Ok(w) => w,
                Err(reason) => {
                    report.findings.push(OptionFinding {
                        severity: Severity::Error,
                        code: OptionCode::MalformedLine,
                        line: Some(line_no),
                        module: None,
                        param: None,
                        value: None,
                        message: format!("{reason}: {}", truncate(&logical)),
                    });
                    continue;
                }
            };
            let Some(directive) = words.first() else {
                continue;
            };
            // Helper modules (and nf_conntrack itself) are ours; other nf_conntrack* modules
            // (nf_conntrack_netlink, the old per-family and protocol modules) are not, and any
            // other nf_conntrack_* name is most likely a misspelt helper module.
            let is_ours = |m: &str| {
                let m = m.replace('-', "_");
                m.starts_with("nf_conntrack") && !NOT_HELPER_MODULES.contains(&m.as_str())
            };
            match directive.as_str() {
                "options" => {
                    let Some(module_name) = words.get(1) else {
                        report.push_error(
                            line_no,
                            OptionError::Malformed {
                                text: truncate(&logical),
                                reason: "options needs a module name".into(),
                            },
                        );
                        continue;
                    };
                    if !is_ours(module_name) {
                        report.findings.push(OptionFinding {
                            severity: Severity::Info,
                            code: OptionCode::OtherModule,
                            line: Some(line_no),
                            module: Some(module_name.clone()),
                            param: None,
                            value: None,
                            message: format!(
                                "options for {module_name} not examined: not a conntrack helper module"
                            ),
                        });
                        continue;
                    }
                    let module: Module = match module_name.parse() {
                        Ok(m) => m,
                        Err(_) => {
                            report.push_error(
                                line_no,
                                OptionError::UnknownModule {
                                    module: module_name.clone(),
                                },
                            );
                            continue;
                        }
                    };
                    for word in &words[2..] {
                        report.apply_word(module, word, line_no, &mut seen);
                    }
                }
                "install" | "remove" | "blacklist" | "softdep" | "alias" | "softdeps" => {
                    let subject = words.get(1).cloned().unwrap_or_default();
                    let concerns_us = words[1..].iter().any(|w| is_ours(w));
                    if concerns_us {
                        report.findings.push(OptionFinding {
                            severity: Severity::Info,
                            code: OptionCode::OtherDirective,
                            line: Some(line_no),
                            module: Some(subject.clone()),
                            param: None,
                            value: None,
                            message: format!(
                                "{directive} {subject}: noted; only options lines change helper behaviour"
                            ),
                        });
                    }
                }
                other => {
                    report.findings.push(OptionFinding {
                        severity: Severity::Error,
                        code: OptionCode::MalformedLine,
                        line: Some(line_no),
                        module: None,
                        param: None,
                        value: None,
                        message: format!(
                            "unknown directive {other:?}: expected options, install, remove, blacklist, softdep or alias"
                        ),
                    });
                }
            }
        }
        report
    }
}

impl OptionsReport {
    fn push_error(&mut self, line: usize, e: OptionError) {
        let (module, param, value) = match &e {
            OptionError::UnknownModule { module } => (Some(module.clone()), None, None),
            OptionError::UnknownParameter { module, param, .. }
            | OptionError::TooManyValues { module, param, .. }
            | OptionError::DuplicatePort { module, param, .. }
            | OptionError::MissingValue { module, param } => {
                (Some(module.clone()), Some(param.clone()), None)
            }
            OptionError::InvalidValue {
                module,
                param,
                value,
                ..
            }
            | OptionError::OutOfRange {
                module,
                param,
                value,
                ..
            } => (
                Some(module.clone()),
                Some(param.clone()),
                Some(value.clone()),
            ),
            OptionError::Malformed { .. } => (None, None, None),
        };
        self.findings.push(OptionFinding {
            severity: Severity::Error,
            code: OptionCode::from(&e),
            line: Some(line),
            module,
            param,
            value,
            message: e.to_string(),
        });
    }

    fn apply_word(
        &mut self,
        module: Module,
        word: &str,
        line: usize,
        seen: &mut BTreeMap<Param, usize>,
    ) {
        let (name, value) = match word.split_once('=') {
            Some((n, v)) => (n, Some(unquote(v))),
            None => (word, None),
        };
        let param = match Param::lookup_in(module, name) {
            Ok(p) => p,
            Err(e) => return self.push_error(line, e),
        };
        let spec = param.spec();
        let value = match (value, spec.kind) {
            (Some(v), _) => v,
            (None, ParamKind::Bool) => "1".to_string(),
            (None, _) => {
                return self.push_error(
                    line,
                    OptionError::MissingValue {
                        module: module.name().into(),
                        param: name.into(),
                    },
                );
            }
        };
        let parsed = match param.parse_value(&value) {
            Ok(v) => v,
            Err(e) => return self.push_error(line, e),
        };
        let mut finding = |severity, code, message: String| {
            self.findings.push(OptionFinding {
                severity,
                code,
                line: Some(line),
                module: Some(module.name().into()),
                param: Some(spec.name.into()),
                value: Some(value.clone()),
                message,
            })
        };
        if let Some(prev) = seen.insert(param, line) {
            finding(
                Severity::Warning,
                OptionCode::DuplicateSetting,
                format!(
                    "{} {} set again (first on line {prev}); the last setting wins",
                    module.name(),
                    spec.name
                ),
            );
        }
        if let Some((maj, min)) = spec.removed_in {
            finding(
                Severity::Warning,
                OptionCode::RemovedParameter,
                format!(
                    "{} {} was removed in Linux {maj}.{min}: the kernel ignores it; assign helpers with the CT target or nft ct helper",
                    module.name(),
                    spec.name
                ),
            );
        } else if let Some(why) = param.danger_of(&parsed) {
            finding(
                Severity::Warning,
                OptionCode::DangerousOption,
                format!(
                    "{} {}={value} is dangerous: {why}",
                    module.name(),
                    spec.name
                ),
            );
        }
        if spec.kind == ParamKind::Ports {
            finding(
                Severity::Info,
                OptionCode::PortsRenameOnly,
                format!(
                    "{} ports={value}: since Linux 6.0 ports= only decides helper names; traffic gets a helper only from a CT rule",
                    module.name()
                ),
            );
        }
        self.options.values.insert(param, parsed);
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

fn unquote(v: &str) -> String {
    v.replace('"', "")
}

/// Joins `\` continuations and drops comments and blank lines; yields (first line number, text).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let (start, mut acc) = match pending.take() {
            Some(p) => p,
            None => {
                let t = raw.trim_start();
                if t.starts_with('#') || t.trim().is_empty() {
                    continue;
                }
                (line_no, String::new())
            }
        };
        if let Some(stripped) = raw.strip_suffix('\\') {
            acc.push_str(stripped);
            acc.push(' ');
            pending = Some((start, acc));
        } else {
            acc.push_str(raw);
            out.push((start, acc));
        }
    }
    if let Some(p) = pending {
        out.push(p);
    }
    out
}

/// Splits on whitespace, keeping double-quoted runs together (as modprobe does).
fn split_words(line: &str) -> Result<Vec<String>, String> {
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err("control character in line".into());
    }
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated double quote".into());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    Ok(words)
}

crate::spelling::spelling! {
    OptionCode {
        MalformedLine => "malformed-line",
        UnknownModule => "unknown-module",
        UnknownParameter => "unknown-parameter",
        InvalidValue => "invalid-value",
        OutOfRange => "out-of-range",
        TooManyValues => "too-many-values",
        DuplicatePort => "duplicate-port",
        MissingValue => "missing-value",
        DuplicateSetting => "duplicate-setting",
        DangerousOption => "dangerous-option",
        RemovedParameter => "removed-parameter",
        PortsRenameOnly => "ports-rename-only",
        OtherModule => "other-module",
        OtherDirective => "other-directive",
    }
}

crate::spelling::spelling! {
    Param {
        ConntrackHelper => "nf_conntrack.nf_conntrack_helper",
        AmandaMasterTimeout => "nf_conntrack_amanda.master_timeout",
        AmandaTsAlgo => "nf_conntrack_amanda.ts_algo",
        FtpPorts => "nf_conntrack_ftp.ports",
        FtpLoose => "nf_conntrack_ftp.loose",
        H323DefaultRrqTtl => "nf_conntrack_h323.default_rrq_ttl",
        H323GkroutedOnly => "nf_conntrack_h323.gkrouted_only",
        H323CallforwardFilter => "nf_conntrack_h323.callforward_filter",
        IrcPorts => "nf_conntrack_irc.ports",
        IrcMaxDccChannels => "nf_conntrack_irc.max_dcc_channels",
        IrcDccTimeout => "nf_conntrack_irc.dcc_timeout",
        NetbiosNsTimeout => "nf_conntrack_netbios_ns.timeout",
        SanePorts => "nf_conntrack_sane.ports",
        SipPorts => "nf_conntrack_sip.ports",
        SipTimeout => "nf_conntrack_sip.sip_timeout",
        SipDirectSignalling => "nf_conntrack_sip.sip_direct_signalling",
        SipDirectMedia => "nf_conntrack_sip.sip_direct_media",
        SipExternalMedia => "nf_conntrack_sip.sip_external_media",
        SnmpTimeout => "nf_conntrack_snmp.timeout",
        TftpPorts => "nf_conntrack_tftp.ports",
    }
}

crate::spelling::spelling! {
    ParamKind {
        Bool => "bool",
        Int => "int",
        Uint => "uint",
        Ports => "ports",
        Text => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_not_dangerous() {
        let o = ModuleOptions::new();
        for p in Param::all() {
            p.check(&p.default_value()).unwrap();
        }
        assert!(o.dangerous().is_empty());
        assert!(!o.ftp_loose());
        assert!(o.sip_direct_media() && o.sip_direct_signalling() && !o.sip_external_media());
        assert!(o.h323_gkrouted_only() && o.h323_callforward_filter());
        assert_eq!(o.irc_max_dcc_channels(), 8);
        assert_eq!(o.ports(Module::Pptp), Vec::<u16>::new());
    }

    #[test]
    fn kernel_number_syntax() {
        assert_eq!(kstrtoull("0x1f"), Some(31));
        assert_eq!(kstrtoull("017"), Some(15));
        assert_eq!(kstrtoull("0"), Some(0));
        assert_eq!(kstrtoull("+5"), Some(5));
        assert_eq!(kstrtoull("5\n"), Some(5));
        assert_eq!(kstrtoull("08"), None);
        assert_eq!(kstrtoull(""), None);
        assert_eq!(kstrtoull("-1"), None);
        assert_eq!(kstrtoll("-0x10"), Some(-16));
        assert_eq!(kstrtobool("off"), Some(false));
        assert_eq!(kstrtobool("on"), Some(true));
        assert_eq!(kstrtobool("o"), None);
        assert_eq!(kstrtobool("x"), None);
    }

    #[test]
    fn modprobe_reports_every_problem() {
        let text = "options nf_conntrack_ftp ports=21,21 loose=maybe\n\
                    options nf-conntrack-sip sip_direct_media=0 \\\n  ports=\"5060,5070\"\n\
                    options nf_conntrack_bogus x=1\n\
                    options nf_conntrack nf_conntrack_helper=1\n\
                    options snd_hda_intel power_save=1\n\
                    blacklist nf_conntrack_irc\n\
                    frobnicate\n\
                    options nf_conntrack_tftp ports\n\
                    options nf_conntrack_ftp loose=1 loose=0\n";
        let r = ModuleOptions::from_modprobe(text);
        let got: Vec<(Option<usize>, &str)> = r
            .findings
            .iter()
            .map(|f| (f.line, f.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Some(1), "duplicate-port"),
                (Some(1), "invalid-value"),
                (Some(2), "dangerous-option"),
                (Some(2), "ports-rename-only"),
                (Some(4), "unknown-module"),
                (Some(5), "removed-parameter"),
                (Some(6), "other-module"),
                (Some(7), "other-directive"),
                (Some(8), "malformed-line"),
                (Some(9), "missing-value"),
                (Some(10), "dangerous-option"),
                (Some(10), "duplicate-setting"),
            ]
        );
        assert!(!r.options.sip_direct_media());
        assert_eq!(r.options.ports(Module::Sip), vec![5060, 5070]);
        assert!(!r.options.ftp_loose(), "the last setting wins");
    }

    #[test]
    fn render_round_trips() {
        let mut o = ModuleOptions::new();
        o.set_assignment("ftp.loose=1").unwrap();
        o.set_assignment("sip.ports=5060,5061").unwrap();
        o.set_assignment("amanda.ts_algo=bm").unwrap();
        o.set_assignment("h323.callforward_filter=N").unwrap();
        let text = o.render_modprobe();
        let r = ModuleOptions::from_modprobe(&text);
        assert!(!r.has_errors(), "{:?}", r.findings);
        assert_eq!(r.options, o);
    }

    #[test]
    fn review_findings() {
        assert_eq!(kstrtoll("-+5"), None);
        assert_eq!(kstrtoll("+5"), Some(5));
        let e = Param::lookup_in(Module::Pptp, "ports")
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("(its parameters: it has none)"), "{e}");
        let r = ModuleOptions::from_modprobe(
            "options nf_conntrack_ipv4 x=1\noptions nf_conntrack_fpt loose=1\n",
        );
        let codes: Vec<_> = r.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, [OptionCode::OtherModule, OptionCode::UnknownModule]);
    }

    #[test]
    fn range_message_names_everything() {
        let e = Param::FtpPorts.parse_value("21,70000").unwrap_err();
        assert_eq!(
            e.to_string(),
            "nf_conntrack_ftp ports=70000: out of range, accepted 0..=65535"
        );
        let e = Param::lookup("nf_conntrack_ftp", "lose")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "nf_conntrack_ftp has no parameter \"lose\" (its parameters: ports, loose)"
        );
    }
}
