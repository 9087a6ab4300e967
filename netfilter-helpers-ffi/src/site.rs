//! Sites and rendering.

use std::ffi::c_char;

use netfilter_helpers_core::ir::Ruleset;
use netfilter_helpers_core::render::{Backend, render};
use netfilter_helpers_core::report::Problem;
use netfilter_helpers_core::site::Site;
use netfilter_helpers_core::synth::synthesize;

use crate::error::{nfh_error, nfh_result};
use crate::ffi::{
    boundary, boundary_or, give, obj, put, set_error, str_arg, take, tri, write_text,
};

/// Output formats of `nfh_site_render`. The numbers are fixed: new backends are added at the
/// end.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_backend {
    /// `iptables-restore -w --noflush` input, IPv4: nfh's own chains only (hook them with
    /// `NFH_BACKEND_IPTABLES_HOOKS`).
    Iptables = 0,
    /// `ip6tables-restore -w --noflush` input, IPv6: nfh's own chains only.
    Ip6tables = 1,
    /// `iptables`/`ip6tables` commands, in an idempotent shell script with the hooks.
    Commands = 2,
    /// An nftables script: nfh's own table, replaced atomically.
    Nft = 3,
    /// libnftables JSON.
    NftJson = 4,
    /// `sysctl.d` text.
    Sysctl = 5,
    /// `modprobe.d` text.
    Modprobe = 6,
    /// A shell script that adds the jumps into nfh's iptables chains (both families) unless
    /// they are there.
    IptablesHooks = 7,
    /// A shell script that removes nfh's iptables jumps and chains (both families).
    IptablesRemove = 8,
    /// An `nft -f` script that removes nfh's table.
    NftRemove = 9,
}

/// A validated site and the rules synthesised from it. Immutable: safe to share between
/// threads.
#[derive(Debug)]
pub struct nfh_site {
    rules: Ruleset,
    warnings: Vec<Problem>,
}

/// Reads a site from TOML or JSON text (`nfh_format`) and validates it. On failure `*err` (if
/// `err` is not NULL) lists every problem with its path (`nfh_error_problem`).
///
/// # Safety
/// `text` NUL-terminated; `out` writable; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_site_parse(
    text: *const c_char,
    format: u32,
    out: *mut *mut nfh_site,
    err: *mut *mut nfh_error,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let text = tri!(unsafe { str_arg(text) });
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let (parsed, code) = match format {
            0 => (Site::from_toml(text), nfh_result::ParseError),
            1 => (Site::from_json(text), nfh_result::ParseError),
            _ => return nfh_result::InvalidParameter,
        };
        let (valid, code) = match parsed {
            Ok(s) => (s.validate(), nfh_result::InvalidValue),
            Err(e) => (Err(e), code),
        };
        match valid {
            // SAFETY: checked non-NULL.
            Ok(v) => unsafe {
                put(
                    out,
                    give(nfh_site {
                        rules: synthesize(&v),
                        warnings: v.warnings,
                    }),
                )
            },
            Err(e) => {
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

/// Renders the site's rules for a backend (`nfh_backend`) into `buf`. Outputs can be large:
/// call with `len` 0 to learn the size.
///
/// # Safety
/// `site` live; `buf` NULL or `len` writable bytes; `out_n` valid; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_site_render(
    site: *const nfh_site,
    backend: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
    err: *mut *mut nfh_error,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let s = tri!(unsafe { obj(site) });
        let Some(b) = Backend::ALL.get(backend as usize).copied() else {
            return nfh_result::InvalidParameter;
        };
        match render(&s.rules, b) {
            // SAFETY: forwarded caller contract.
            Ok(text) => unsafe { write_text(&text, buf, len, out_n) },
            // SAFETY: forwarded caller contract.
            Err(e) => unsafe {
                set_error(err, nfh_error::new(nfh_result::RenderError, e.to_string()))
            },
        }
    })
}

/// The number of rules synthesised for the site (0 for NULL).
///
/// # Safety
/// `site` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_site_rule_count(site: *const nfh_site) -> usize {
    // SAFETY: forwarded caller contract.
    boundary_or(0, || {
        unsafe { obj(site) }.map_or(0, |s| s.rules.rule_count())
    })
}

/// The number of warnings the site's validation gave: risky but valid choices (0 for NULL).
///
/// # Safety
/// `site` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_site_warning_count(site: *const nfh_site) -> usize {
    // SAFETY: forwarded caller contract.
    boundary_or(0, || unsafe { obj(site) }.map_or(0, |s| s.warnings.len()))
}

/// Writes warning `index`'s path and message (`path: message`, as `nfh_error_problem` writes
/// a problem) into `buf`.
///
/// # Safety
/// `site` must be NULL or live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_site_warning(
    site: *const nfh_site,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let s = tri!(unsafe { obj(site) });
        let Some(w) = s.warnings.get(index) else {
            return nfh_result::InvalidParameter;
        };
        // SAFETY: forwarded caller contract.
        unsafe { write_text(&w.to_string(), buf, len, out_n) }
    })
}

/// Frees a site; NULL is a no-op.
///
/// # Safety
/// `site` must be NULL or a site not freed before, no longer used by any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_site_free(site: *mut nfh_site) {
    // SAFETY: forwarded caller contract.
    boundary_or((), || unsafe { take(site) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_numbers_are_positions_in_the_core_list() {
        let named = [
            (nfh_backend::Iptables, "iptables"),
            (nfh_backend::Ip6tables, "ip6tables"),
            (nfh_backend::Commands, "commands"),
            (nfh_backend::Nft, "nft"),
            (nfh_backend::NftJson, "nft-json"),
            (nfh_backend::Sysctl, "sysctl"),
            (nfh_backend::Modprobe, "modprobe"),
            (nfh_backend::IptablesHooks, "iptables-hooks"),
            (nfh_backend::IptablesRemove, "iptables-remove"),
            (nfh_backend::NftRemove, "nft-remove"),
        ];
        assert_eq!(named.len(), Backend::ALL.len());
        for (b, name) in named {
            assert_eq!(Backend::ALL[b as usize].name(), name);
        }
    }
}
