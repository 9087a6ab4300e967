//! Expectations: parsing, validation against the model, and site policies.

use std::ffi::c_char;

use netfilter_helpers_core::conform::Validator;
use netfilter_helpers_core::judge::Judgement;
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_core::parse::{ParseError, ParsedLine, parse_line, parse_lines};
use netfilter_helpers_core::policy::SitePolicy;

use crate::catalogue::{nfh_options, severity};
use crate::error::{nfh_error, nfh_result};
use crate::ffi::{
    boundary, boundary_or, bytes_arg, give, obj, put, set_error, str_arg, take, tri, write_text,
};

/// Text formats of policies and sites.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_format {
    /// TOML.
    Toml = 0,
    /// JSON.
    Json = 1,
}

/// Judges expectations against the model under fixed module options. Immutable: one
/// validator may be used from several threads at once.
#[derive(Debug)]
pub struct nfh_validator {
    pub(crate) inner: Validator,
}

/// A site policy for RELATED flows. Immutable: safe to share between threads.
#[derive(Debug)]
pub struct nfh_policy {
    pub(crate) inner: SitePolicy,
}

/// Parsed expectation lines and the lines that could not be parsed. Immutable.
#[derive(Debug)]
pub struct nfh_expectations {
    lines: Vec<(usize, ParsedLine)>,
    errors: Vec<ParseError>,
}

/// The verdict on one expectation: conformance findings, then policy findings (the core's
/// `Judgement`). Immutable.
#[derive(Debug)]
pub struct nfh_verdict {
    inner: Judgement,
}

/// A validator for `opts` (NULL: kernel defaults). Free with `nfh_validator_free`.
///
/// # Safety
/// `opts` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_validator_new(opts: *const nfh_options) -> *mut nfh_validator {
    boundary_or(std::ptr::null_mut(), || {
        let defaults = ModuleOptions::new();
        // SAFETY: forwarded caller contract.
        let o = unsafe { opts.as_ref() }.map_or(&defaults, |o| &o.inner);
        give(nfh_validator {
            inner: Validator::new(o),
        })
    })
}

/// Frees a validator; NULL is a no-op.
///
/// # Safety
/// `v` must be NULL or a validator not freed before, no longer used by any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_validator_free(v: *mut nfh_validator) {
    // SAFETY: forwarded caller contract.
    boundary_or((), || unsafe { take(v) })
}

/// Reads a policy from TOML or JSON text (`nfh_format`). On failure `*err` (if `err` is not
/// NULL) lists every problem with its path.
///
/// # Safety
/// `text` NUL-terminated; `out` writable; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_policy_parse(
    text: *const c_char,
    format: u32,
    out: *mut *mut nfh_policy,
    err: *mut *mut nfh_error,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let text = tri!(unsafe { str_arg(text) });
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let parsed = match format {
            0 => SitePolicy::from_toml(text),
            1 => SitePolicy::from_json(text),
            _ => return nfh_result::InvalidParameter,
        };
        match parsed {
            // SAFETY: checked non-NULL.
            Ok(p) => unsafe { put(out, give(nfh_policy { inner: p })) },
            Err(e) => {
                let code = if e.syntax {
                    nfh_result::ParseError
                } else {
                    nfh_result::InvalidValue
                };
                let problems = e
                    .problems
                    .iter()
                    .map(|p| (p.path.clone(), p.message.clone()));
                // SAFETY: forwarded caller contract.
                unsafe { set_error(err, nfh_error::with_problems(code, e.to_string(), problems)) }
            }
        }
    })
}

/// Frees a policy; NULL is a no-op.
///
/// # Safety
/// `p` must be NULL or a policy not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_policy_free(p: *mut nfh_policy) {
    // SAFETY: forwarded caller contract.
    boundary_or((), || unsafe { take(p) })
}

/// Judges one line (`/proc/net/nf_conntrack_expect` or `conntrack -L/-E expect` format)
/// against the model and, if `policy` is not NULL, the policy. A line that does not parse
/// gives `NFH_RESULT_PARSE_ERROR` and, when `err` is not NULL, an error naming the field.
///
/// # Safety
/// `v` live; `policy` NULL or live; `line` NUL-terminated; `out` writable; `err` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_validator_check_line(
    v: *const nfh_validator,
    policy: *const nfh_policy,
    line: *const c_char,
    out: *mut *mut nfh_verdict,
    err: *mut *mut nfh_error,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let v = tri!(unsafe { obj(v) });
        // SAFETY: forwarded caller contract.
        let line = tri!(unsafe { str_arg(line) });
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        // SAFETY: forwarded caller contract.
        let policy = unsafe { policy.as_ref() }.map(|p| &p.inner);
        match parse_line(line.as_bytes()) {
            Ok(parsed) => {
                let inner = Judgement::of(&v.inner, policy, &parsed);
                // SAFETY: checked non-NULL.
                unsafe { put(out, give(nfh_verdict { inner })) }
            }
            // SAFETY: forwarded caller contract.
            Err(e) => unsafe {
                set_error(err, nfh_error::new(nfh_result::ParseError, e.to_string()))
            },
        }
    })
}

/// Whether a verdict found nothing worse than info (false for NULL).
///
/// # Safety
/// `verdict` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_verdict_conforms(verdict: *const nfh_verdict) -> bool {
    boundary_or(false, || {
        // SAFETY: forwarded caller contract.
        unsafe { obj(verdict) }.is_ok_and(|v| v.inner.conforms())
    })
}

/// The number of findings in a verdict (0 for NULL).
///
/// # Safety
/// `verdict` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_verdict_finding_count(verdict: *const nfh_verdict) -> usize {
    // SAFETY: forwarded caller contract.
    boundary_or(0, || {
        unsafe { obj(verdict) }.map_or(0, |v| finding_count(Some(&v.inner)))
    })
}

/// Reads finding `index`: severity (`nfh_severity`) and text `[code] message` into `buf`.
///
/// # Safety
/// `verdict` live; `severity_out` writable; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_verdict_finding(
    verdict: *const nfh_verdict,
    index: usize,
    severity_out: *mut u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let v = tri!(unsafe { obj(verdict) });
        // SAFETY: forwarded caller contract.
        unsafe { write_finding(Some(&v.inner), index, severity_out, buf, len, out_n) }
    })
}

/// Frees a verdict; NULL is a no-op.
///
/// # Safety
/// `verdict` must be NULL or a verdict not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_verdict_free(verdict: *mut nfh_verdict) {
    // SAFETY: forwarded caller contract.
    boundary_or((), || unsafe { take(verdict) })
}

/// Parses a buffer of expectation lines (either format, mixed; blank lines and conntrack's
/// summary line skipped). Lines that do not parse are kept as errors; the call succeeds for
/// any bytes. Free with `nfh_expectations_free`.
///
/// # Safety
/// `buf` NULL (with `len` 0) or `len` readable bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_expectations_parse(
    buf: *const u8,
    len: usize,
    out: *mut *mut nfh_expectations,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let bytes = tri!(unsafe { bytes_arg(buf, len) });
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let (lines, errors) = parse_lines(bytes);
        // SAFETY: checked non-NULL.
        unsafe { put(out, give(nfh_expectations { lines, errors })) }
    })
}

/// The number of parsed expectations (0 for NULL).
///
/// # Safety
/// `e` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_expectations_count(e: *const nfh_expectations) -> usize {
    // SAFETY: forwarded caller contract.
    boundary_or(0, || unsafe { obj(e) }.map_or(0, |e| e.lines.len()))
}

/// The 1-based input line of expectation `index` (0 when out of range or NULL).
///
/// # Safety
/// `e` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_expectations_line(e: *const nfh_expectations, index: usize) -> usize {
    boundary_or(0, || {
        // SAFETY: forwarded caller contract.
        unsafe { obj(e) }
            .ok()
            .and_then(|e| e.lines.get(index))
            .map_or(0, |(n, _)| *n)
    })
}

/// The number of lines that did not parse (0 for NULL).
///
/// # Safety
/// `e` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_expectations_error_count(e: *const nfh_expectations) -> usize {
    // SAFETY: forwarded caller contract.
    boundary_or(0, || unsafe { obj(e) }.map_or(0, |e| e.errors.len()))
}

/// Writes parse error `index` (`line N: what (near "...")`) into `buf`.
///
/// # Safety
/// `e` live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_expectations_error(
    e: *const nfh_expectations,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let e = tri!(unsafe { obj(e) });
        let Some(err) = e.errors.get(index) else {
            return nfh_result::InvalidParameter;
        };
        // SAFETY: forwarded caller contract.
        unsafe { write_text(&err.to_string(), buf, len, out_n) }
    })
}

/// Frees parsed expectations; NULL is a no-op.
///
/// # Safety
/// `e` must be NULL or expectations not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_expectations_free(e: *mut nfh_expectations) {
    // SAFETY: forwarded caller contract.
    boundary_or((), || unsafe { take(e) })
}

/// Whether expectation `index` conforms to the model and, if `policy` is not NULL, the
/// policy. Allocates nothing: the fast path for judging many expectations.
///
/// # Safety
/// `v` and `e` live; `policy` NULL or live; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_validator_conforms(
    v: *const nfh_validator,
    policy: *const nfh_policy,
    e: *const nfh_expectations,
    index: usize,
    out: *mut bool,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let v = tri!(unsafe { obj(v) });
        // SAFETY: forwarded caller contract.
        let e = tri!(unsafe { obj(e) });
        let Some((_, line)) = e.lines.get(index) else {
            return nfh_result::InvalidParameter;
        };
        // SAFETY: forwarded caller contract.
        let policy = unsafe { policy.as_ref() }.map(|p| &p.inner);
        // SAFETY: forwarded caller contract.
        unsafe { put(out, Judgement::conforms_of(&v.inner, policy, line)) }
    })
}

/// The full verdict on expectation `index`. Free it with `nfh_verdict_free`.
///
/// # Safety
/// `v` and `e` live; `policy` NULL or live; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_validator_verdict(
    v: *const nfh_validator,
    policy: *const nfh_policy,
    e: *const nfh_expectations,
    index: usize,
    out: *mut *mut nfh_verdict,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let v = tri!(unsafe { obj(v) });
        // SAFETY: forwarded caller contract.
        let e = tri!(unsafe { obj(e) });
        let Some((_, line)) = e.lines.get(index) else {
            return nfh_result::InvalidParameter;
        };
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        // SAFETY: forwarded caller contract.
        let policy = unsafe { policy.as_ref() }.map(|p| &p.inner);
        let inner = Judgement::of(&v.inner, policy, line);
        // SAFETY: checked non-NULL.
        unsafe { put(out, give(nfh_verdict { inner })) }
    })
}

/// Writes every finding of a verdict, one `severity [code]: message` per line, into `buf`
/// (an empty string when the verdict has no findings).
///
/// # Safety
/// `verdict` live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_verdict_text(
    verdict: *const nfh_verdict,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let v = tri!(unsafe { obj(verdict) });
        // SAFETY: forwarded caller contract.
        unsafe { write_findings_text(Some(&v.inner), buf, len, out_n) }
    })
}

// The verdict accessors, shared with the batch view `nfh_judged` (which may carry no
// judgement: a line that did not parse, or a conforming line under `quiet`).

/// The number of findings, model then policy.
pub(crate) fn finding_count(j: Option<&Judgement>) -> usize {
    j.map_or(0, |j| j.findings().count())
}

/// Writes finding `index` (`[code] message`) and its severity, following the buffer
/// convention; the severity is written only on success.
///
/// # Safety
/// `severity_out` NULL or writable; `buf` NULL or `len` writable bytes; `out_n` NULL or valid.
pub(crate) unsafe fn write_finding(
    j: Option<&Judgement>,
    index: usize,
    severity_out: *mut u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    let Some(f) = j.and_then(|j| j.findings().nth(index)) else {
        return nfh_result::InvalidParameter;
    };
    if severity_out.is_null() {
        return nfh_result::NullParameter;
    }
    // SAFETY: forwarded caller contract.
    let r = unsafe { write_text(&format!("[{}] {}", f.code, f.message), buf, len, out_n) };
    if r == nfh_result::Ok {
        // SAFETY: checked non-NULL.
        unsafe { *severity_out = severity(f.severity) as u32 };
    }
    r
}

/// Writes every finding, one `severity [code]: message` per line (empty without findings).
///
/// # Safety
/// `buf` NULL or `len` writable bytes; `out_n` NULL or valid.
pub(crate) unsafe fn write_findings_text(
    j: Option<&Judgement>,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    let text: Vec<String> = j
        .into_iter()
        .flat_map(Judgement::findings)
        .map(ToString::to_string)
        .collect();
    // SAFETY: forwarded caller contract.
    unsafe { write_text(&text.join("\n"), buf, len, out_n) }
}
