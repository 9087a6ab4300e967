//! Result codes and the error object's type: the bottom of the crate, below the casts in
//! `ffi.rs`. The exports that read errors are in `error.rs`.

use crate::c_enum::c_enum_numbers;

/// Result codes. The numbers are fixed and never reused; a retired code stays listed here as
/// a comment.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 7001,
    /// An integer argument was out of range (an unknown enum number, an index past the end).
    InvalidParameter = 7002,
    /// The caller's buffer is too small: `*out_n` holds the size needed, without the NUL.
    InsufficientSize = 7003,
    /// A panic was caught at the API boundary: a bug in netfilter-helpers.
    Panic = 7004,
    /// A text argument was not valid UTF-8.
    InvalidUtf8 = 7005,
    /// The caller's callback returned non-zero: the call stopped early, as asked.
    Stopped = 7006,
    /// A name (helper, module, parameter, backend) is not known.
    UnknownName = 7101,
    /// A value is invalid (module option value, policy, site): see the error object.
    InvalidValue = 7102,
    /// Text could not be parsed (expectation lines, TOML, JSON): see the error object.
    ParseError = 7103,
    /// The rules cannot be rendered for this backend (kernel too old).
    RenderError = 7104,
    /// The caller's read callback reported an error (a negative return) or returned more bytes
    /// than asked for.
    ReadError = 7105,
    /// The kernel refused for lack of privilege (CAP_NET_ADMIN for ctnetlink).
    PermissionDenied = 7201,
    /// What was asked for is not there: a network namespace, the kernel's ctnetlink.
    NotAvailable = 7202,
    /// A socket call failed, or the kernel did not answer.
    IoError = 7203,
}

c_enum_numbers!(nfh_result {
    Ok,
    NullParameter,
    InvalidParameter,
    InsufficientSize,
    Panic,
    InvalidUtf8,
    Stopped,
    UnknownName,
    InvalidValue,
    ParseError,
    RenderError,
    ReadError,
    PermissionDenied,
    NotAvailable,
    IoError,
});

impl nfh_result {
    /// The fixed description of a code.
    pub(crate) fn text(self) -> &'static str {
        match self {
            nfh_result::Ok => "success",
            nfh_result::NullParameter => "a required pointer argument was NULL",
            nfh_result::InvalidParameter => "an integer argument was out of range",
            nfh_result::InsufficientSize => "the buffer is too small",
            nfh_result::Panic => "a panic was caught (a bug in netfilter-helpers)",
            nfh_result::InvalidUtf8 => "a text argument was not valid UTF-8",
            nfh_result::Stopped => "stopped early by the callback",
            nfh_result::UnknownName => "unknown name",
            nfh_result::InvalidValue => "invalid value",
            nfh_result::ParseError => "parse error",
            nfh_result::RenderError => "cannot render for this backend",
            nfh_result::ReadError => "the read callback failed",
            nfh_result::PermissionDenied => "permission denied (CAP_NET_ADMIN needed)",
            nfh_result::NotAvailable => "not available (no such namespace, or no ctnetlink)",
            nfh_result::IoError => "a socket call failed",
        }
    }
}

/// One problem inside an error, with where it is (a path such as `interfaces[1].name`, or
/// `line 3`).
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) path: String,
    pub(crate) message: String,
}

/// An error with detail: a code, a message, and every problem found. Owned by the caller,
/// freed with `nfh_error_free`. Immutable: safe to read from several threads.
#[derive(Debug, Clone)]
pub struct nfh_error {
    pub(crate) code: nfh_result,
    pub(crate) message: String,
    pub(crate) problems: Vec<Problem>,
}

impl nfh_error {
    pub(crate) fn new(code: nfh_result, message: impl Into<String>) -> Self {
        nfh_error {
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }

    pub(crate) fn with_problems(
        code: nfh_result,
        message: impl Into<String>,
        problems: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        nfh_error {
            code,
            message: message.into(),
            problems: problems
                .into_iter()
                .map(|(path, message)| Problem { path, message })
                .collect(),
        }
    }
}
