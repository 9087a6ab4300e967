//! `Watch`: the kernel's live expectations over ctnetlink as a Python iterator, judged by a
//! `Validator` (and deleted when they do not conform, with `enforce=True`); `WatchEvent`.
//!
//! The waiting happens with the GIL released, a tenth of a second at a time, and the calling
//! thread takes the GIL back between waits to run signal handlers: Ctrl-C stops a `for` loop
//! over a `Watch`. Everything else (subscribing, dumping, deduplicating, judging, deleting) is
//! `netfilter_helpers_netlink::Watcher::poll_judged`'s.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use netfilter_helpers_core::judge::Judge;
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_netlink::{
    Deletion, Error as NetlinkError, Event, Judged, WatchOptions, Watcher,
};
use pyo3::exceptions::{PyOSError, PyPermissionError};
use pyo3::prelude::*;

use crate::conform::PyValidator;
use crate::expect::PyExpectation;

fn py_error(e: &NetlinkError) -> PyErr {
    match e {
        NetlinkError::PermissionDenied { .. } => PyPermissionError::new_err(e.to_string()),
        _ => PyOSError::new_err(e.to_string()),
    }
}

/// Watches the kernel's expectations in a network namespace (`netns`, a path such as
/// `/run/netns/fw`; default: this process's) as they are created and destroyed, judging each
/// with `validator` (default: kernel-default options, no policy); with `enforce=True` those
/// that do not conform are deleted at once. Iterate it for `WatchEvent`s: the expectations of
/// the table first, then new and destroyed ones. Needs CAP_NET_ADMIN (`PermissionError`);
/// `OSError` when the namespace or ctnetlink is missing. `stop()` (from any thread) ends the
/// iteration.
#[pyclass(frozen, module = "netfilter_helpers", name = "Watch")]
pub(crate) struct PyWatch {
    watcher: Mutex<Watcher>,
    judge: Judge,
    enforce: bool,
    stop: Arc<AtomicBool>,
}

/// One event of a `Watch`.
#[pyclass(frozen, module = "netfilter_helpers", name = "WatchEvent")]
pub(crate) struct PyWatchEvent {
    kind: &'static str,
    id: Option<u32>,
    conforms: bool,
    deletion: Option<String>,
    expectation: Option<Expectation>,
    findings: Vec<String>,
    text: String,
}

type Expectation = netfilter_helpers_core::expect::Expectation;

impl PyWatchEvent {
    fn of(j: Judged) -> PyWatchEvent {
        let (kind, message) = match &j.event {
            Event::Existing(m) => ("existing", Some(m)),
            Event::New(m) => ("new", Some(m)),
            Event::Destroyed(m) => ("destroyed", Some(m)),
            Event::Lost => ("lost", None),
            _ => ("malformed", None),
        };
        let text = match &j.event {
            Event::Malformed(e) => e.to_string(),
            Event::Lost => {
                "the kernel dropped expectation events; the table was read again".to_string()
            }
            _ => message
                .map(|m| m.expectation().to_conntrack_line(m.line.timeout))
                .unwrap_or_default(),
        };
        let conforms = match (&j.event, &j.judgement) {
            (Event::Malformed(_), _) => false,
            (_, Some(judgement)) => judgement.conforms(),
            (_, None) => true,
        };
        PyWatchEvent {
            kind,
            id: message.and_then(|m| m.id),
            conforms,
            deletion: j.deletion.as_ref().map(|d| match d {
                Ok(Deletion::Deleted) => "deleted".to_string(),
                Ok(Deletion::Gone) => "gone".to_string(),
                Err(e) => format!("failed: {e}"),
            }),
            expectation: message.map(|m| m.expectation().clone()),
            findings: j
                .judgement
                .iter()
                .flat_map(|j| j.findings())
                .map(ToString::to_string)
                .collect(),
            text,
        }
    }
}

#[pymethods]
impl PyWatchEvent {
    /// `"existing"`, `"new"`, `"destroyed"`, `"lost"` (events dropped, table read again) or
    /// `"malformed"` (a message that does not decode; `text` says why).
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// The kernel's id of the expectation, if the event carries one.
    #[getter]
    fn id(&self) -> Option<u32> {
        self.id
    }

    /// Whether the expectation conforms to the model and the policy (True for events that are
    /// not judged, False for malformed messages).
    #[getter]
    fn conforms(&self) -> bool {
        self.conforms
    }

    /// With `enforce=True`: `"deleted"`, `"gone"` (a connection used it first, or it expired)
    /// or `"failed: <why>"`; otherwise None.
    #[getter]
    fn deletion(&self) -> Option<String> {
        self.deletion.clone()
    }

    /// The expectation, for existing, new and destroyed events.
    #[getter]
    fn expectation(&self) -> Option<PyExpectation> {
        self.expectation.clone().map(PyExpectation)
    }

    /// The findings of the model and the policy, as text.
    #[getter]
    fn findings(&self) -> Vec<String> {
        self.findings.clone()
    }

    /// The expectation as `conntrack -L expect` prints it, or what happened.
    #[getter]
    fn text(&self) -> String {
        self.text.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "<WatchEvent {} id={} conforms={} deletion={:?}: {}>",
            self.kind,
            self.id
                .map_or_else(|| "None".to_string(), |i| i.to_string()),
            if self.conforms { "True" } else { "False" },
            self.deletion,
            self.text
        )
    }
}

#[pymethods]
impl PyWatch {
    #[new]
    #[pyo3(signature = (validator=None, *, netns=None, enforce=false))]
    fn new(
        py: Python<'_>,
        validator: Option<PyRef<'_, PyValidator>>,
        netns: Option<PathBuf>,
        enforce: bool,
    ) -> PyResult<Self> {
        let judge = validator.map_or_else(
            || Judge::new(&ModuleOptions::new(), None),
            |v| v.judge().clone(),
        );
        let options = match netns {
            Some(p) => WatchOptions::in_netns(p),
            None => WatchOptions::default(),
        };
        let watcher = py
            .detach(|| Watcher::open(&options))
            .map_err(|e| py_error(&e))?;
        let stop = watcher.stop_flag();
        Ok(PyWatch {
            watcher: Mutex::new(watcher),
            judge,
            enforce,
            stop,
        })
    }

    /// Ends the iteration (from any thread): the next `__next__` raises StopIteration.
    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyWatchEvent>> {
        loop {
            let got = py.detach(|| {
                let mut w = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
                w.poll_judged(&self.judge, self.enforce)
                    .map(|j| (j, w.is_stopped()))
            });
            match got {
                Ok((Some(j), _)) => return Ok(Some(PyWatchEvent::of(j))),
                Ok((None, true)) => return Ok(None),
                Ok((None, false)) => py.check_signals()?,
                Err(e) => return Err(py_error(&e)),
            }
        }
    }
}
