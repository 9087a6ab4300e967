//! Option errors, finding codes, findings and reports.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::*;
use crate::report::Severity;

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
