//! Expectations: parsing, validation against the model, and site policies.

use std::ffi::c_char;

use netfilter_helpers_core::conform::Validator;
use netfilter_helpers_core::judge::Judgement;
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_core::parse::{ParseError, ParsedLine, parse_line, parse_lines};
use netfilter_helpers_core::policy::SitePolicy;

use netfilter_helpers_core::doc::DocFormat;

use crate::catalogue::nfh_options;
use crate::enums::{nfh_doc_format, nfh_severity};
use crate::ffi::{
    boundary, free, give, give_out, opt_ref, put, set_error, try_bytes, try_enum, try_ref, try_str,
    write_text,
};
use crate::result::{nfh_error, nfh_result};

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
    boundary(|| {
        let defaults = ModuleOptions::new();
        let o = opt_ref!(opts).map_or(&defaults, |o| &o.inner);
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
    boundary(|| free!(v))
}

/// Reads a policy from TOML or JSON text (`nfh_doc_format`). On failure `*err` (if `err` is not
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
        let text = try_str!(text);
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let parsed = match try_enum!(nfh_doc_format, format).to_core() {
            DocFormat::Toml => SitePolicy::from_toml(text),
            DocFormat::Json => SitePolicy::from_json(text),
        };
        match parsed {
            Ok(p) => give_out!(out, nfh_policy { inner: p }),
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
                set_error!(err, nfh_error::with_problems(code, e.to_string(), problems))
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
    boundary(|| free!(p))
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
        let v = try_ref!(v);
        let line = try_str!(line);
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let policy = opt_ref!(policy).map(|p| &p.inner);
        match parse_line(line.as_bytes()) {
            Ok(parsed) => {
                let inner = Judgement::of(&v.inner, policy, &parsed);
                give_out!(out, nfh_verdict { inner })
            }
            Err(e) => set_error!(err, nfh_error::new(nfh_result::ParseError, e.to_string())),
        }
    })
}

/// Whether a verdict found nothing worse than info (false for NULL).
///
/// # Safety
/// `verdict` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_verdict_conforms(verdict: *const nfh_verdict) -> bool {
    boundary(|| try_ref!(verdict).inner.conforms())
}

/// The number of findings in a verdict (0 for NULL).
///
/// # Safety
/// `verdict` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_verdict_finding_count(verdict: *const nfh_verdict) -> usize {
    boundary(|| finding_count(Some(&try_ref!(verdict).inner)))
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
        let v = try_ref!(verdict);
        // SAFETY: forwarded caller contract (the same pointer arguments).
        unsafe { write_finding(Some(&v.inner), index, severity_out, buf, len, out_n) }
    })
}

/// Frees a verdict; NULL is a no-op.
///
/// # Safety
/// `verdict` must be NULL or a verdict not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_verdict_free(verdict: *mut nfh_verdict) {
    boundary(|| free!(verdict))
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
        let bytes = try_bytes!(buf, len);
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let (lines, errors) = parse_lines(bytes);
        give_out!(out, nfh_expectations { lines, errors })
    })
}

/// The number of parsed expectations (0 for NULL).
///
/// # Safety
/// `e` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_expectations_count(e: *const nfh_expectations) -> usize {
    boundary(|| try_ref!(e).lines.len())
}

/// The 1-based input line of expectation `index` (0 when out of range or NULL).
///
/// # Safety
/// `e` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_expectations_line_number(
    e: *const nfh_expectations,
    index: usize,
) -> usize {
    boundary(|| try_ref!(e).lines.get(index).map_or(0, |(n, _)| *n))
}

/// The number of lines that did not parse (0 for NULL).
///
/// # Safety
/// `e` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_expectations_error_count(e: *const nfh_expectations) -> usize {
    boundary(|| try_ref!(e).errors.len())
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
        let e = try_ref!(e);
        let Some(err) = e.errors.get(index) else {
            return nfh_result::InvalidParameter;
        };
        write_text!(&err.to_string(), buf, len, out_n)
    })
}

/// Frees parsed expectations; NULL is a no-op.
///
/// # Safety
/// `e` must be NULL or expectations not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_expectations_free(e: *mut nfh_expectations) {
    boundary(|| free!(e))
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
        let v = try_ref!(v);
        let e = try_ref!(e);
        let Some((_, line)) = e.lines.get(index) else {
            return nfh_result::InvalidParameter;
        };
        let policy = opt_ref!(policy).map(|p| &p.inner);
        put!(out, Judgement::conforms_of(&v.inner, policy, line))
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
        let v = try_ref!(v);
        let e = try_ref!(e);
        let Some((_, line)) = e.lines.get(index) else {
            return nfh_result::InvalidParameter;
        };
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let policy = opt_ref!(policy).map(|p| &p.inner);
        let inner = Judgement::of(&v.inner, policy, line);
        give_out!(out, nfh_verdict { inner })
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
        let v = try_ref!(verdict);
        // SAFETY: forwarded caller contract (the same pointer arguments).
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
    let r = write_text!(&format!("[{}] {}", f.code, f.message), buf, len, out_n);
    if r == nfh_result::Ok {
        put!(severity_out, nfh_severity::from_core(f.severity) as u32);
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
    write_text!(&text.join("\n"), buf, len, out_n)
}
