//! Documents (sites and policies) given as Python objects: their conversion into the JSON
//! value the core reads (the binding's own values through a hook its caller passes, so that
//! this module imports no binding class), within limits (depth, cycles, item count; see `util.rs`), and JSON
//! values back into Python objects.

use netfilter_helpers_core::policy::PolicyError;
use netfilter_helpers_core::report::Problem;
use netfilter_helpers_core::site::SiteError;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};

use crate::error::{Error, Result};
use crate::util::{MAX_DOCUMENT_DEPTH, MAX_ITEMS, TextArg, check_signals_at};

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
/// bool, None; `ipaddress` objects become their text, the binding's values what `embedded`
/// makes of them) into
/// a JSON value. It recurses at most [`MAX_DOCUMENT_DEPTH`] levels, and remembers every
/// container on the way down by identity, so a document nested too deep or containing itself
/// is an error naming the path where it does, never a stack overflow.
pub(crate) fn to_json(
    obj: &Bound<'_, PyAny>,
    embedded: Embedded,
) -> std::result::Result<serde_json::Value, DocError> {
    ToJson {
        open: Vec::new(),
        embedded,
    }
    .value(obj, "")
}

/// Converts the binding's own values that may stand in a document (enum members, helper
/// names and kernel versions as their text, `ModuleOptions` as a table, a `HelperPolicy` in a
/// policy): `None` when the object is none of them. The caller passes it (see `values.rs`),
/// so that this module knows no binding class.
pub(crate) type Embedded = fn(&Bound<'_, PyAny>) -> Option<PyResult<serde_json::Value>>;

struct ToJson {
    /// The identities of the containers from the root down to the current one.
    open: Vec<usize>,
    /// Converts the values of the module that reads the document.
    embedded: Embedded,
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

    fn key(&self, k: &Bound<'_, PyAny>, path: &str) -> std::result::Result<String, DocError> {
        if let Ok(s) = k.cast::<PyString>() {
            return Ok(s.to_cow()?.into_owned());
        }
        // Keys that stand for their text: `ipaddress` objects, the binding's text-like values.
        if k.is_instance(ipaddress_types(k.py())?)? {
            return Ok(k.str()?.to_cow()?.into_owned());
        }
        if let Some(serde_json::Value::String(s)) = (self.embedded)(k).transpose()? {
            return Ok(s);
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
            let key = self.key(&k, path)?;
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
        if let Some(v) = (self.embedded)(obj) {
            return Ok(v?);
        }
        if obj.is_instance(ipaddress_types(obj.py())?)? {
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
    pub(crate) fn extract(
        obj: &Bound<'_, PyAny>,
        kind: DocKind,
        embedded: Embedded,
    ) -> Result<Source> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Source::Text(s.to_cow()?.into_owned()));
        }
        if obj.cast::<PyBytes>().is_ok() {
            let TextArg(t) = obj.extract()?;
            return Ok(Source::Text(t));
        }
        if obj.cast::<PyDict>().is_ok() || obj.cast::<PyMapping>().is_ok() {
            return match to_json(obj, embedded) {
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
