//! Glue shared by the wrappers: `repr` building, hashing, `ipaddress` networks, text and line
//! inputs, and conversions between Python objects and JSON values.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use netfilter_helpers_core::policy::Cidr;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};

use crate::error::{Error, Result};

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
        let mut buf = Vec::with_capacity(obj.len().unwrap_or(0).saturating_mul(200));
        for item in iter {
            let item = item?;
            let start = buf.len();
            if let Ok(b) = item.cast::<PyBytes>() {
                buf.extend_from_slice(b.as_bytes());
            } else if let Ok(s) = item.cast::<PyString>() {
                buf.extend_from_slice(s.encode_utf8()?.as_bytes());
            } else if let Ok(b) = item.cast::<PyByteArray>() {
                buf.extend_from_slice(&b.to_vec());
            } else {
                return Err(PyTypeError::new_err(format!(
                    "every line must be str or bytes, got {}",
                    item.get_type().name()?
                )));
            }
            if buf.len() == start || buf.last() != Some(&b'\n') {
                buf.push(b'\n');
            }
        }
        Ok(Lines::Owned(buf))
    }
}

/// Splits a buffer into lines at `\n`; a final empty piece (after a trailing newline) is not
/// a line.
pub(crate) fn split_lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', buf);
    std::iter::from_fn(move || {
        if start > buf.len() {
            return None;
        }
        match ends.next() {
            Some(end) => {
                let line = &buf[start..end];
                start = end + 1;
                Some(line)
            }
            None => {
                let line = &buf[start..];
                start = buf.len() + 1;
                (!line.is_empty()).then_some(line)
            }
        }
    })
}

/// Runs `f` over the lines of `buf` in parallel chunks (split at line boundaries) when the
/// buffer is large, and returns the per-chunk results in order.
pub(crate) fn par_chunks<T: Send>(buf: &[u8], f: impl Fn(&[u8]) -> T + Sync) -> Vec<T> {
    const MIN_CHUNK: usize = 1 << 20;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(buf.len() / MIN_CHUNK)
        .max(1);
    if threads == 1 {
        return vec![f(buf)];
    }
    let mut chunks = Vec::with_capacity(threads);
    let mut start = 0;
    for i in 1..threads {
        let target = (buf.len() * i / threads).max(start);
        let end = match memchr::memchr(b'\n', &buf[target..]) {
            Some(off) => target + off + 1,
            None => buf.len(),
        };
        chunks.push(&buf[start..end]);
        start = end;
    }
    chunks.push(&buf[start..]);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| s.spawn(move || f(chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
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

/// Converts a Python document (dicts, lists, str, int, float, bool, None; `ipaddress` objects
/// and this module's enums and values become their text) into a JSON value.
pub(crate) fn to_json(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<serde_json::Value> {
    use serde_json::Value;
    let py = obj.py();
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
            if path.is_empty() { "document" } else { path }
        )));
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
        let mut map = serde_json::Map::new();
        for (k, v) in d.iter() {
            let key = if let Ok(s) = k.cast::<PyString>() {
                s.to_cow()?.into_owned()
            } else if is_text_value(&k)? {
                k.str()?.to_cow()?.into_owned()
            } else {
                return Err(PyTypeError::new_err(format!(
                    "{}: keys must be str, got {}",
                    if path.is_empty() { "document" } else { path },
                    k.get_type().name()?
                )));
            };
            let child = to_json(&v, &json_path(path, &key))?;
            map.insert(key, child);
        }
        return Ok(Value::Object(map));
    }
    if obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok() {
        let mut out = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            out.push(to_json(&item?, &format!("{path}[{i}]"))?);
        }
        return Ok(Value::Array(out));
    }
    if let Ok(p) = obj.cast::<crate::conform::PyHelperPolicy>() {
        return serde_json::to_value(&p.get().0)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()));
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
    if let Ok(m) = obj.cast::<pyo3::types::PyMapping>() {
        let d = PyDict::new(py);
        for item in m.items()?.iter() {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
            d.set_item(k, v)?;
        }
        return to_json(d.as_any(), path);
    }
    Err(PyTypeError::new_err(format!(
        "{}: unsupported type {} (expected dict, list, str, int, float, bool, None or an ipaddress object)",
        if path.is_empty() { "document" } else { path },
        obj.get_type().name()?
    )))
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
    /// Text (JSON when it starts with `{`, TOML otherwise).
    Text(String),
    /// A Python document converted to JSON.
    Value(serde_json::Value),
}

impl Source {
    /// Reads a source argument.
    pub(crate) fn extract(obj: &Bound<'_, PyAny>) -> Result<Source> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Source::Text(s.to_cow()?.into_owned()));
        }
        if obj.cast::<PyBytes>().is_ok() {
            let TextArg(t) = obj.extract()?;
            return Ok(Source::Text(t));
        }
        if obj.cast::<PyDict>().is_ok() || obj.cast::<pyo3::types::PyMapping>().is_ok() {
            return Ok(Source::Value(to_json(obj, "")?));
        }
        Err(Error::Py(PyTypeError::new_err(format!(
            "expected TOML or JSON text or a dict, got {}",
            obj.get_type().name()?
        ))))
    }
}

/// Whether text is a JSON document rather than TOML (as `nfh` decides).
pub(crate) fn looks_like_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}
