//! Audits from C: `nfh_audit_host` reads a host (the live one, or a fixture tree) with the
//! shared hardened reader of `netfilter-helpers-host` and runs the audit `nfh audit` runs;
//! `nfh_audit_ruleset` and `nfh_audit_ruleset_with_site` audit ruleset texts the caller
//! read (the audit Python's `audit(..., ruleset=...)` runs). Given a site's rules
//! (`nfh_ruleset_from_site`), each adds the site's drift against the loaded ruleset.

use std::ffi::c_char;
use std::path::PathBuf;

use netfilter_helpers_core::audit::drift::SiteDriftError;
use netfilter_helpers_core::audit::{AuditFinding, AuditReport, HostSnapshot, audit_with_site};
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_core::ruleset::read_texts;
use netfilter_helpers_host::{HostError, HostOptions, read_host};

use crate::catalogue::nfh_options;
use crate::enums::nfh_severity;
use crate::expect::nfh_policy;
use crate::ffi::{
    boundary, free, give_out, opt_ref, set_error, try_bytes, try_ref, try_str, write_text,
};
use crate::result::{nfh_error, nfh_result};
use crate::ruleset::nfh_ruleset;

/// The result of an audit: findings in order, each with a stable code, a severity, a
/// subject, a message and, for ruleset findings, the rule's location and text. Immutable:
/// safe to share between threads.
#[derive(Debug)]
pub struct nfh_audit {
    report: AuditReport,
}

/// Flag of `nfh_audit_host`: read no ruleset (no `nft`, `iptables-save`, `ip` on the live
/// host; no ruleset files of a fixture tree): the host's options, kernel and expectation
/// table only. The number is fixed.
pub const NFH_AUDIT_NO_RULESET: u32 = 1;

/// Every flag `nfh_audit_host` knows.
const AUDIT_FLAGS: u32 = NFH_AUDIT_NO_RULESET;

/// The error of a site's drift: its rules cannot be rendered for the backend they are
/// compared in (`NFH_RESULT_RENDER_ERROR`).
fn drift_error(e: &SiteDriftError) -> nfh_error {
    let code = match e {
        SiteDriftError::Render(_) => nfh_result::RenderError,
        _ => nfh_result::ParseError,
    };
    nfh_error::new(code, format!("site: {e}"))
}

/// Audits a host, as `nfh audit` does. `root` NULL is the live host: `/` is read, and `nft -j
/// list ruleset`, `iptables-save`, `ip6tables-save` and `ip -j addr show` are run and the
/// expectation table is dumped over ctnetlink (falling back to `/proc` without
/// CAP_NET_ADMIN: a finding says so). A `root` directory is a copy of a host (`proc/`,
/// `sys/`, and at its top `nft-ruleset.json`, `iptables-save.txt`, `ip6tables-save.txt`,
/// `ip-addr.json`): files only, no command is run. Reading is hardened: no symlink out of
/// the root, FIFOs and special files refused without blocking, 256 MiB per file; what cannot
/// be read is a finding. `flags`: 0 or `NFH_AUDIT_NO_RULESET`. `site` (NULL: none): rules
/// from `nfh_ruleset_from_site`, whose drift against the loaded ruleset is added
/// (`drift-missing`, `drift-extra`). `policy` (NULL: none) judges the expectations.
///
/// Errors: `NFH_RESULT_INVALID_PARAMETER` for an unknown flag; `NFH_RESULT_NOT_AVAILABLE`
/// when `root` is not a directory; `NFH_RESULT_PARSE_ERROR` when the tree's `ip-addr.json`
/// or `nft-ruleset.json` is not what it claims to be; `NFH_RESULT_RENDER_ERROR` when the
/// site's rules cannot be rendered for the backend they are compared in. `*err` says which.
///
/// # Safety
/// `root` NULL or NUL-terminated; `site` and `policy` NULL or live; `out` writable; `err`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_host(
    root: *const c_char,
    flags: u32,
    site: *const nfh_ruleset,
    policy: *const nfh_policy,
    out: *mut *mut nfh_audit,
    err: *mut *mut nfh_error,
) -> nfh_result {
    boundary(|| {
        let mut options = if root.is_null() {
            HostOptions::live()
        } else {
            HostOptions::under(PathBuf::from(try_str!(root)))
        };
        if flags & !AUDIT_FLAGS != 0 {
            return nfh_result::InvalidParameter;
        }
        options.read_rulesets = flags & NFH_AUDIT_NO_RULESET == 0;
        let site = opt_ref!(site).map(|s| &s.rules);
        let policy = opt_ref!(policy).map(|p| &p.inner);
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let host = match read_host(&options) {
            Ok(h) => h,
            Err(e) => {
                let code = match e {
                    HostError::NotADirectory { .. } => nfh_result::NotAvailable,
                    _ => nfh_result::ParseError,
                };
                return set_error!(err, nfh_error::new(code, e.to_string()));
            }
        };
        match audit_with_site(&host.snapshot, policy, host.ruleset.as_ref(), site) {
            Ok(report) => give_out!(out, nfh_audit { report }),
            Err(e) => set_error!(err, drift_error(&e)),
        }
    })
}

/// Audits rulesets: `texts` holds `n_texts` NUL-terminated texts, each the output of
/// `nft -j list ruleset` (it starts with `{`) or of `iptables-save`/`ip6tables-save` (the
/// format is recognised per text). `kernel_release` (`"6.12.0"`, NULL when unknown) and
/// `opts` (NULL for the kernel defaults) describe the host. A text starting with `{` that is
/// not an nft JSON document is `NFH_RESULT_PARSE_ERROR` (with `*err`); anything inside the
/// documents the readers do not know is a finding, never a failure.
///
/// # Safety
/// `texts` NULL (with `n_texts` 0) or `n_texts` valid pointers to NUL-terminated strings;
/// `kernel_release` NULL or NUL-terminated; `opts` NULL or live; `out` writable; `err` NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_ruleset(
    texts: *const *const c_char,
    n_texts: usize,
    kernel_release: *const c_char,
    opts: *const nfh_options,
    out: *mut *mut nfh_audit,
    err: *mut *mut nfh_error,
) -> nfh_result {
    // SAFETY: forwarded caller contract; no site.
    unsafe {
        nfh_audit_ruleset_with_site(
            texts,
            n_texts,
            kernel_release,
            opts,
            std::ptr::null(),
            out,
            err,
        )
    }
}

/// `nfh_audit_ruleset`, plus the drift of a site against the rulesets: `site` (NULL: none)
/// holds the rules of `nfh_ruleset_from_site`; each rule it renders that is not loaded is a
/// `drift-missing` finding, each rule loaded in its table (nft) or its `PREFIX-*` chains
/// (iptables) that it does not render a `drift-extra` finding. A site whose rules cannot be
/// rendered for the backend they are compared in is `NFH_RESULT_RENDER_ERROR`.
///
/// # Safety
/// As `nfh_audit_ruleset`; `site` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_ruleset_with_site(
    texts: *const *const c_char,
    n_texts: usize,
    kernel_release: *const c_char,
    opts: *const nfh_options,
    site: *const nfh_ruleset,
    out: *mut *mut nfh_audit,
    err: *mut *mut nfh_error,
) -> nfh_result {
    boundary(|| {
        let pointers = try_bytes!(texts, n_texts);
        let mut owned = Vec::with_capacity(pointers.len());
        for p in pointers {
            owned.push(try_str!(*p));
        }
        let release = if kernel_release.is_null() {
            None
        } else {
            Some(try_str!(kernel_release))
        };
        let defaults = ModuleOptions::new();
        let options = opt_ref!(opts).map_or(&defaults, |o| &o.inner);
        let site = opt_ref!(site).map(|s| &s.rules);
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let rules = match read_texts(owned.iter().copied()) {
            Ok(r) => r,
            Err(e) => {
                return set_error!(err, nfh_error::new(nfh_result::ParseError, e.to_string()));
            }
        };
        let snap = HostSnapshot::from_options(release, options);
        match audit_with_site(&snap, None, Some(&rules), site) {
            Ok(report) => give_out!(out, nfh_audit { report }),
            Err(e) => set_error!(err, drift_error(&e)),
        }
    })
}

/// The number of findings (0 for NULL).
///
/// # Safety
/// `audit` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_finding_count(audit: *const nfh_audit) -> usize {
    boundary(|| try_ref!(audit).report.findings.len())
}

/// Whether any finding is a warning or an error (false for NULL): `nfh audit` exits 1.
///
/// # Safety
/// `audit` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_has_problems(audit: *const nfh_audit) -> bool {
    boundary(|| try_ref!(audit).report.has_problems())
}

/// The severity of finding `index` (`NFH_SEVERITY_INFO` for NULL or an index out of range).
///
/// # Safety
/// `audit` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_finding_severity(
    audit: *const nfh_audit,
    index: usize,
) -> nfh_severity {
    boundary(|| {
        opt_ref!(audit)
            .and_then(|a| a.report.findings.get(index))
            .map_or(nfh_severity::Info, |f| nfh_severity::from_core(f.severity))
    })
}

/// Writes one text of finding `index` into `buf`.
///
/// # Safety
/// `audit` live; `buf` NULL or `len` writable bytes; `out_n` valid.
unsafe fn finding_text(
    audit: *const nfh_audit,
    index: usize,
    pick: fn(&AuditFinding) -> &str,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let a = try_ref!(audit);
        let Some(f) = a.report.findings.get(index) else {
            return nfh_result::InvalidParameter;
        };
        write_text!(pick(f), buf, len, out_n)
    })
}

/// Writes the stable code of finding `index` (`related-accept-blanket`) into `buf`.
///
/// # Safety
/// `audit` live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_finding_code(
    audit: *const nfh_audit,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    // SAFETY: forwarded caller contract.
    unsafe { finding_text(audit, index, |f| f.code.as_str(), buf, len, out_n) }
}

/// Writes what finding `index` is about (a rule's location, `nf_conntrack_ftp.loose`, an
/// interface) into `buf`; control characters of what was read are escaped (`\x1b`).
///
/// # Safety
/// `audit` live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_finding_subject(
    audit: *const nfh_audit,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    // SAFETY: forwarded caller contract.
    unsafe { finding_text(audit, index, |f| &f.subject, buf, len, out_n) }
}

/// Writes what finding `index` found, in an administrator's words, into `buf`.
///
/// # Safety
/// `audit` live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_finding_message(
    audit: *const nfh_audit,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    // SAFETY: forwarded caller contract.
    unsafe { finding_text(audit, index, |f| &f.message, buf, len, out_n) }
}

/// Writes the text of the rule finding `index` is about into `buf` (empty when the finding
/// is not about a rule); control characters are escaped.
///
/// # Safety
/// `audit` live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_finding_rule(
    audit: *const nfh_audit,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        finding_text(
            audit,
            index,
            |f| f.rule.as_ref().map_or("", |r| r.text.as_str()),
            buf,
            len,
            out_n,
        )
    }
}

/// Writes the whole report as JSON (the document `nfh audit --json` prints) into `buf`.
///
/// # Safety
/// `audit` live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_json(
    audit: *const nfh_audit,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let a = try_ref!(audit);
        match serde_json::to_string(&a.report) {
            Ok(t) => write_text!(&t, buf, len, out_n),
            Err(_) => nfh_result::Panic,
        }
    })
}

/// Frees an audit; NULL is a no-op.
///
/// # Safety
/// `audit` must be NULL or an audit not freed before, no longer used by any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_audit_free(audit: *mut nfh_audit) {
    boundary(|| free!(audit))
}
