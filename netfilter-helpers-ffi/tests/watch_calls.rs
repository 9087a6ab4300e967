//! `nfh_watch_*` called from Rust: errors, NULLs, stop, and (as root) a watch of the current
//! namespace that stops on request. The kernel side (events, deletions) is tested by the
//! lab (`tests/tests/lab_watch.rs`) through the same `Watcher::next_judged`.
#![allow(unsafe_code)]

use std::ffi::{CString, c_int, c_void};
use std::ptr::{null, null_mut};

use netfilter_helpers_ffi::*;

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn message(err: *const nfh_error) -> String {
    let mut n = 0usize;
    unsafe { nfh_error_message(err, null_mut(), 0, &mut n) };
    let mut buf = vec![0 as std::ffi::c_char; n + 1];
    assert_eq!(
        unsafe { nfh_error_message(err, buf.as_mut_ptr(), buf.len(), &mut n) },
        nfh_result::Ok
    );
    buf[..n].iter().map(|c| *c as u8 as char).collect()
}

#[test]
fn a_missing_namespace_is_an_error_naming_it() {
    let path = CString::new("/run/netns/nfh-ffi-no-such-namespace").unwrap();
    let mut watch = null_mut();
    let mut err = null_mut();
    let r = unsafe { nfh_watch_open(path.as_ptr(), &mut watch, &mut err) };
    assert_eq!(r, nfh_result::NotAvailable);
    assert!(watch.is_null(), "no output on failure");
    assert_eq!(unsafe { nfh_error_code(err) }, nfh_result::NotAvailable);
    assert!(
        message(err).contains("nfh-ffi-no-such-namespace"),
        "{}",
        message(err)
    );
    unsafe { nfh_error_free(err) };
}

#[test]
fn null_arguments() {
    assert_eq!(
        unsafe { nfh_watch_open(null(), null_mut(), null_mut()) },
        nfh_result::NullParameter
    );
    let judge = unsafe { nfh_judge_new(null(), null()) };
    assert_eq!(
        unsafe { nfh_watch_run(null(), judge, false, None, null_mut(), null_mut()) },
        nfh_result::NullParameter
    );
    assert_eq!(
        unsafe { nfh_watch_event_kind(null()) },
        nfh_watch_kind::Malformed
    );
    assert_eq!(
        unsafe { nfh_watch_event_deletion(null()) },
        nfh_deletion::None
    );
    assert!(!unsafe { nfh_watch_event_conforms(null()) });
    let mut id = 0;
    assert!(!unsafe { nfh_watch_event_id(null(), &mut id) });
    unsafe { nfh_watch_stop(null()) };
    unsafe { nfh_watch_free(null_mut()) };
    unsafe { nfh_judge_free(judge) };
}

unsafe extern "C" fn count(ctx: *mut c_void, event: *const nfh_watch_event) -> c_int {
    // SAFETY: ctx is the &mut usize given to nfh_watch_run.
    unsafe { *ctx.cast::<usize>() += 1 };
    let mut n = 0;
    // SAFETY: event is the live view of this call.
    let r = unsafe { nfh_watch_event_text(event, null_mut(), 0, &mut n) };
    assert_eq!(r, nfh_result::InsufficientSize);
    0
}

#[test]
fn watching_this_namespace_needs_cap_net_admin_and_stops_on_request() {
    let mut watch = null_mut();
    let mut err = null_mut();
    let r = unsafe { nfh_watch_open(null(), &mut watch, &mut err) };
    if effective_uid() != Some(0) {
        assert_eq!(r, nfh_result::PermissionDenied, "{}", message(err));
        assert!(message(err).contains("CAP_NET_ADMIN"));
        unsafe { nfh_error_free(err) };
        return;
    }
    assert_eq!(r, nfh_result::Ok);
    let judge = unsafe { nfh_judge_new(null(), null()) };
    // Stopped before it runs: it returns at once, whatever the table holds.
    unsafe { nfh_watch_stop(watch) };
    let mut seen = 0usize;
    let r = unsafe {
        nfh_watch_run(
            watch,
            judge,
            false,
            Some(count),
            (&mut seen as *mut usize).cast(),
            null_mut(),
        )
    };
    assert_eq!(r, nfh_result::Ok);
    assert_eq!(seen, 0);
    // Stopped from another thread while it waits for events.
    let mut watch2 = null_mut();
    assert_eq!(
        unsafe { nfh_watch_open(null(), &mut watch2, null_mut()) },
        nfh_result::Ok
    );
    let addr = watch2 as usize;
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        // SAFETY: the watcher lives until the run below returns and is freed after the join.
        unsafe { nfh_watch_stop(addr as *const nfh_watch) };
    });
    let started = std::time::Instant::now();
    let r = unsafe {
        nfh_watch_run(
            watch2,
            judge,
            false,
            Some(count),
            (&mut seen as *mut usize).cast(),
            null_mut(),
        )
    };
    stopper.join().unwrap();
    assert_eq!(r, nfh_result::Ok);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    unsafe {
        nfh_watch_free(watch);
        nfh_watch_free(watch2);
        nfh_judge_free(judge);
    }
}
