//! Documents (sites, policies) come as TOML or JSON; this is the one place that tells which.
//!
//! ```
//! use netfilter_helpers_core::doc::{detect_format, DocFormat};
//! assert_eq!(detect_format(Some("site.json"), "x = 1"), DocFormat::Json);
//! assert_eq!(detect_format(Some("site.toml"), "{}"), DocFormat::Toml);
//! assert_eq!(detect_format(None, "  \n{\"interfaces\": []}"), DocFormat::Json);
//! assert_eq!(detect_format(Some("-"), "[[interfaces]]"), DocFormat::Toml);
//! ```

use crate::report::Problem;
use serde::Serialize;

/// A document's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DocFormat {
    /// TOML.
    Toml,
    /// JSON.
    Json,
}

/// The format of a document: by the name's extension when it has `.json` or `.toml`
/// (case-insensitive), else JSON when the first character that is not whitespace is `{`
/// (a TOML document cannot start with `{`), else TOML.
pub fn detect_format(name: Option<&str>, text: &str) -> DocFormat {
    let ext = name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("json") => DocFormat::Json,
        Some("toml") => DocFormat::Toml,
        _ if text.trim_start().starts_with('{') => DocFormat::Json,
        _ => DocFormat::Toml,
    }
}

/// A TOML syntax or type error as a problem located by line and column (`whole` names the
/// document when the error has no position).
pub(crate) fn toml_problem(text: &str, e: &toml::de::Error, whole: &str) -> Problem {
    let path = match e.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            format!("line {line}, column {col}")
        }
        None => whole.to_string(),
    };
    Problem {
        path,
        message: e.message().to_string(),
    }
}

crate::spelling::spelling! {
    DocFormat {
        Toml => "toml",
        Json => "json",
    }
}
