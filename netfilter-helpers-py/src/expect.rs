//! Tuples, expectations, their text forms and their parsers.

use std::net::IpAddr;

use netfilter_helpers_core::expect::{ExpectFlags, Expectation, Tuple};
use netfilter_helpers_core::judge::{Detail, Judge};
use netfilter_helpers_core::net::{full_mask, zero_addr};
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_core::parse::{ParseError, ParseErrorKind, ParsedLine, parse_line};
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::enums::{
    L4Arg, PyEvent, PyFamily, PyFormat, PyParseErrorKind, enum_repr, l4_out, l4_repr,
};
use crate::error::Result;
use crate::repr::{Repr, bool_repr, opt_repr, str_repr};
use crate::util::{LineArg, Lines, guard, run_batch};

/// Expectation flags (`NF_CT_EXPECT_*`): combine with `|`, test with `in`.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "ExpectFlags")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PyExpectFlags(pub(crate) ExpectFlags);

#[pymethods]
impl PyExpectFlags {
    /// Flags from their bits (`ExpectFlags(0)` is no flag).
    #[new]
    #[pyo3(signature = (bits=0))]
    fn new(bits: u32) -> Self {
        PyExpectFlags(ExpectFlags::from_bits_retain(bits))
    }

    /// Not removed when a connection matches it.
    #[classattr]
    #[allow(non_snake_case)]
    fn PERMANENT() -> Self {
        PyExpectFlags(ExpectFlags::PERMANENT)
    }

    /// Never matched until activated (SIP signalling before the 2xx).
    #[classattr]
    #[allow(non_snake_case)]
    fn INACTIVE() -> Self {
        PyExpectFlags(ExpectFlags::INACTIVE)
    }

    /// Created from user space.
    #[classattr]
    #[allow(non_snake_case)]
    fn USERSPACE() -> Self {
        PyExpectFlags(ExpectFlags::USERSPACE)
    }

    /// The bits.
    #[getter]
    fn bits(&self) -> u32 {
        self.0.bits()
    }

    /// The text the kernel prints (`PERMANENT,INACTIVE`; empty when no flag is set).
    #[getter]
    fn kernel_text(&self) -> String {
        self.0.kernel_text()
    }

    fn __or__(&self, other: &Self) -> Self {
        PyExpectFlags(self.0 | other.0)
    }

    fn __and__(&self, other: &Self) -> Self {
        PyExpectFlags(self.0 & other.0)
    }

    fn __sub__(&self, other: &Self) -> Self {
        PyExpectFlags(self.0 - other.0)
    }

    fn __contains__(&self, other: &Self) -> bool {
        self.0.contains(other.0)
    }

    fn __bool__(&self) -> bool {
        !self.0.is_empty()
    }

    fn __int__(&self) -> u32 {
        self.0.bits()
    }

    fn __str__(&self) -> String {
        self.0.kernel_text()
    }

    fn __repr__(&self) -> String {
        flags_repr(self.0)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, PyType>, (u32,)) {
        (slf.get_type(), (slf.get().0.bits(),))
    }
}

fn flags_repr(f: ExpectFlags) -> String {
    let known = ExpectFlags::PERMANENT | ExpectFlags::INACTIVE | ExpectFlags::USERSPACE;
    if f.is_empty() || !known.contains(f) {
        return format!("ExpectFlags({})", f.bits());
    }
    let mut parts = Vec::new();
    for (flag, name) in [
        (ExpectFlags::PERMANENT, "PERMANENT"),
        (ExpectFlags::INACTIVE, "INACTIVE"),
        (ExpectFlags::USERSPACE, "USERSPACE"),
    ] {
        if f.contains(flag) {
            parts.push(format!("ExpectFlags.{name}"));
        }
    }
    parts.join(" | ")
}

fn addr_repr(a: IpAddr) -> String {
    str_repr(&a.to_string())
}

/// A connection tuple (addresses, ports or GRE keys, protocol), as the master connection's
/// ORIGINAL direction.
#[pyclass(
    frozen,
    eq,
    ord,
    hash,
    module = "netfilter_helpers",
    name = "ConnTuple"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PyConnTuple(pub(crate) Tuple);

pub(crate) fn tuple_repr(t: &Tuple) -> String {
    Repr::new("ConnTuple")
        .arg(addr_repr(t.src))
        .arg(t.sport.to_string())
        .arg(addr_repr(t.dst))
        .arg(t.dport.to_string())
        .arg(l4_repr(t.l4))
        .finish()
}

#[pymethods]
impl PyConnTuple {
    /// A tuple; both addresses must be of one family (TupleError otherwise).
    #[new]
    fn new(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, l4: L4Arg) -> Result<Self> {
        Ok(PyConnTuple(Tuple::new(src, sport, dst, dport, l4.0)?))
    }

    /// Source address.
    #[getter]
    fn src(&self) -> IpAddr {
        self.0.src
    }

    /// Destination address.
    #[getter]
    fn dst(&self) -> IpAddr {
        self.0.dst
    }

    /// Source port (or GRE key).
    #[getter]
    fn sport(&self) -> u16 {
        self.0.sport
    }

    /// Destination port (or GRE key).
    #[getter]
    fn dport(&self) -> u16 {
        self.0.dport
    }

    /// Layer-4 protocol (an `L4Proto`, or the number; 0 when a conntrack line did not show
    /// the master's protocol).
    #[getter]
    fn l4<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        l4_out(py, self.0.l4)
    }

    /// The family.
    #[getter]
    fn family(&self) -> PyFamily {
        self.0.family().into()
    }

    /// The tuple of the opposite direction.
    fn reversed(&self) -> Self {
        PyConnTuple(self.0.reversed())
    }

    fn __repr__(&self) -> String {
        tuple_repr(&self.0)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyType>, Bound<'py, pyo3::types::PyTuple>)> {
        let py = slf.py();
        let t = slf.get().0;
        let args = pyo3::types::PyTuple::new(
            py,
            [
                t.src.into_pyobject(py)?.into_any(),
                t.sport.into_pyobject(py)?.into_any(),
                t.dst.into_pyobject(py)?.into_any(),
                t.dport.into_pyobject(py)?.into_any(),
                u8::from(t.l4).into_pyobject(py)?.into_any(),
            ],
        )?;
        Ok((slf.get_type(), args))
    }
}

/// A conntrack expectation: the tuple a future connection must match, the source mask, the
/// master, helper, class and flags.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Expectation")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyExpectation(pub(crate) Expectation);

pub(crate) fn expectation_repr(e: &Expectation) -> String {
    let family = e.family();
    let mut r = Repr::new("Expectation")
        .arg(addr_repr(e.dst))
        .arg(e.dport.to_string())
        .arg(l4_repr(e.l4));
    let zero = zero_addr(family);
    if e.src_mask == full_mask(family) {
        r = r.kw("src", addr_repr(e.src));
    } else if !(e.src_mask == zero && e.src == zero) {
        r = r
            .kw("src", addr_repr(e.src))
            .kw("src_mask", addr_repr(e.src_mask));
    }
    if e.sport_mask == u16::MAX {
        r = r.kw("sport", e.sport.to_string());
    } else if !(e.sport_mask == 0 && e.sport == 0) {
        r = r
            .kw("sport", e.sport.to_string())
            .kw("sport_mask", e.sport_mask.to_string());
    }
    if let Some(m) = &e.master {
        r = r.kw("master", tuple_repr(m));
    }
    if let Some(h) = &e.helper {
        r = r.kw("helper", str_repr(h));
    }
    if e.class != 0 {
        r = r.kw("class_number", e.class.to_string());
    }
    if !e.flags.is_empty() {
        r = r.kw("flags", flags_repr(e.flags));
    }
    r.finish()
}

#[pymethods]
impl PyExpectation {
    /// An expectation: destination, destination port and protocol; a source address or port
    /// left out is a wildcard; `src_mask` and `sport_mask` override the masks.
    #[new]
    #[pyo3(signature = (dst, dport, l4, *, src=None, sport=None, src_mask=None, sport_mask=None, master=None, helper=None, class_number=0, flags=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        dst: IpAddr,
        dport: u16,
        l4: L4Arg,
        src: Option<IpAddr>,
        sport: Option<u16>,
        src_mask: Option<IpAddr>,
        sport_mask: Option<u16>,
        master: Option<PyRef<'_, PyConnTuple>>,
        helper: Option<String>,
        class_number: u8,
        flags: Option<PyRef<'_, PyExpectFlags>>,
    ) -> Result<Self> {
        let mut e = Expectation::new(src, sport, dst, dport, l4.0)?;
        if let Some(m) = src_mask {
            e = e.with_src_mask(m)?;
        }
        if let Some(m) = sport_mask {
            e.sport_mask = m;
        }
        if let Some(m) = master {
            e = e.with_master(m.0);
        }
        match helper {
            Some(h) => e = e.with_helper(&h, class_number),
            None => e.class = class_number,
        }
        if let Some(f) = flags {
            e = e.with_flags(f.0);
        }
        Ok(PyExpectation(e))
    }

    /// Source address (the zero address when wildcarded).
    #[getter]
    fn src(&self) -> IpAddr {
        self.0.src
    }

    /// Mask on the source address.
    #[getter]
    fn src_mask(&self) -> IpAddr {
        self.0.src_mask
    }

    /// Source port or GRE key (zero when wildcarded).
    #[getter]
    fn sport(&self) -> u16 {
        self.0.sport
    }

    /// Mask on the source port (0 wildcard, 65535 exact).
    #[getter]
    fn sport_mask(&self) -> u16 {
        self.0.sport_mask
    }

    /// Destination address.
    #[getter]
    fn dst(&self) -> IpAddr {
        self.0.dst
    }

    /// Destination port or GRE key.
    #[getter]
    fn dport(&self) -> u16 {
        self.0.dport
    }

    /// Layer-4 protocol (an `L4Proto`, or the number).
    #[getter]
    fn l4<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        l4_out(py, self.0.l4)
    }

    /// The master connection's ORIGINAL tuple, when known.
    #[getter]
    fn master(&self) -> Option<PyConnTuple> {
        self.0.master.map(PyConnTuple)
    }

    /// The helper name the kernel prints (`ftp`, `sip-1`).
    #[getter]
    fn helper(&self) -> Option<&str> {
        self.0.helper.as_deref()
    }

    /// The expectation class number (`class=`).
    #[getter]
    fn class_number(&self) -> u8 {
        self.0.class
    }

    /// The flags.
    #[getter]
    fn flags(&self) -> PyExpectFlags {
        PyExpectFlags(self.0.flags)
    }

    /// The family.
    #[getter]
    fn family(&self) -> PyFamily {
        self.0.family().into()
    }

    /// Whether the source address is a full wildcard.
    fn src_addr_wildcard(&self) -> bool {
        self.0.src_addr_wildcard()
    }

    /// Whether the source port is a wildcard.
    fn src_port_wildcard(&self) -> bool {
        self.0.src_port_wildcard()
    }

    /// The line `/proc/net/nf_conntrack_expect` shows.
    #[pyo3(signature = (timeout=None, policy_name=None))]
    fn to_proc_line(&self, timeout: Option<u32>, policy_name: Option<&str>) -> String {
        self.0.to_proc_line(timeout, policy_name)
    }

    /// The line `conntrack -L expect` prints.
    #[pyo3(signature = (timeout=None))]
    fn to_conntrack_line(&self, timeout: Option<u32>) -> String {
        self.0.to_conntrack_line(timeout)
    }

    fn __str__(&self) -> String {
        self.0.to_conntrack_line(None)
    }

    fn __repr__(&self) -> String {
        expectation_repr(&self.0)
    }
}

/// One parsed expectation line.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "ParsedLine")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyParsedLine(pub(crate) ParsedLine);

pub(crate) fn parsed_repr(p: &ParsedLine) -> String {
    let mut r = Repr::new("ParsedLine")
        .arg(expectation_repr(&p.expectation))
        .arg(enum_repr(PyFormat::from(p.format)));
    if let Some(e) = p.event {
        r = r.kw("event", enum_repr(PyEvent::from(e)));
    }
    if let Some(t) = p.timeout {
        r = r.kw("timeout", t.to_string());
    }
    if let Some(n) = &p.policy_name {
        r = r.kw("policy_name", str_repr(n));
    }
    if p.master_l4_known {
        r = r.kw("master_l4_known", bool_repr(true));
    }
    if let Some(z) = p.zone {
        r = r.kw("zone", z.to_string());
    }
    r.finish()
}

#[pymethods]
impl PyParsedLine {
    #[new]
    #[pyo3(signature = (expectation, format, *, event=None, timeout=None, policy_name=None, master_l4_known=false, zone=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        expectation: PyRef<'_, PyExpectation>,
        format: PyFormat,
        event: Option<PyEvent>,
        timeout: Option<u32>,
        policy_name: Option<String>,
        master_l4_known: bool,
        zone: Option<u16>,
    ) -> Self {
        PyParsedLine(ParsedLine {
            format: format.into(),
            event: event.map(Into::into),
            timeout,
            policy_name,
            master_l4_known,
            zone,
            expectation: expectation.0.clone(),
        })
    }

    /// The format the line was in.
    #[getter]
    fn format(&self) -> PyFormat {
        self.0.format.into()
    }

    /// The event, for `conntrack -E` lines.
    #[getter]
    fn event(&self) -> Option<PyEvent> {
        self.0.event.map(Into::into)
    }

    /// Remaining seconds (None for `-`).
    #[getter]
    fn timeout(&self) -> Option<u32> {
        self.0.timeout
    }

    /// The policy name after `/` in `/proc` lines (`audio`).
    #[getter]
    fn policy_name(&self) -> Option<&str> {
        self.0.policy_name.as_deref()
    }

    /// Whether the master's protocol was printed or inferred.
    #[getter]
    fn master_l4_known(&self) -> bool {
        self.0.master_l4_known
    }

    /// The zone, when printed.
    #[getter]
    fn zone(&self) -> Option<u16> {
        self.0.zone
    }

    /// The expectation.
    #[getter]
    fn expectation(&self) -> PyExpectation {
        PyExpectation(self.0.expectation.clone())
    }

    fn __repr__(&self) -> String {
        parsed_repr(&self.0)
    }
}

/// What is wrong with one line of a batch (the value form of `ParseError`).
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "LineError")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyLineError {
    /// 1-based line number (0 when a single line was parsed).
    pub(crate) line: usize,
    /// What is wrong.
    pub(crate) kind: PyParseErrorKind,
    /// The field concerned (`MISSING` and `INVALID`).
    pub(crate) field: Option<String>,
    /// Up to 40 characters of the offending token or line.
    pub(crate) near: String,
    /// The whole message.
    pub(crate) message: String,
}

impl PyLineError {
    pub(crate) fn from_core(e: &ParseError) -> PyLineError {
        let (kind, field) = match &e.kind {
            ParseErrorKind::Empty => (PyParseErrorKind::EMPTY, None),
            ParseErrorKind::TooLong => (PyParseErrorKind::TOO_LONG, None),
            ParseErrorKind::Missing(f) => (PyParseErrorKind::MISSING, Some(f.to_string())),
            ParseErrorKind::Invalid(f) => (PyParseErrorKind::INVALID, Some(f.to_string())),
            ParseErrorKind::FamilyMismatch => (PyParseErrorKind::FAMILY_MISMATCH, None),
            ParseErrorKind::Trailing => (PyParseErrorKind::TRAILING, None),
            _ => (PyParseErrorKind::INVALID, None),
        };
        PyLineError {
            line: e.line,
            kind,
            field,
            near: e.near.clone(),
            message: e.to_string(),
        }
    }
}

#[pymethods]
impl PyLineError {
    #[new]
    #[pyo3(signature = (line, kind, near, message, *, field=None))]
    fn new(
        line: usize,
        kind: PyParseErrorKind,
        near: String,
        message: String,
        field: Option<String>,
    ) -> Self {
        PyLineError {
            line,
            kind,
            field,
            near,
            message,
        }
    }

    /// 1-based line number (0 when a single line was parsed).
    #[getter]
    fn line(&self) -> usize {
        self.line
    }

    /// What is wrong.
    #[getter]
    fn kind(&self) -> PyParseErrorKind {
        self.kind
    }

    /// The field concerned, for `MISSING` and `INVALID`.
    #[getter]
    fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// Up to 40 characters of the offending token or line.
    #[getter]
    fn near(&self) -> &str {
        &self.near
    }

    /// The whole message (`line 2: missing field dst (near "")`).
    #[getter]
    fn message(&self) -> &str {
        &self.message
    }

    fn __str__(&self) -> &str {
        &self.message
    }

    fn __repr__(&self) -> String {
        Repr::new("LineError")
            .arg(self.line.to_string())
            .arg(enum_repr(self.kind))
            .arg(str_repr(&self.near))
            .arg(str_repr(&self.message))
            .kw("field", opt_repr(self.field.as_deref(), str_repr))
            .finish()
    }
}

/// Parses one expectation line in either format (`/proc` or `conntrack`); raises ParseError.
#[pyfunction(name = "parse_line")]
pub(crate) fn py_parse_line(line: LineArg<'_>) -> Result<PyParsedLine> {
    guard(|| Ok(PyParsedLine(parse_line(line.as_bytes())?)))
}

/// What `parse_lines` returns: `(line number, ParsedLine)` pairs and the line errors.
type ParsedLines = (Vec<(usize, PyParsedLine)>, Vec<PyLineError>);

/// Parses many lines (one text, or an iterable of lines) without holding the GIL: returns
/// `(parsed, errors)`, `parsed` as `(line number, ParsedLine)` pairs. Blank lines and the
/// `conntrack` summary line are skipped. Large inputs are parsed in parallel; Ctrl-C stops it.
///
/// The lines go through the core's `Judge` (kernel-default options, no policy), the one
/// place that splits a buffer into lines and spreads it over threads; only the parsed lines
/// are kept.
#[pyfunction(name = "parse_lines")]
pub(crate) fn py_parse_lines(py: Python<'_>, lines: Lines<'_>) -> Result<ParsedLines> {
    static PARSER: std::sync::OnceLock<Judge> = std::sync::OnceLock::new();
    let buf = lines.as_bytes();
    let (ok, bad) = run_batch(py, |stop| {
        let judge = PARSER.get_or_init(|| Judge::new(&ModuleOptions::new(), None));
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        judge.judge_buffer_until(buf, 0, Detail::Findings, stop, |r| match r.outcome {
            Ok((p, _)) => ok.push((r.line, PyParsedLine(p))),
            Err(e) => bad.push(e),
        });
        (ok, bad)
    })?;
    Ok((ok, bad.iter().map(PyLineError::from_core).collect()))
}
