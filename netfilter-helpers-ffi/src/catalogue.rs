//! The helper catalogue, module options and the degree-of-freedom model.

use std::ffi::c_char;

use netfilter_helpers_core::catalogue::Helper;
use netfilter_helpers_core::dof::{Endpoint, ExpectationKind, Freedom, Table, rule};
use netfilter_helpers_core::options::{ModuleOptions, OptionsReport};
use netfilter_helpers_core::report::Severity;

use crate::error::{nfh_error, nfh_result};
use crate::ffi::{
    boundary, boundary_or, give, obj, obj_mut, put, set_error, str_arg, take, tri, write_text,
};

/// Module options: explicit values over the kernel defaults. Created with `nfh_options_new`,
/// freed with `nfh_options_free`. Not thread-safe while being changed; reading from several
/// threads is safe when nobody changes it.
#[derive(Debug, Clone, Default)]
pub struct nfh_options {
    pub(crate) inner: ModuleOptions,
}

/// The result of reading `modprobe.d` text: the options and every finding. Immutable.
#[derive(Debug)]
pub struct nfh_options_report {
    inner: OptionsReport,
}

/// How serious a finding is.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_severity {
    /// Noted, not a problem.
    Info = 0,
    /// Valid, but weakens the firewall, breaks the model or policy, or has no effect.
    Warning = 1,
    /// The kernel refuses it, or the kernel could not have made it.
    Error = 2,
}

pub(crate) fn severity(s: Severity) -> nfh_severity {
    match s {
        Severity::Info => nfh_severity::Info,
        Severity::Warning => nfh_severity::Warning,
        Severity::Error => nfh_severity::Error,
    }
}

/// Formats of the degree-of-freedom table.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_table_format {
    /// The 2012 article's keywords (Fixed, In CMD, Full, 0-65535, Iface Network).
    Article = 0,
    /// The precise codes (M(peer), P=M(sender), P, *, NET, H).
    Precise = 1,
    /// JSON: every rule with its freedoms, policy, notes and risk.
    Json = 2,
}

/// Where an expectation attribute comes from.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_freedom_kind {
    /// Copied from the master connection (see the endpoint).
    Master = 0,
    /// Parsed from the payload but required to equal the master's value (see the endpoint).
    PayloadChecked = 1,
    /// Parsed freely from the payload: forgeable.
    Payload = 2,
    /// Wildcard.
    Wildcard = 3,
    /// Any host of the interface's network.
    InterfaceNetwork = 4,
    /// The helper's registered port.
    HelperPort = 5,
    /// A protocol the helper always uses (see the protocol).
    Protocol = 6,
    /// The master connection's protocol.
    MasterProtocol = 7,
}

/// Endpoints of the master connection.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_endpoint {
    /// Not applicable.
    None = 0,
    /// The host that opened the master connection.
    Initiator = 1,
    /// The host it was opened to.
    Responder = 2,
    /// The host that sent the command.
    Sender = 3,
    /// The other end.
    Peer = 4,
}

/// One attribute's freedom.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nfh_freedom {
    /// An `nfh_freedom_kind` value.
    pub kind: u32,
    /// An `nfh_endpoint` value (for `MASTER` and `PAYLOAD_CHECKED`).
    pub endpoint: u32,
    /// The IP protocol number (for `PROTOCOL`), else 0.
    pub protocol: u8,
}

/// One kind of expectation a helper creates, under given options.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nfh_rule {
    /// Index of the creating helper (see `nfh_helper_name`).
    pub helper: usize,
    /// The expectation class number (`class=` in conntrack output).
    pub class_number: u8,
    /// Expectations created per announcement.
    pub count: u8,
    /// Flags set on creation (1 PERMANENT, 2 INACTIVE).
    pub flags: u32,
    /// Per-master limit.
    pub max_expected: u32,
    /// Lifetime in seconds.
    pub timeout: u32,
    /// Source address.
    pub src_addr: nfh_freedom,
    /// Source port.
    pub src_port: nfh_freedom,
    /// Destination address.
    pub dst_addr: nfh_freedom,
    /// Destination port.
    pub dst_port: nfh_freedom,
    /// Protocol.
    pub l4: nfh_freedom,
    /// Whether, with these options, the payload can open a hole (see `nfh_dof_rule_explain`).
    pub risky: bool,
}

fn freedom(f: Freedom) -> nfh_freedom {
    let ep = |e: Endpoint| match e {
        Endpoint::Initiator => nfh_endpoint::Initiator,
        Endpoint::Responder => nfh_endpoint::Responder,
        Endpoint::Sender => nfh_endpoint::Sender,
        Endpoint::Peer => nfh_endpoint::Peer,
    } as u32;
    let (kind, endpoint, protocol) = match f {
        Freedom::Master(e) => (nfh_freedom_kind::Master, ep(e), 0),
        Freedom::PayloadChecked(e) => (nfh_freedom_kind::PayloadChecked, ep(e), 0),
        Freedom::Payload => (nfh_freedom_kind::Payload, 0, 0),
        Freedom::Wildcard => (nfh_freedom_kind::Wildcard, 0, 0),
        Freedom::InterfaceNetwork => (nfh_freedom_kind::InterfaceNetwork, 0, 0),
        Freedom::HelperPort => (nfh_freedom_kind::HelperPort, 0, 0),
        Freedom::Protocol(p) => (nfh_freedom_kind::Protocol, 0, u8::from(p)),
        Freedom::MasterProtocol => (nfh_freedom_kind::MasterProtocol, 0, 0),
    };
    nfh_freedom {
        kind: kind as u32,
        endpoint,
        protocol,
    }
}

/// The number of helpers in the catalogue.
#[unsafe(no_mangle)]
pub extern "C" fn nfh_helper_count() -> usize {
    Helper::ALL.len()
}

/// Writes the kernel name of helper `index` (0 to `nfh_helper_count() - 1`) into `buf`.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must point to a `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_helper_name(
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| match Helper::ALL.get(index) {
        // SAFETY: forwarded caller contract.
        Some(h) => unsafe { write_text(h.name(), buf, len, out_n) },
        None => nfh_result::InvalidParameter,
    })
}

/// Module options at the kernel defaults. Free with `nfh_options_free`.
#[unsafe(no_mangle)]
pub extern "C" fn nfh_options_new() -> *mut nfh_options {
    boundary_or(std::ptr::null_mut(), || give(nfh_options::default()))
}

/// Frees options; NULL is a no-op.
///
/// # Safety
/// `opts` must be NULL or options not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_options_free(opts: *mut nfh_options) {
    // SAFETY: forwarded caller contract.
    boundary_or((), || unsafe { take(opts) })
}

/// Sets one option from `MODULE.PARAM=VALUE` text (`"ftp.loose=1"`,
/// `"nf_conntrack_sip.sip_direct_media=0"`). On failure the options are unchanged and, when
/// `err` is not NULL, `*err` receives an error naming the module, parameter, value and the
/// accepted range.
///
/// # Safety
/// `opts` must be live; `assignment` NUL-terminated; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_options_set(
    opts: *mut nfh_options,
    assignment: *const c_char,
    err: *mut *mut nfh_error,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let o = tri!(unsafe { obj_mut(opts) });
        // SAFETY: forwarded caller contract.
        let text = tri!(unsafe { str_arg(assignment) });
        match o.inner.set_assignment(text) {
            Ok(()) => nfh_result::Ok,
            Err(e) => {
                let code = match e {
                    netfilter_helpers_core::options::OptionError::UnknownModule { .. }
                    | netfilter_helpers_core::options::OptionError::UnknownParameter { .. } => {
                        nfh_result::UnknownName
                    }
                    _ => nfh_result::InvalidValue,
                };
                // SAFETY: forwarded caller contract.
                unsafe { set_error(err, nfh_error::new(code, e.to_string())) }
            }
        }
    })
}

/// Writes the value in force of `MODULE.PARAM` (`"ftp.loose"`) into `buf` as modprobe
/// accepts it (`1`, `21,2121`).
///
/// # Safety
/// `opts` must be live; `name` NUL-terminated; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_options_get(
    opts: *const nfh_options,
    name: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let o = tri!(unsafe { obj(opts) });
        // SAFETY: forwarded caller contract.
        let name = tri!(unsafe { str_arg(name) });
        let Ok(p) = name.parse::<netfilter_helpers_core::options::Param>() else {
            return nfh_result::UnknownName;
        };
        // SAFETY: forwarded caller contract.
        unsafe { write_text(&o.inner.get(p).to_string(), buf, len, out_n) }
    })
}

/// Writes the explicit settings as `modprobe.d` text into `buf`.
///
/// # Safety
/// `opts` must be live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_options_render_modprobe(
    opts: *const nfh_options,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let o = tri!(unsafe { obj(opts) });
        // SAFETY: forwarded caller contract.
        unsafe { write_text(&o.inner.render_modprobe(), buf, len, out_n) }
    })
}

/// Reads `modprobe.d` text: `*out` receives a report with the options and every finding
/// (free it with `nfh_options_report_free`). Findings are not failures: the call succeeds
/// for any UTF-8 text.
///
/// # Safety
/// `text` must be NUL-terminated; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_options_parse_modprobe(
    text: *const c_char,
    out: *mut *mut nfh_options_report,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let text = tri!(unsafe { str_arg(text) });
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let report = ModuleOptions::from_modprobe(text);
        // SAFETY: checked non-NULL; writable by the caller's contract.
        unsafe { put(out, give(nfh_options_report { inner: report })) }
    })
}

/// The number of findings in a report (0 for NULL).
///
/// # Safety
/// `report` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_options_report_finding_count(
    report: *const nfh_options_report,
) -> usize {
    // SAFETY: forwarded caller contract.
    boundary_or(0, || {
        unsafe { obj(report) }.map_or(0, |r| r.inner.findings.len())
    })
}

/// Reads finding `index`: its severity (`nfh_severity`), its 1-based line (0 when none) and
/// its text (`[code] message`) into `buf`. The outputs are written only on success.
///
/// # Safety
/// `report` must be live; `severity` and `line` writable; `buf` NULL or `len` writable
/// bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_options_report_finding(
    report: *const nfh_options_report,
    index: usize,
    severity_out: *mut u32,
    line: *mut usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        // SAFETY: forwarded caller contract.
        let r = tri!(unsafe { obj(report) });
        let Some(f) = r.inner.findings.get(index) else {
            return nfh_result::InvalidParameter;
        };
        if severity_out.is_null() || line.is_null() {
            return nfh_result::NullParameter;
        }
        // SAFETY: forwarded caller contract.
        let res = unsafe { write_text(&format!("[{}] {}", f.code, f.message), buf, len, out_n) };
        if res == nfh_result::Ok {
            // SAFETY: checked non-NULL; writable by the caller's contract.
            unsafe {
                *severity_out = severity(f.severity) as u32;
                *line = f.line.unwrap_or(0);
            }
        }
        res
    })
}

/// A copy of the options a report read (invalid settings left out). Free with
/// `nfh_options_free`. NULL when `report` is NULL.
///
/// # Safety
/// `report` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_options_report_options(
    report: *const nfh_options_report,
) -> *mut nfh_options {
    boundary_or(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller contract.
        match unsafe { obj(report) } {
            Ok(r) => give(nfh_options {
                inner: r.inner.options.clone(),
            }),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// Frees a report; NULL is a no-op.
///
/// # Safety
/// `report` must be NULL or a report not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_options_report_free(report: *mut nfh_options_report) {
    // SAFETY: forwarded caller contract.
    boundary_or((), || unsafe { take(report) })
}

/// Writes the degree-of-freedom table under `opts` (NULL: kernel defaults) in a format
/// (`nfh_table_format`) into `buf`.
///
/// # Safety
/// `opts` NULL or live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_dof_table(
    opts: *const nfh_options,
    format: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let defaults = ModuleOptions::new();
        // SAFETY: forwarded caller contract.
        let o = unsafe { opts.as_ref() }.map_or(&defaults, |o| &o.inner);
        let table = Table::build(o);
        let text = match format {
            0 => table.to_article_text(),
            1 => table.to_precise_text(),
            2 => serde_json::to_string(&table.rows).unwrap_or_default(),
            _ => return nfh_result::InvalidParameter,
        };
        // SAFETY: forwarded caller contract.
        unsafe { write_text(&text, buf, len, out_n) }
    })
}

/// The number of expectation kinds the model knows (rules are indexed 0 to this - 1).
#[unsafe(no_mangle)]
pub extern "C" fn nfh_dof_rule_count() -> usize {
    ExpectationKind::ALL.len()
}

fn kind_at(index: usize) -> Result<ExpectationKind, nfh_result> {
    ExpectationKind::ALL
        .get(index)
        .copied()
        .ok_or(nfh_result::InvalidParameter)
}

/// Fills `*out` with rule `index` under `opts` (NULL: kernel defaults).
///
/// # Safety
/// `opts` NULL or live; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_dof_rule(
    opts: *const nfh_options,
    index: usize,
    out: *mut nfh_rule,
) -> nfh_result {
    boundary(|| {
        let kind = tri!(kind_at(index));
        let defaults = ModuleOptions::new();
        // SAFETY: forwarded caller contract.
        let o = unsafe { opts.as_ref() }.map_or(&defaults, |o| &o.inner);
        let r = rule(kind, o);
        let helper = Helper::ALL.iter().position(|h| *h == r.helper).unwrap_or(0);
        let info = nfh_rule {
            helper,
            class_number: r.class.number(),
            count: r.count,
            flags: r.flags.bits(),
            max_expected: r.policy.max_expected,
            timeout: r.policy.timeout_secs,
            src_addr: freedom(r.freedoms.src_addr),
            src_port: freedom(r.freedoms.src_port),
            dst_addr: freedom(r.freedoms.dst_addr),
            dst_port: freedom(r.freedoms.dst_port),
            l4: freedom(r.freedoms.l4),
            risky: r.risk.is_some(),
        };
        // SAFETY: forwarded caller contract.
        unsafe { put(out, info) }
    })
}

/// Writes rule `index`'s label (`ftp data`, `sip audio`) into `buf`.
///
/// # Safety
/// `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_dof_rule_label(
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let kind = tri!(kind_at(index));
        let r = rule(kind, &ModuleOptions::new());
        // SAFETY: forwarded caller contract.
        unsafe { write_text(&format!("{} {}", r.helper, kind.label()), buf, len, out_n) }
    })
}

/// Writes rule `index`'s explanation under `opts` (NULL: defaults), one sentence per line,
/// into `buf`.
///
/// # Safety
/// `opts` NULL or live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_dof_rule_explain(
    opts: *const nfh_options,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let kind = tri!(kind_at(index));
        let defaults = ModuleOptions::new();
        // SAFETY: forwarded caller contract.
        let o = unsafe { opts.as_ref() }.map_or(&defaults, |o| &o.inner);
        let text = rule(kind, o).explain().join("\n");
        // SAFETY: forwarded caller contract.
        unsafe { write_text(&text, buf, len, out_n) }
    })
}
