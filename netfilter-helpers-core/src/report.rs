//! What every check reports: how serious a finding is, and problems located by their path in
//! an input document.
//!
//! ```
//! use netfilter_helpers_core::report::{Problem, Severity};
//! let p = Problem::new("helpers.ftp.min_port", "must be at most 65535");
//! assert_eq!(p.to_string(), "helpers.ftp.min_port: must be at most 65535");
//! assert!(Severity::Warning > Severity::Info);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// How serious a finding is.
///
/// ```
/// use netfilter_helpers_core::options::ModuleOptions;
/// use netfilter_helpers_core::report::Severity;
/// let r = ModuleOptions::from_modprobe("options nf_conntrack_ftp ports=21,2121\n");
/// assert_eq!(r.findings[0].severity, Severity::Info);
/// assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Noted, not a problem.
    Info,
    /// Valid, but weakens the firewall or has no effect.
    Warning,
    /// The kernel refuses it.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One problem in an input document (a site, a policy), with its path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Problem {
    /// Where (`helpers.ftp.destinations[1]`, or `line 3, column 5` for syntax errors).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl Problem {
    /// A problem at a path.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

crate::spelling::spelling! {
    Severity {
        Info => "info",
        Warning => "warning",
        Error => "error",
    }
}
