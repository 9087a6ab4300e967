//! Glue shared by the wrappers: `repr` building, hashing, `ipaddress` networks, text, line and
//! list inputs, conversions between Python objects and JSON values, the batch runner (the
//! core's `Judge` on a worker thread, interruptible) and the panic boundary.
//!
//! Limits, so that no input can crash the interpreter or make the module allocate what it was
//! not given:
//! * a document given as Python objects nests at most [`MAX_DOCUMENT_DEPTH`] levels and holds
//!   no reference cycle (both raise `SiteError`/`PolicyError` with the path);
//! * nothing is pre-allocated from `__len__`; a list argument holds at most [`MAX_ITEMS`]
//!   items, and an iterable of lines gathers at most [`MAX_BATCH_BYTES`] bytes (above either,
//!   `NetfilterHelpersError`);
//! * batches check for signals (Ctrl-C) every [`SIGNAL_INTERVAL`] while they run without the GIL;
//! * a panic is caught at the boundary and raised as `InternalError`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use netfilter_helpers_core::net::Cidr;
use netfilter_helpers_core::policy::PolicyError;
use netfilter_helpers_core::report::Problem;
use netfilter_helpers_core::site::SiteError;
use pyo3::conversion::FromPyObjectOwned;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple,
};

use crate::error::{Error, NetfilterHelpersError, Result};

/// Most levels of dicts and lists a site or policy given as Python objects may nest (the
/// root dict is level 1; a site needs 4, a policy 4).
pub(crate) const MAX_DOCUMENT_DEPTH: usize = 64;

/// Most items one list argument (`aggregate(networks)`, `Interface(attached=...)`, ...) or one
/// dict or list of a document may hold: 2**24.
pub(crate) const MAX_ITEMS: usize = 1 << 24;

/// Most bytes an iterable of lines is gathered into (1 GiB, newlines included); pass one
/// `bytes` buffer for more.
pub(crate) const MAX_BATCH_BYTES: usize = 1 << 30;

/// How often a batch running without the GIL takes it back to run Python's signal handlers.
pub(crate) const SIGNAL_INTERVAL: Duration = Duration::from_millis(50);

/// How many items of a Python iterable are read between two signal checks.
const ITEMS_PER_SIGNAL_CHECK: usize = 1 << 16;

/// Runs Python's signal handlers every [`ITEMS_PER_SIGNAL_CHECK`] items of an iterable read
/// from Rust (no bytecode runs there, so nothing else would notice Ctrl-C on an endless one).
pub(crate) fn check_signals_at(py: Python<'_>, item: usize) -> PyResult<()> {
    if item % ITEMS_PER_SIGNAL_CHECK == ITEMS_PER_SIGNAL_CHECK - 1 {
        py.check_signals()?;
    }
    Ok(())
}

/// Builds `Name(arg, key=value, ...)`.
pub(crate) struct Repr {
    out: String,
    first: bool,
}

impl Repr {
    pub(crate) fn new(name: &str) -> Repr {
        Repr {
            out: format!("{name}("),
            first: true,
        }
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push_str(", ");
        }
        self.first = false;
    }

    /// A positional argument, already in repr form.
    pub(crate) fn arg(mut self, repr: impl AsRef<str>) -> Repr {
        self.sep();
        self.out.push_str(repr.as_ref());
        self
    }

    /// A keyword argument, already in repr form.
    pub(crate) fn kw(mut self, key: &str, repr: impl AsRef<str>) -> Repr {
        self.sep();
        self.out.push_str(key);
        self.out.push('=');
        self.out.push_str(repr.as_ref());
        self
    }

    pub(crate) fn finish(mut self) -> String {
        self.out.push(')');
        self.out
    }
}

/// Python's repr of a string (quotes and escapes as Python writes them).
pub(crate) fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The repr of an optional value (`None` or the given repr).
pub(crate) fn opt_repr<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map_or_else(|| "None".to_string(), f)
}

/// The repr of a list.
pub(crate) fn list_repr<T>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> String) -> String {
    let parts: Vec<String> = items.into_iter().map(f).collect();
    format!("[{}]", parts.join(", "))
}

/// The repr of a bool.
pub(crate) fn bool_repr(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// A fresh hasher (for the hand-written `__hash__` of values whose core type has no `Hash`).
pub(crate) fn hasher() -> DefaultHasher {
    DefaultHasher::new()
}

/// A 64-bit hash of a value.
pub(crate) fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// A network as `ipaddress.IPv4Network` / `IPv6Network`.
pub(crate) fn cidr_out(py: Python<'_>, c: Cidr) -> PyResult<Bound<'_, PyAny>> {
    static IP_NETWORK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    IP_NETWORK
        .import(py, "ipaddress", "ip_network")?
        .call1((c.to_string(),))
}

/// Networks as `ipaddress` networks.
pub(crate) fn cidrs_out<'py>(py: Python<'py>, cs: &[Cidr]) -> PyResult<Vec<Bound<'py, PyAny>>> {
    cs.iter().map(|c| cidr_out(py, *c)).collect()
}

/// A network argument: an `ipaddress` network or address, or its text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CidrArg(pub(crate) Cidr);

impl<'a, 'py> FromPyObject<'a, 'py> for CidrArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let text = obj.str()?;
        let c: Cidr = text.to_cow()?.parse().map_err(Error::from)?;
        Ok(CidrArg(c))
    }
}

/// Text given as `str` or `bytes` (bytes must be UTF-8).
pub(crate) struct TextArg(pub(crate) String);

impl<'a, 'py> FromPyObject<'a, 'py> for TextArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(TextArg(s.to_cow()?.into_owned()));
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            return String::from_utf8(b.as_bytes().to_vec())
                .map(TextArg)
                .map_err(|e| {
                    pyo3::exceptions::PyUnicodeDecodeError::new_err(format!(
                        "not UTF-8 text: invalid byte at offset {}",
                        e.utf8_error().valid_up_to()
                    ))
                });
        }
        Err(PyTypeError::new_err(format!(
            "expected str or bytes, got {}",
            obj.get_type().name()?
        )))
    }
}

/// One line given as `str` or `bytes`.
pub(crate) struct LineArg<'py>(LineBytes<'py>);

enum LineBytes<'py> {
    Bytes(Bound<'py, PyBytes>),
    Owned(Vec<u8>),
}

impl LineArg<'_> {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            LineBytes::Bytes(b) => b.as_bytes(),
            LineBytes::Owned(v) => v,
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for LineArg<'py> {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(LineArg(LineBytes::Bytes(b.to_owned())));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(LineArg(LineBytes::Bytes(s.encode_utf8()?)));
        }
        if let Ok(b) = obj.cast::<PyByteArray>() {
            return Ok(LineArg(LineBytes::Owned(b.to_vec())));
        }
        Err(PyTypeError::new_err(format!(
            "expected str or bytes, got {}",
            obj.get_type().name()?
        )))
    }
}

/// Lines given as one text (`str` or `bytes`) or as an iterable of lines (each `str` or
/// `bytes`, with or without its newline): gathered into one buffer of newline-terminated
/// lines, so the work on them can run without the GIL.
pub(crate) enum Lines<'py> {
    /// A `bytes` object, used in place.
    Bytes(Bound<'py, PyBytes>),
    /// Gathered text.
    Owned(Vec<u8>),
}

impl Lines<'_> {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Lines::Bytes(b) => b.as_bytes(),
            Lines::Owned(v) => v,
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Lines<'py> {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Lines::Bytes(b.to_owned()));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Lines::Bytes(s.encode_utf8()?));
        }
        if let Ok(b) = obj.cast::<PyByteArray>() {
            return Ok(Lines::Owned(b.to_vec()));
        }
        let iter = obj.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "expected str, bytes or an iterable of lines, got {}",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        // Nothing is reserved from `__len__`: it may be anything (`range(10**12)`).
        let mut buf = Vec::new();
        for (i, item) in iter.enumerate() {
            check_signals_at(obj.py(), i)?;
            let item = item?;
            let encoded;
            let bytearray;
            let line: &[u8] = if let Ok(b) = item.cast::<PyBytes>() {
                b.as_bytes()
            } else if let Ok(s) = item.cast::<PyString>() {
                encoded = s.encode_utf8()?;
                encoded.as_bytes()
            } else if let Ok(b) = item.cast::<PyByteArray>() {
                bytearray = b.to_vec();
                &bytearray
            } else {
                return Err(PyTypeError::new_err(format!(
                    "every line must be str or bytes, got {}",
                    item.get_type().name()?
                )));
            };
            if buf.len().saturating_add(line.len()) >= MAX_BATCH_BYTES {
                return Err(NetfilterHelpersError::new_err(format!(
                    "lines: more than {MAX_BATCH_BYTES} bytes (MAX_BATCH_BYTES) with item {i}; pass one bytes buffer, or smaller batches"
                )));
            }
            buf.extend_from_slice(line);
            if line.last() != Some(&b'\n') {
                buf.push(b'\n');
            }
        }
        Ok(Lines::Owned(buf))
    }
}

/// Below this many bytes a batch runs on the calling thread (still without the GIL): it
/// takes well under a millisecond, less than starting a worker thread would.
const INLINE_BYTES: usize = 64 * 1024;

/// Below this many bytes per thread the core judges a batch on one thread.
const MIN_CHUNK: usize = 1 << 20;

/// How many threads the core's `Judge` spreads a batch of `bytes` bytes over: one below
/// 2 MiB, then one per MiB up to `available_parallelism`.
pub(crate) fn batch_threads(bytes: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(bytes / MIN_CHUNK)
        .max(1)
}

/// The number of lines of a buffer as the batches number them: its newlines, and one more
/// for an unterminated last line.
pub(crate) fn line_count(buf: &[u8]) -> usize {
    buf.iter().filter(|b| **b == b'\n').count()
        + usize::from(!buf.is_empty() && !buf.ends_with(b"\n"))
}

/// Runs a batch of the core's `Judge` over `bytes` bytes without the GIL, interruptibly.
///
/// `work` gets the stop flag to hand to the core (`Judge::judge_buffer_until`,
/// `Judge::count_buffer_until`). Unless the batch is small, it runs on a scoped worker
/// thread while the calling thread wakes every [`SIGNAL_INTERVAL`] to take the GIL and run
/// Python's signal handlers: when one raises (Ctrl-C raises `KeyboardInterrupt`), the flag is
/// set, the core stops at its next piece, the worker is joined, and that exception is
/// returned. A panic, in the worker or in the core's own threads, becomes `InternalError`
/// ([`guard`]).
pub(crate) fn run_batch<T: Send>(
    py: Python<'_>,
    bytes: usize,
    work: impl FnOnce(&AtomicBool) -> T + Send,
) -> Result<T> {
    py.detach(|| {
        guard(|| {
            let stop = AtomicBool::new(false);
            if bytes < INLINE_BYTES {
                return Ok(work(&stop));
            }
            std::thread::scope(|s| {
                let stop = &stop;
                let (done, finished) = std::sync::mpsc::sync_channel::<()>(1);
                let worker = s.spawn(move || {
                    let out = work(stop);
                    // The caller may have stopped listening (it was interrupted).
                    let _ = done.send(());
                    out
                });
                loop {
                    match finished.recv_timeout(SIGNAL_INTERVAL) {
                        // Finished, or unwinding from a panic (the sender is gone).
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                        Err(RecvTimeoutError::Timeout) => {
                            if let Err(e) = Python::attach(|py| py.check_signals()) {
                                stop.store(true, Ordering::Relaxed);
                                // What it did, or a panic, no longer matters: the exception
                                // raised by the handler wins.
                                let _ = worker.join();
                                return Err(Error::Py(e));
                            }
                        }
                    }
                }
                match worker.join() {
                    Ok(out) => Ok(out),
                    Err(payload) => std::panic::resume_unwind(payload),
                }
            })
        })
    })
}

/// Runs `f`, turning a panic into [`Error::Internal`] (raised as `InternalError`, a
/// `RuntimeError`) instead of pyo3's `PanicException`, which `except Exception` misses.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            Err(Error::Internal(what))
        }
    }
}

/// A list argument, read lazily from any iterable but `str` and `bytes`: nothing is reserved
/// from `__len__`, and more than [`MAX_ITEMS`] items raise `NetfilterHelpersError` (pyo3's own
/// `Vec` extraction reserves `__len__` items first, which aborts the process on
/// `range(10**12)`).
pub(crate) struct ListArg<T>(pub(crate) Vec<T>);

impl<T> Default for ListArg<T> {
    fn default() -> Self {
        ListArg(Vec::new())
    }
}

impl<'a, 'py, T: FromPyObjectOwned<'py>> FromPyObject<'a, 'py> for ListArg<T> {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyString>()
            || obj.is_instance_of::<PyBytes>()
            || obj.is_instance_of::<PyByteArray>()
        {
            return Err(PyTypeError::new_err(format!(
                "expected a list, got {}",
                obj.get_type().name()?
            )));
        }
        let mut out = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            if i == MAX_ITEMS {
                return Err(NetfilterHelpersError::new_err(format!(
                    "more than {MAX_ITEMS} items (MAX_ITEMS)"
                )));
            }
            check_signals_at(obj.py(), i)?;
            out.push(item?.extract::<T>().map_err(Into::into)?);
        }
        Ok(ListArg(out))
    }
}

/// The `ipaddress` classes whose text form a site or policy document takes.
fn ipaddress_types(py: Python<'_>) -> PyResult<&Bound<'_, PyTuple>> {
    static TYPES: PyOnceLock<Py<PyTuple>> = PyOnceLock::new();
    TYPES
        .get_or_try_init(py, || {
            let m = py.import("ipaddress")?;
            let names = [
                "IPv4Address",
                "IPv6Address",
                "IPv4Network",
                "IPv6Network",
                "IPv4Interface",
                "IPv6Interface",
            ];
            let types = names
                .iter()
                .map(|n| m.getattr(*n))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(PyTuple::new(py, types)?.unbind())
        })
        .map(|t| t.bind(py))
}

fn json_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Why a Python document could not become a JSON value.
pub(crate) enum DocError {
    /// Its shape: nested too deep, a reference cycle, too many items (path, message).
    Shape(String, String),
    /// A Python error on the way (unsupported type, a key that is no text, ...).
    Py(PyErr),
}

impl From<PyErr> for DocError {
    fn from(e: PyErr) -> Self {
        DocError::Py(e)
    }
}

fn doc_path(path: &str) -> &str {
    if path.is_empty() { "document" } else { path }
}

/// Converts a Python document (dicts and other mappings, lists, tuples, str, int, float,
/// bool, None; `ipaddress` objects and this module's enums and values become their text) into
/// a JSON value. It recurses at most [`MAX_DOCUMENT_DEPTH`] levels, and remembers every
/// container on the way down by identity, so a document nested too deep or containing itself
/// is an error naming the path where it does, never a stack overflow.
pub(crate) fn to_json(obj: &Bound<'_, PyAny>) -> std::result::Result<serde_json::Value, DocError> {
    ToJson { open: Vec::new() }.value(obj, "")
}

struct ToJson {
    /// The identities of the containers from the root down to the current one.
    open: Vec<usize>,
}

impl ToJson {
    /// Enters a container at `path`: refuses a cycle and a level beyond the limit.
    fn enter(&mut self, obj: &Bound<'_, PyAny>, path: &str) -> std::result::Result<(), DocError> {
        let id = obj.as_ptr() as usize;
        if self.open.contains(&id) {
            return Err(DocError::Shape(
                doc_path(path).to_string(),
                "the document contains itself here (a reference cycle); a site or policy must be a tree".to_string(),
            ));
        }
        if self.open.len() >= MAX_DOCUMENT_DEPTH {
            return Err(DocError::Shape(
                doc_path(path).to_string(),
                format!("nested more than {MAX_DOCUMENT_DEPTH} levels deep (MAX_DOCUMENT_DEPTH)"),
            ));
        }
        self.open.push(id);
        Ok(())
    }

    fn too_many(path: &str) -> DocError {
        DocError::Shape(
            doc_path(path).to_string(),
            format!("more than {MAX_ITEMS} items (MAX_ITEMS)"),
        )
    }

    fn key(k: &Bound<'_, PyAny>, path: &str) -> std::result::Result<String, DocError> {
        if let Ok(s) = k.cast::<PyString>() {
            return Ok(s.to_cow()?.into_owned());
        }
        if is_text_value(k)? {
            return Ok(k.str()?.to_cow()?.into_owned());
        }
        Err(PyTypeError::new_err(format!(
            "{}: keys must be str, got {}",
            doc_path(path),
            k.get_type().name()?
        ))
        .into())
    }

    /// The entries of a mapping, as a JSON object (the mapping is entered already).
    fn object<'py>(
        &mut self,
        items: impl Iterator<Item = PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)>>,
        path: &str,
    ) -> std::result::Result<serde_json::Value, DocError> {
        let mut map = serde_json::Map::new();
        for (i, item) in items.enumerate() {
            if i == MAX_ITEMS {
                return Err(Self::too_many(path));
            }
            let (k, v) = item?;
            check_signals_at(k.py(), i)?;
            let key = Self::key(&k, path)?;
            let child = self.value(&v, &json_path(path, &key))?;
            map.insert(key, child);
        }
        Ok(serde_json::Value::Object(map))
    }

    fn value(
        &mut self,
        obj: &Bound<'_, PyAny>,
        path: &str,
    ) -> std::result::Result<serde_json::Value, DocError> {
        use serde_json::Value;
        if obj.is_none() {
            return Ok(Value::Null);
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return Ok(Value::Bool(b.is_true()));
        }
        if obj.cast::<PyInt>().is_ok() {
            if let Ok(n) = obj.extract::<i64>() {
                return Ok(Value::from(n));
            }
            if let Ok(n) = obj.extract::<u64>() {
                return Ok(Value::from(n));
            }
            return Err(pyo3::exceptions::PyOverflowError::new_err(format!(
                "{}: integer too large",
                doc_path(path)
            ))
            .into());
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return Ok(serde_json::Number::from_f64(f.value())
                .map(Value::Number)
                .unwrap_or(Value::Null));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Value::String(s.to_cow()?.into_owned()));
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            self.enter(obj, path)?;
            // A snapshot of the entries: iterating the dict itself panics when Python code run
            // on the way (a key's `__str__`, a nested mapping's `items`) changes its size.
            let entries = d.items();
            let pairs = entries
                .iter()
                .map(|item| item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>());
            let out = self.object(pairs, path)?;
            self.open.pop();
            return Ok(out);
        }
        if obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok() {
            self.enter(obj, path)?;
            let mut out = Vec::new();
            for (i, item) in obj.try_iter()?.enumerate() {
                if i == MAX_ITEMS {
                    return Err(Self::too_many(path));
                }
                out.push(self.value(&item?, &format!("{path}[{i}]"))?);
            }
            self.open.pop();
            return Ok(Value::Array(out));
        }
        if let Ok(p) = obj.cast::<crate::conform::PyHelperPolicy>() {
            return serde_json::to_value(&p.get().0)
                .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()).into());
        }
        if let Ok(o) = obj.cast::<crate::options::PyModuleOptions>() {
            let mut map = serde_json::Map::new();
            for (p, v) in o.get().0.explicit() {
                map.insert(p.to_string(), Value::String(v.to_string()));
            }
            return Ok(Value::Object(map));
        }
        if is_text_value(obj)? {
            return Ok(Value::String(obj.str()?.to_cow()?.into_owned()));
        }
        if obj.cast::<PyMapping>().is_ok() {
            // Item by item: `PyMapping::items` would build a list sized by `__len__`.
            self.enter(obj, path)?;
            let items = obj.call_method0("items")?;
            let pairs = items
                .try_iter()?
                .map(|item| item.and_then(|i| i.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()));
            let out = self.object(pairs, path)?;
            self.open.pop();
            return Ok(out);
        }
        Err(PyTypeError::new_err(format!(
            "{}: unsupported type {} (expected dict, list, str, int, float, bool, None or an ipaddress object)",
            doc_path(path),
            obj.get_type().name()?
        ))
        .into())
    }
}

/// Whether an object stands for its text in documents: `ipaddress` objects and this module's
/// enums and text-like values.
fn is_text_value(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    use crate::enums::*;
    let py = obj.py();
    Ok(obj.is_instance(ipaddress_types(py)?)?
        || obj.is_instance_of::<PyHelper>()
        || obj.is_instance_of::<PyHelperModule>()
        || obj.is_instance_of::<PyFamily>()
        || obj.is_instance_of::<PyL4Proto>()
        || obj.is_instance_of::<PyExpectClass>()
        || obj.is_instance_of::<PyParam>()
        || obj.is_instance_of::<PyDirection>()
        || obj.is_instance_of::<PyRpFilter>()
        || obj.is_instance_of::<PyNameMatch>()
        || obj.is_instance_of::<PyUnknownInterfaces>()
        || obj.is_instance_of::<PyMode>()
        || obj.is_instance_of::<PyDefaultRule>()
        || obj.is_instance_of::<PyBackend>()
        || obj.is_instance_of::<crate::catalogue::PyHelperName>()
        || obj.is_instance_of::<crate::kernel::PyKernelVersion>())
}

/// Converts a JSON value into Python objects.
pub(crate) fn from_json<'py>(
    py: Python<'py>,
    v: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| from_json(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, from_json(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// A document source: TOML or JSON text, or a mapping.
pub(crate) enum Source {
    /// Text, TOML or JSON: the core tells which (`Site::from_text`, `SitePolicy::from_text`).
    Text(String),
    /// A Python document converted to JSON.
    Value(serde_json::Value),
}

/// What a document describes, for the error a badly shaped one raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    /// A site: `SiteError`.
    Site,
    /// A site policy: `PolicyError`.
    Policy,
}

impl Source {
    /// Reads a source argument; a mapping nested too deep, holding too many items or
    /// containing itself raises `SiteError` or `PolicyError` (per `kind`) with the path.
    pub(crate) fn extract(obj: &Bound<'_, PyAny>, kind: DocKind) -> Result<Source> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Source::Text(s.to_cow()?.into_owned()));
        }
        if obj.cast::<PyBytes>().is_ok() {
            let TextArg(t) = obj.extract()?;
            return Ok(Source::Text(t));
        }
        if obj.cast::<PyDict>().is_ok() || obj.cast::<PyMapping>().is_ok() {
            return match to_json(obj) {
                Ok(v) => Ok(Source::Value(v)),
                Err(DocError::Py(e)) => Err(Error::Py(e)),
                Err(DocError::Shape(path, message)) => {
                    let problems = vec![Problem { path, message }];
                    Err(match kind {
                        DocKind::Site => Error::Site(SiteError { problems }),
                        DocKind::Policy => Error::Policy(PolicyError {
                            syntax: true,
                            problems,
                        }),
                    })
                }
            };
        }
        Err(Error::Py(PyTypeError::new_err(format!(
            "expected TOML or JSON text or a dict, got {}",
            obj.get_type().name()?
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_as_the_batches_number_them() {
        assert_eq!(line_count(b""), 0);
        assert_eq!(line_count(b"\n"), 1);
        assert_eq!(line_count(b"a"), 1);
        assert_eq!(line_count(b"a\n\n"), 2);
        assert_eq!(line_count(b"a\nb"), 2);
        assert_eq!(batch_threads(0), 1);
        assert_eq!(batch_threads(MIN_CHUNK), 1);
        assert!(batch_threads(64 * MIN_CHUNK) >= 1);
    }

    #[test]
    fn run_batch_returns_what_the_work_returns_inline_and_on_a_worker() {
        Python::attach(|py| {
            let caller = std::thread::current().id();
            for (bytes, on_caller) in [(0, true), (INLINE_BYTES, false)] {
                let (n, id) = run_batch(py, bytes, |stop| {
                    assert!(!stop.load(Ordering::Relaxed));
                    // Long enough for the calling thread to check for signals a few times.
                    if !on_caller {
                        std::thread::sleep(3 * SIGNAL_INTERVAL);
                    }
                    (42, std::thread::current().id())
                })
                .unwrap();
                assert_eq!(n, 42);
                assert_eq!(id == caller, on_caller);
            }
        });
    }

    #[test]
    fn a_panic_is_an_internal_error_even_on_another_thread() {
        Python::attach(|py| {
            let e = guard::<()>(|| panic!("boom")).unwrap_err();
            assert!(matches!(&e, Error::Internal(m) if m == "boom"));
            for bytes in [0, INLINE_BYTES] {
                let e =
                    run_batch(py, bytes, |_| -> usize { panic!("worker {bytes}") }).unwrap_err();
                assert!(matches!(&e, Error::Internal(m) if *m == format!("worker {bytes}")));
                let err = PyErr::from(e);
                assert!(err.is_instance_of::<NetfilterHelpersError>(py));
                assert!(err.is_instance_of::<pyo3::exceptions::PyRuntimeError>(py));
                assert!(!err.is_instance_of::<pyo3::panic::PanicException>(py));
                assert_eq!(
                    err.get_type(py).name().unwrap().to_cow().unwrap(),
                    "InternalError"
                );
            }
        });
    }
}
