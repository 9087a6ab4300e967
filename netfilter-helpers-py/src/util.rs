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

use std::time::Duration;

use netfilter_helpers_core::net::Cidr;
use pyo3::conversion::FromPyObjectOwned;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::error::{Error, Result};
use crate::exceptions::NetfilterHelpersError;

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

/// Runs a batch of the core's `Judge` without the GIL, interruptibly, on the calling thread.
///
/// `work` gets the stop callback to hand to the core (`Judge::judge_buffer_until`,
/// `Judge::count_buffer_until`), which asks it before each piece it takes; the core decides how to split
/// the buffer and how many threads to use (`threads` 0). At most every [`SIGNAL_INTERVAL`]
/// the callback takes the GIL and runs Python's signal handlers: when one raises (Ctrl-C
/// raises `KeyboardInterrupt`) the core stops at once and that exception is returned. A
/// panic, in the core's threads included, becomes `InternalError` ([`guard`]).
pub(crate) fn run_batch<T>(
    py: Python<'_>,
    work: impl FnOnce(&mut dyn FnMut() -> bool) -> T + Send,
) -> Result<T>
where
    T: Send,
{
    py.detach(|| {
        guard(|| {
            let mut interrupted: Option<PyErr> = None;
            let mut last = std::time::Instant::now();
            let mut stop = || {
                if interrupted.is_some() {
                    return true;
                }
                if last.elapsed() >= SIGNAL_INTERVAL {
                    last = std::time::Instant::now();
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        interrupted = Some(e);
                        return true;
                    }
                }
                false
            };
            let out = work(&mut stop);
            match interrupted {
                Some(e) => Err(Error::Py(e)),
                None => Ok(out),
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_batch_returns_what_the_work_returns_on_the_calling_thread() {
        Python::attach(|py| {
            let caller = std::thread::current().id();
            let (n, id, asked) = run_batch(py, |stop| {
                // Long enough for the stop callback to check for signals.
                let mut asked = 0;
                for _ in 0..3 {
                    std::thread::sleep(SIGNAL_INTERVAL);
                    assert!(!stop());
                    asked += 1;
                }
                (42, std::thread::current().id(), asked)
            })
            .unwrap();
            assert_eq!((n, asked), (42, 3));
            assert_eq!(id, caller);
        });
    }

    #[test]
    fn a_panic_is_an_internal_error_even_on_another_thread() {
        Python::attach(|py| {
            let e = guard::<()>(|| panic!("boom")).unwrap_err();
            assert!(matches!(&e, Error::Internal(m) if m == "boom"));
            for n in [0, 1] {
                let e = run_batch(py, |_| -> usize {
                    if n == 0 {
                        panic!("worker {n}")
                    }
                    // As the core's threads do: the join hands the panic on.
                    std::thread::scope(|s| {
                        let h = s.spawn(|| -> usize { panic!("worker {n}") });
                        h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
                    })
                })
                .unwrap_err();
                assert!(matches!(&e, Error::Internal(m) if *m == format!("worker {n}")));
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
