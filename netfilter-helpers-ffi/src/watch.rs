//! Watching live expectations from C: `nfh_watch_*`, over the `netfilter-helpers-netlink`
//! crate's watcher (ctnetlink events, per network namespace) and judged by an `nfh_judge`.
//!
//! Decision: the watch belongs in the C API (an appliance wants a watcher, not its own netlink
//! code), so this crate depends on the I/O crate for it; it still converts only: subscribing,
//! dumping, deduplicating, judging and deleting are `Watcher::next_judged`'s.

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use netfilter_helpers_netlink::{Deletion, Error, Event, Judged, WatchOptions, Watcher};

use crate::c_enum::c_enum_numbers;
use crate::ffi::{
    FfiDefault, boundary, free, give_out, opt_ref, put, set_error, try_callback, try_ref, try_str,
    write_text,
};
use crate::judge::nfh_judge;
use crate::result::{nfh_error, nfh_result};

/// A watcher of one network namespace's expectations. Made by `nfh_watch_open`, run by
/// `nfh_watch_run`, stopped (from any thread, or a signal handler) by `nfh_watch_stop`, freed
/// by `nfh_watch_free`. One `nfh_watch_run` at a time per watcher.
pub struct nfh_watch {
    watcher: Mutex<Watcher>,
    stop: Arc<AtomicBool>,
}

/// What a watch event is (`nfh_watch_event_kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_watch_kind {
    /// An expectation found in the table (at the start, or after lost events).
    Existing = 0,
    /// A new expectation.
    New = 1,
    /// An expectation was destroyed (matched, expired or deleted).
    Destroyed = 2,
    /// The kernel dropped events; the table was read again.
    Lost = 3,
    /// A message that does not decode (`nfh_watch_event_text` says why).
    Malformed = 4,
}

/// What enforcement did about an event (`nfh_watch_event_deletion`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_deletion {
    /// Nothing: not enforcing, or the expectation conforms, or not an expectation event.
    None = 0,
    /// The kernel deleted the expectation.
    Deleted = 1,
    /// It was gone already (a connection used it first, it expired or was deleted).
    Gone = 2,
    /// The deletion failed (`nfh_watch_event_text` says why).
    Failed = 3,
}

c_enum_numbers!(nfh_watch_kind {
    Existing,
    New,
    Destroyed,
    Lost,
    Malformed,
});

c_enum_numbers!(nfh_deletion {
    None,
    Deleted,
    Gone,
    Failed,
});

impl FfiDefault for nfh_watch_kind {
    fn null_parameter() -> Self {
        nfh_watch_kind::Malformed
    }
    fn panicked() -> Self {
        nfh_watch_kind::Malformed
    }
}

impl FfiDefault for nfh_deletion {
    fn null_parameter() -> Self {
        nfh_deletion::None
    }
    fn panicked() -> Self {
        nfh_deletion::None
    }
}

/// One event, as handed to an `nfh_watch_fn` callback: a borrowed view, valid only during that
/// call.
pub struct nfh_watch_event {
    inner: Judged,
}

/// Called once per event on the thread running `nfh_watch_run`, with its `ctx`. Return 0 to go
/// on, anything else to stop (`nfh_watch_run` then returns `NFH_RESULT_STOPPED`). It must not
/// unwind or `longjmp` out; it may call `nfh_watch_stop`.
pub type nfh_watch_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, event: *const nfh_watch_event) -> c_int>;

fn error_of(e: &Error) -> nfh_error {
    let code = match e {
        Error::PermissionDenied { .. } => nfh_result::PermissionDenied,
        Error::NoConntrack { .. } | Error::Netns { .. } => nfh_result::NotAvailable,
        _ => nfh_result::IoError,
    };
    nfh_error::new(code, e.to_string())
}

/// Opens a watcher on the network namespace at `netns` (a path such as `/run/netns/fw`; NULL:
/// the caller's): subscribes to new and destroyed expectations, then reads the table, whose
/// expectations are the first events. `*out` is written only on success.
///
/// Results: `NFH_RESULT_OK`; `NFH_RESULT_NULL_PARAMETER` (`out` NULL);
/// `NFH_RESULT_INVALID_UTF8`; `NFH_RESULT_PERMISSION_DENIED` (no CAP_NET_ADMIN);
/// `NFH_RESULT_NOT_AVAILABLE` (no such namespace, no ctnetlink); `NFH_RESULT_IO_ERROR`;
/// `NFH_RESULT_PANIC`. Detail in `*err` when `err` is not NULL.
///
/// # Safety
/// `netns` NULL or a NUL-terminated string; `out` NULL or writable; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_watch_open(
    netns: *const c_char,
    out: *mut *mut nfh_watch,
    err: *mut *mut nfh_error,
) -> nfh_result {
    boundary(|| {
        if out.is_null() {
            return nfh_result::NullParameter;
        }
        let options = if netns.is_null() {
            WatchOptions::default()
        } else {
            WatchOptions::in_netns(try_str!(netns))
        };
        match Watcher::open(&options) {
            Ok(w) => {
                let stop = w.stop_flag();
                give_out!(
                    out,
                    nfh_watch {
                        watcher: Mutex::new(w),
                        stop,
                    }
                )
            }
            Err(e) => set_error!(err, error_of(&e)),
        }
    })
}

/// Runs the watch: every event goes to `cb`, judged by `judge` (the model and its policy);
/// with `enforce`, every expectation that does not conform is deleted before `cb` sees it.
/// Returns `NFH_RESULT_OK` once `nfh_watch_stop` was called, `NFH_RESULT_STOPPED` when `cb`
/// returned non-zero, or an error (as `nfh_watch_open`, detail in `*err`).
///
/// # Safety
/// `watch` and `judge` live (not freed while this runs); `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_watch_run(
    watch: *const nfh_watch,
    judge: *const nfh_judge,
    enforce: bool,
    cb: nfh_watch_fn,
    ctx: *mut c_void,
    err: *mut *mut nfh_error,
) -> nfh_result {
    boundary(|| {
        let w = try_ref!(watch);
        let j = try_ref!(judge);
        let cb = try_callback!(cb);
        let mut watcher = w.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            match watcher.next_judged(&j.inner, enforce) {
                Ok(None) => return nfh_result::Ok,
                Ok(Some(judged)) => {
                    let event = nfh_watch_event { inner: judged };
                    // SAFETY: the callback contract: `event` is valid for this call.
                    if unsafe { cb(ctx, &event) } != 0 {
                        return nfh_result::Stopped;
                    }
                }
                Err(e) => return set_error!(err, error_of(&e)),
            }
        }
    })
}

/// Asks a running `nfh_watch_run` to return (within a tenth of a second). Safe from any
/// thread and from a signal handler (it only stores a flag); a run started afterwards returns
/// at once.
///
/// # Safety
/// `watch` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_watch_stop(watch: *const nfh_watch) {
    if let Some(w) = opt_ref!(watch) {
        w.stop.store(true, Ordering::Relaxed);
    }
}

/// Frees a watcher (closing its sockets); NULL is a no-op.
///
/// # Safety
/// `watch` NULL or a watcher not freed before and not running.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_watch_free(watch: *mut nfh_watch) {
    boundary(|| free!(watch))
}

fn kind_of(e: &nfh_watch_event) -> nfh_watch_kind {
    match &e.inner.event {
        Event::Existing(_) => nfh_watch_kind::Existing,
        Event::New(_) => nfh_watch_kind::New,
        Event::Destroyed(_) => nfh_watch_kind::Destroyed,
        Event::Lost => nfh_watch_kind::Lost,
        _ => nfh_watch_kind::Malformed,
    }
}

fn message_of(e: &nfh_watch_event) -> Option<&netfilter_helpers_core::ctnetlink::ExpectMessage> {
    match &e.inner.event {
        Event::Existing(m) | Event::New(m) | Event::Destroyed(m) => Some(m),
        _ => None,
    }
}

/// The event's kind (an `nfh_watch_kind` value); `NFH_WATCH_KIND_MALFORMED` for NULL.
///
/// # Safety
/// `event` NULL or the view handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_watch_event_kind(event: *const nfh_watch_event) -> nfh_watch_kind {
    boundary(|| kind_of(try_ref!(event)))
}

/// Writes the kernel's id of the event's expectation into `*out`; false (nothing written) when
/// the event carries none or an argument is NULL.
///
/// # Safety
/// `event` NULL or the view handed to the running callback; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_watch_event_id(event: *const nfh_watch_event, out: *mut u32) -> bool {
    boundary(|| {
        let e = try_ref!(event);
        match message_of(e).and_then(|m| m.id) {
            Some(id) => put!(out, id) == nfh_result::Ok,
            None => false,
        }
    })
}

/// Whether the event's expectation conforms (the model and the policy); true for events that
/// are not judged (destroyed, lost), false for malformed messages and NULL.
///
/// # Safety
/// `event` NULL or the view handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_watch_event_conforms(event: *const nfh_watch_event) -> bool {
    boundary(|| {
        let e = try_ref!(event);
        match (&e.inner.event, &e.inner.judgement) {
            (Event::Malformed(_), _) => false,
            (_, Some(j)) => j.conforms(),
            (_, None) => true,
        }
    })
}

/// What enforcement did (an `nfh_deletion` value); `NFH_DELETION_NONE` for NULL.
///
/// # Safety
/// `event` NULL or the view handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_watch_event_deletion(event: *const nfh_watch_event) -> nfh_deletion {
    boundary(|| match &try_ref!(event).inner.deletion {
        None => nfh_deletion::None,
        Some(Ok(Deletion::Deleted)) => nfh_deletion::Deleted,
        Some(Ok(Deletion::Gone)) => nfh_deletion::Gone,
        Some(Err(_)) => nfh_deletion::Failed,
    })
}

/// Writes the event as text: the expectation in `conntrack -L expect` form, then one line per
/// finding; for a failed deletion, why; for a malformed message, the decoding error naming the
/// attribute. Buffer convention as everywhere (`len` 0: size query).
///
/// # Safety
/// `event` NULL or the view handed to the running callback; `buf` NULL or `len` writable
/// bytes; `out_n` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_watch_event_text(
    event: *const nfh_watch_event,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let e = try_ref!(event);
        let mut text = match &e.inner.event {
            Event::Existing(m) | Event::New(m) | Event::Destroyed(m) => {
                m.expectation().to_conntrack_line(m.line.timeout)
            }
            Event::Lost => {
                "the kernel dropped expectation events; the table was read again".to_string()
            }
            Event::Malformed(d) => d.to_string(),
            _ => String::new(),
        };
        for f in e.inner.judgement.iter().flat_map(|j| j.findings()) {
            text.push_str(&format!("\n{f}"));
        }
        if let Some(Err(d)) = &e.inner.deletion {
            text.push_str(&format!("\ndeletion failed: {d}"));
        }
        write_text!(&text, buf, len, out_n)
    })
}
