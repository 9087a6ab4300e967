//! The helper catalogue, module options and the degree-of-freedom model.

use std::ffi::c_char;

use netfilter_helpers_core::dof::{Table, rule};
use netfilter_helpers_core::options::{ModuleOptions, OptionError, OptionsReport, Param};

use crate::enums::{nfh_expectation_kind, nfh_freedom, nfh_helper, nfh_severity, nfh_table_format};
use crate::ffi::{
    boundary, free, give, give_out, opt_ref, put, set_error, try_enum, try_mut, try_ref, try_str,
    write_numbers, write_text,
};
use crate::result::{nfh_error, nfh_result};

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

/// One kind of expectation a helper creates, under given options (`nfh_dof_rule`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct nfh_dof_rule_info {
    /// The kind of expectation: an `nfh_expectation_kind` number.
    pub kind: u32,
    /// The helper that creates it: an `nfh_helper` number.
    pub helper: u32,
    /// The expectation class number (`class=` in conntrack output).
    pub class_number: u8,
    /// Expectations created per announcement.
    pub count: u8,
    /// Flags set on creation (1 PERMANENT, 2 INACTIVE).
    pub flags: u32,
    /// How many expectations of this class one master connection may hold at once.
    pub max_expected: u32,
    /// Seconds an unused expectation lives.
    pub timeout: u32,
    /// Where the source address comes from.
    pub src_addr: nfh_freedom,
    /// Where the source port comes from.
    pub src_port: nfh_freedom,
    /// Where the destination address comes from.
    pub dst_addr: nfh_freedom,
    /// Where the destination port comes from.
    pub dst_port: nfh_freedom,
    /// Where the layer-4 protocol comes from.
    pub l4: nfh_freedom,
    /// Whether, with these options, the payload can open a hole (see `nfh_dof_rule_explain`).
    pub risky: bool,
}

/// Writes the number (`nfh_helper`) of every helper in the catalogue into `out`: on success
/// `*out_n` is the count written; on `NFH_RESULT_INSUFFICIENT_SIZE` it is the count needed
/// and nothing is written (call with `len` 0 to learn it).
///
/// # Safety
/// `out` must be NULL or point to `len` writable `uint32_t`s; `out_n` must point to a `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_helper_list(
    out: *mut u32,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let numbers: Vec<u32> = nfh_helper::ALL.iter().map(|h| *h as u32).collect();
        write_numbers!(&numbers, out, len, out_n)
    })
}

/// Writes the kernel name of a helper (`nfh_helper`: `"Q.931"` for `NFH_HELPER_Q931`) into
/// `buf`; `NFH_RESULT_INVALID_PARAMETER` for a number that is not a helper.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must point to a `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_helper_name(
    helper: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let h = try_enum!(nfh_helper, helper).to_core();
        write_text!(h.name(), buf, len, out_n)
    })
}

/// Module options at the kernel defaults. Free with `nfh_options_free`. NULL only if a panic
/// was caught.
#[unsafe(no_mangle)]
pub extern "C" fn nfh_options_new() -> *mut nfh_options {
    boundary(|| give(nfh_options::default()))
}

/// Frees options; NULL is a no-op.
///
/// # Safety
/// `opts` must be NULL or options not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_options_free(opts: *mut nfh_options) {
    boundary(|| free!(opts))
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
        let o = try_mut!(opts);
        let text = try_str!(assignment);
        match o.inner.set_assignment(text) {
            Ok(()) => nfh_result::Ok,
            Err(e) => {
                let code = match e {
                    OptionError::UnknownModule { .. } | OptionError::UnknownParameter { .. } => {
                        nfh_result::UnknownName
                    }
                    _ => nfh_result::InvalidValue,
                };
                set_error!(err, nfh_error::new(code, e.to_string()))
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
        let o = try_ref!(opts);
        let Ok(p) = try_str!(name).parse::<Param>() else {
            return nfh_result::UnknownName;
        };
        write_text!(&o.inner.get(p).to_string(), buf, len, out_n)
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
    boundary(|| write_text!(&try_ref!(opts).inner.render_modprobe(), buf, len, out_n))
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
        let text = try_str!(text);
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let report = ModuleOptions::from_modprobe(text);
        give_out!(out, nfh_options_report { inner: report })
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
    boundary(|| try_ref!(report).inner.findings.len())
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
        let Some(f) = try_ref!(report).inner.findings.get(index) else {
            return nfh_result::InvalidParameter;
        };
        if severity_out.is_null() || line.is_null() {
            return nfh_result::NullParameter;
        }
        let res = write_text!(&format!("[{}] {}", f.code, f.message), buf, len, out_n);
        if res == nfh_result::Ok {
            put!(severity_out, nfh_severity::from_core(f.severity) as u32);
            put!(line, f.line.unwrap_or(0));
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
    boundary(|| {
        give(nfh_options {
            inner: try_ref!(report).inner.options.clone(),
        })
    })
}

/// Frees a report; NULL is a no-op.
///
/// # Safety
/// `report` must be NULL or a report not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_options_report_free(report: *mut nfh_options_report) {
    boundary(|| free!(report))
}

/// The options in force: `opts`, or the kernel defaults for NULL.
fn options_or_defaults(opts: Option<&nfh_options>) -> std::borrow::Cow<'_, ModuleOptions> {
    opts.map_or_else(
        || std::borrow::Cow::Owned(ModuleOptions::new()),
        |o| std::borrow::Cow::Borrowed(&o.inner),
    )
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
        let format = try_enum!(nfh_table_format, format);
        let table = Table::build(&options_or_defaults(opt_ref!(opts)));
        let text = match format {
            nfh_table_format::Article => table.to_article_text(),
            nfh_table_format::Precise => table.to_precise_text(),
            nfh_table_format::Json => serde_json::to_string(&table.rows).unwrap_or_default(),
        };
        write_text!(&text, buf, len, out_n)
    })
}

/// Writes the number (`nfh_expectation_kind`) of every kind of expectation the model knows
/// into `out`, in table order: on success `*out_n` is the count written; on
/// `NFH_RESULT_INSUFFICIENT_SIZE` it is the count needed and nothing is written (call with
/// `len` 0 to learn it).
///
/// # Safety
/// `out` must be NULL or point to `len` writable `uint32_t`s; `out_n` must point to a `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_expectation_kind_list(
    out: *mut u32,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let numbers: Vec<u32> = nfh_expectation_kind::ALL
            .iter()
            .map(|k| *k as u32)
            .collect();
        write_numbers!(&numbers, out, len, out_n)
    })
}

/// Fills `*out` with the rule for an expectation kind (`nfh_expectation_kind`) under `opts`
/// (NULL: kernel defaults); `NFH_RESULT_INVALID_PARAMETER` for a number that is not a kind.
///
/// # Safety
/// `opts` NULL or live; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_dof_rule(
    opts: *const nfh_options,
    kind: u32,
    out: *mut nfh_dof_rule_info,
) -> nfh_result {
    boundary(|| {
        let c_kind = try_enum!(nfh_expectation_kind, kind);
        let r = rule(c_kind.to_core(), &options_or_defaults(opt_ref!(opts)));
        let helper = nfh_helper::from_core(r.helper)
            .expect("every core helper has a C number (tests/abi_numbers.rs)");
        let info = nfh_dof_rule_info {
            kind: c_kind as u32,
            helper: helper as u32,
            class_number: r.class.number(),
            count: r.count,
            flags: r.flags.bits(),
            max_expected: r.policy.max_expected,
            timeout: r.policy.timeout_secs,
            src_addr: nfh_freedom::from_core(r.freedoms.src_addr),
            src_port: nfh_freedom::from_core(r.freedoms.src_port),
            dst_addr: nfh_freedom::from_core(r.freedoms.dst_addr),
            dst_port: nfh_freedom::from_core(r.freedoms.dst_port),
            l4: nfh_freedom::from_core(r.freedoms.l4),
            risky: r.risk.is_some(),
        };
        put!(out, info)
    })
}

/// Writes an expectation kind's label (`ftp data`, `sip audio`) into `buf`.
///
/// # Safety
/// `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_dof_rule_label(
    kind: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let kind = try_enum!(nfh_expectation_kind, kind).to_core();
        let r = rule(kind, &ModuleOptions::new());
        write_text!(&format!("{} {}", r.helper, kind.label()), buf, len, out_n)
    })
}

/// Writes the explanation of an expectation kind's rule (`nfh_expectation_kind`) under
/// `opts` (NULL: defaults), one sentence per line, into `buf`.
///
/// # Safety
/// `opts` NULL or live; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_dof_rule_explain(
    opts: *const nfh_options,
    kind: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let kind = try_enum!(nfh_expectation_kind, kind).to_core();
        let text = rule(kind, &options_or_defaults(opt_ref!(opts)))
            .explain()
            .join("\n");
        write_text!(&text, buf, len, out_n)
    })
}
