//! Sites and rendering: a site is read, validated and turned into rules in one call; the
//! rules are then rendered for any backend.

use std::ffi::c_char;

use netfilter_helpers_core::doc::DocFormat;
use netfilter_helpers_core::ir::Ruleset;
use netfilter_helpers_core::render::render;
use netfilter_helpers_core::report::Problem;
use netfilter_helpers_core::site::Site;
use netfilter_helpers_core::synth::synthesize;

use crate::enums::{nfh_backend, nfh_doc_format};
use crate::ffi::{boundary, free, give_out, set_error, try_enum, try_ref, try_str, write_text};
use crate::result::{nfh_error, nfh_result};

/// The rules synthesised from a validated site, with the warnings its validation gave. Made
/// by `nfh_ruleset_from_site`, freed by `nfh_ruleset_free`. Immutable: safe to share between
/// threads.
#[derive(Debug)]
pub struct nfh_ruleset {
    pub(crate) rules: Ruleset,
    warnings: Vec<Problem>,
}

/// Reads a site from TOML or JSON text (`format`: an `nfh_doc_format` number), validates it
/// and synthesises its rules into `*out` (free them with `nfh_ruleset_free`). A site that
/// does not parse gives `NFH_RESULT_PARSE_ERROR`, one that is invalid
/// `NFH_RESULT_INVALID_VALUE`; either way `*err` (if `err` is not NULL) lists every problem
/// with its path (`nfh_error_problem`).
///
/// # Safety
/// `text` NUL-terminated; `out` writable; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_ruleset_from_site(
    text: *const c_char,
    format: u32,
    out: *mut *mut nfh_ruleset,
    err: *mut *mut nfh_error,
) -> nfh_result {
    boundary(|| {
        let text = try_str!(text);
        let format = try_enum!(nfh_doc_format, format);
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let parsed = match format.to_core() {
            DocFormat::Toml => Site::from_toml(text),
            DocFormat::Json => Site::from_json(text),
        };
        let (valid, code) = match parsed {
            Ok(s) => (s.validate(), nfh_result::InvalidValue),
            Err(e) => (Err(e), nfh_result::ParseError),
        };
        match valid {
            Ok(v) => give_out!(
                out,
                nfh_ruleset {
                    rules: synthesize(&v),
                    warnings: v.warnings,
                }
            ),
            Err(e) => {
                let problems = e
                    .problems
                    .iter()
                    .map(|p| (p.path.clone(), p.message.clone()));
                set_error!(err, nfh_error::with_problems(code, e.to_string(), problems))
            }
        }
    })
}

/// Renders the rules for a backend (`backend`: an `nfh_backend` number) into `buf`. Outputs
/// can be large: call with `len` 0 to learn the size. A backend the site's kernel cannot run
/// gives `NFH_RESULT_RENDER_ERROR` and, when `err` is not NULL, an error saying why.
///
/// # Safety
/// `rules` live; `buf` NULL or `len` writable bytes; `out_n` valid; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_ruleset_render(
    rules: *const nfh_ruleset,
    backend: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
    err: *mut *mut nfh_error,
) -> nfh_result {
    boundary(|| {
        let r = try_ref!(rules);
        let backend = try_enum!(nfh_backend, backend).to_core();
        match render(&r.rules, backend) {
            Ok(text) => write_text!(&text, buf, len, out_n),
            Err(e) => set_error!(err, nfh_error::new(nfh_result::RenderError, e.to_string())),
        }
    })
}

/// The number of rules synthesised (0 for NULL).
///
/// # Safety
/// `rules` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_ruleset_rule_count(rules: *const nfh_ruleset) -> usize {
    boundary(|| try_ref!(rules).rules.rule_count())
}

/// The number of warnings the site's validation gave: risky but valid choices (0 for NULL).
///
/// # Safety
/// `rules` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_ruleset_warning_count(rules: *const nfh_ruleset) -> usize {
    boundary(|| try_ref!(rules).warnings.len())
}

/// Writes the site's warning `index` (`path: message`, as `nfh_error_problem` writes a
/// problem) into `buf`.
///
/// # Safety
/// `rules` must be NULL or live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_ruleset_warning(
    rules: *const nfh_ruleset,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let Some(w) = try_ref!(rules).warnings.get(index) else {
            return nfh_result::InvalidParameter;
        };
        write_text!(&w.to_string(), buf, len, out_n)
    })
}

/// Frees rules; NULL is a no-op.
///
/// # Safety
/// `rules` must be NULL or rules not freed before, no longer used by any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_ruleset_free(rules: *mut nfh_ruleset) {
    boundary(|| free!(rules))
}
