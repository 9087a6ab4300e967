//! Batch judging: the core's `Judge` over a buffer (counts, or one result per line through a
//! callback) or over whatever a read callback yields.
//!
//! Everything here converts arguments and results; splitting lines, threads, line numbers and
//! the "conforms" rule are the core's (`netfilter_helpers_core::judge`).

use std::ffi::{c_char, c_int, c_void};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use netfilter_helpers_core::judge::{Counts, Detail, Judge, Judged, Judgement};
use netfilter_helpers_core::options::ModuleOptions;

use crate::catalogue::nfh_options;
use crate::expect::{finding_count, nfh_policy, write_finding, write_findings_text};
use crate::ffi::{
    boundary, free, give, opt_ref, put, tri, try_bytes, try_callback, try_ref, write_text,
};
use crate::result::nfh_result;

/// The largest `threads` argument accepted by the batch calls (0 means one thread per core).
pub const NFH_MAX_THREADS: usize = 1024;

/// Judges expectations under fixed module options and, optionally, a site policy: the model's
/// findings and the policy's together, with one rule for "conforms" (the same as
/// `nfh_verdict_conforms`). Made by `nfh_judge_new`, freed by `nfh_judge_free`. Immutable:
/// one judge may be used from several threads at once.
#[derive(Debug)]
pub struct nfh_judge {
    pub(crate) inner: Judge,
}

/// Line counts of a buffer (`nfh_judge_count`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct nfh_counts {
    /// Lines that carry an expectation or do not parse (blank lines and conntrack's summary
    /// line `conntrack v...` are not counted).
    pub lines: usize,
    /// Lines that conform.
    pub conforming: usize,
    /// Lines that do not parse.
    pub unparsable: usize,
}

/// The result for one line, as handed to an `nfh_judged_fn` callback: a borrowed view, valid
/// only during that call (copy out what you need). Read it with `nfh_judged_line_number`,
/// `nfh_judged_conforms`, `nfh_judged_parsed`, `nfh_judged_error`, `nfh_judged_helper`,
/// `nfh_judged_finding_count`, `nfh_judged_finding` and `nfh_judged_text`.
#[derive(Debug)]
pub struct nfh_judged {
    inner: Judged,
}

/// Called once per line, in input order, on the thread that made the batch call, with the
/// `ctx` given to that call. Return 0 to go on, anything else to stop: no further line is
/// delivered and the batch call returns `NFH_RESULT_STOPPED`. The callback may call any
/// `nfh_*` function (the judge is not locked), but must not unwind or `longjmp` out.
pub type nfh_judged_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, judged: *const nfh_judged) -> c_int>;

/// Reads input for `nfh_judge_read`: fills `buf` with up to `len` bytes (`len` > 0) and
/// returns how many, 0 at the end of the input, or a negative number on error (the call then
/// returns `NFH_RESULT_READ_ERROR`; keep `errno` or your own detail in `ctx`). It may return
/// fewer bytes than asked for, in which case what it returned is judged at once: a live source
/// gets its verdicts as its lines arrive.
pub type nfh_read_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, buf: *mut u8, len: usize) -> isize>;

/// A judge for `opts` (NULL: kernel-default module options) and `policy` (NULL: the model
/// alone). Both are copied: free them whenever you like. NULL only if a panic was caught.
/// Free the judge with `nfh_judge_free`.
///
/// # Safety
/// `opts` and `policy` must each be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judge_new(
    opts: *const nfh_options,
    policy: *const nfh_policy,
) -> *mut nfh_judge {
    boundary(|| {
        let defaults = ModuleOptions::new();
        let o = opt_ref!(opts).map_or(&defaults, |o| &o.inner);
        let p = opt_ref!(policy).map(|p| p.inner.clone());
        give(nfh_judge {
            inner: Judge::new(o, p),
        })
    })
}

/// Frees a judge; NULL is a no-op.
///
/// # Safety
/// `judge` must be NULL or a judge not freed before, no longer used by any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judge_free(judge: *mut nfh_judge) {
    boundary(|| free!(judge))
}

fn threads_arg(threads: usize) -> Result<usize, nfh_result> {
    if threads > NFH_MAX_THREADS {
        Err(nfh_result::InvalidParameter)
    } else {
        Ok(threads)
    }
}

/// Counts the lines of a buffer (either format, mixed; lines end at `\n`, the last one may
/// lack it) on `threads` threads (0: one per core; at most `NFH_MAX_THREADS`): lines with an
/// expectation or that do not parse, those that conform, those that do not parse. No verdict
/// is built for any line (the core's `Judge::count_buffer`): the fast path for large inputs.
/// `*out` is written only on success.
///
/// Results: `NFH_RESULT_OK`; `NFH_RESULT_NULL_PARAMETER` when `judge` or `out` is NULL, or
/// `buf` is NULL with `len` > 0; `NFH_RESULT_INVALID_PARAMETER` when `threads` is above
/// `NFH_MAX_THREADS`; `NFH_RESULT_PANIC`.
///
/// # Safety
/// `judge` live; `buf` NULL (with `len` 0) or `len` readable bytes; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judge_count(
    judge: *const nfh_judge,
    buf: *const u8,
    len: usize,
    threads: usize,
    out: *mut nfh_counts,
) -> nfh_result {
    boundary(|| {
        let j = try_ref!(judge);
        let bytes = try_bytes!(buf, len);
        let threads = tri!(threads_arg(threads));
        let Counts {
            lines,
            conforming,
            unparsable,
            ..
        } = j.inner.count_buffer(bytes, threads);
        put!(
            out,
            nfh_counts {
                lines,
                conforming,
                unparsable,
            }
        )
    })
}

fn detail(quiet: bool) -> Detail {
    if quiet {
        Detail::Findings
    } else {
        Detail::Full
    }
}

/// Runs `judge_with`, which hands each result to the function it is given, and delivers every
/// result to the C callback until it asks to stop: then `stopped` is set, which the core's
/// judging loop checks before each piece the calling thread takes (`Judge::judge_buffer_until`) and the reader checks
/// before each read, and no further result is delivered.
fn deliver(
    callback: unsafe extern "C" fn(*mut c_void, *const nfh_judged) -> c_int,
    ctx: *mut c_void,
    stopped: &AtomicBool,
    judge_with: impl FnOnce(&mut dyn FnMut(Judged)) -> nfh_result,
) -> nfh_result {
    let mut each = |r: Judged| {
        if stopped.load(Ordering::Relaxed) {
            return;
        }
        let view = nfh_judged { inner: r };
        // SAFETY: the batch call's contract: `callback` may be called with `ctx` and a view
        // that lives for the call.
        if unsafe { callback(ctx, &view) } != 0 {
            stopped.store(true, Ordering::Relaxed);
        }
    };
    let r = judge_with(&mut each);
    if stopped.load(Ordering::Relaxed) {
        nfh_result::Stopped
    } else {
        r
    }
}

/// Judges every line of a buffer (either format, mixed; lines end at `\n`, the last one may
/// lack it) on `threads` threads (0: one per core; at most `NFH_MAX_THREADS`) and calls
/// `callback(ctx, judged)` for each line in input order, on the calling thread. Blank lines
/// and conntrack's summary line are skipped (their numbers are not delivered); a line that
/// does not parse is delivered with its error. With `quiet`, lines that conform are checked
/// without building a verdict and delivered without findings (`nfh_judged_finding_count` 0);
/// lines that do not conform always carry all their findings. Memory stays bounded: the
/// buffer is judged in pieces of about 64 KiB, eight per thread at a time.
///
/// Results: `NFH_RESULT_OK` when every line was delivered; `NFH_RESULT_STOPPED` when the
/// callback returned non-zero (nothing after that line is delivered, and nothing beyond the
/// pieces already under way, about 64 KiB per thread, is judged); `NFH_RESULT_NULL_PARAMETER` when `judge` or `callback` is NULL, or
/// `buf` is NULL with `len` > 0; `NFH_RESULT_INVALID_PARAMETER` when `threads` is above
/// `NFH_MAX_THREADS`; `NFH_RESULT_PANIC`. On an argument error the callback is never called.
///
/// # Safety
/// `judge` live; `buf` NULL (with `len` 0) or `len` readable bytes, unchanged during the call;
/// `callback` NULL or a function as described by `nfh_judged_fn`, which may be called with
/// `ctx`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judge_buffer(
    judge: *const nfh_judge,
    buf: *const u8,
    len: usize,
    threads: usize,
    quiet: bool,
    callback: nfh_judged_fn,
    ctx: *mut c_void,
) -> nfh_result {
    boundary(|| {
        let j = try_ref!(judge);
        let bytes = try_bytes!(buf, len);
        let threads = tri!(threads_arg(threads));
        let callback = try_callback!(callback);
        let stopped = AtomicBool::new(false);
        deliver(callback, ctx, &stopped, |each| {
            j.inner.judge_buffer_until(
                bytes,
                threads,
                detail(quiet),
                || stopped.load(Ordering::Relaxed),
                each,
            );
            nfh_result::Ok
        })
    })
}

/// The caller's read callback as a reader.
struct CallbackReader<'a> {
    read: unsafe extern "C" fn(*mut c_void, *mut u8, usize) -> isize,
    ctx: *mut c_void,
    stopped: &'a AtomicBool,
    failed: bool,
}

impl io::Read for CallbackReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stopped.load(Ordering::Relaxed) {
            return Err(io::Error::other("stopped by the callback"));
        }
        // SAFETY: `buf` is `buf.len()` writable bytes; the callback may be called with `ctx`
        // by the batch call's contract.
        let n = unsafe { (self.read)(self.ctx, buf.as_mut_ptr(), buf.len()) };
        match usize::try_from(n) {
            Ok(n) if n <= buf.len() => Ok(n),
            _ => {
                self.failed = true;
                Err(io::Error::other("the read callback failed"))
            }
        }
    }
}

/// Judges everything `read(read_ctx, buf, len)` yields (see `nfh_read_fn`) on `threads`
/// threads (0: one per core; at most `NFH_MAX_THREADS`), calling `callback(ctx, judged)` for
/// each line in input order, on the calling thread, as `nfh_judge_buffer` does; `read` is
/// called on the calling thread too (the core's `Judge::judge_reader`). Memory stays constant
/// whatever the input's size: it is read in blocks of up to 1 MiB, and a line longer than the
/// parser's limit (4096 bytes) is delivered as an error (`line longer than 4096 bytes`) and
/// skipped. What each read returns is judged at once, so a pipe from `conntrack -E expect`
/// gets its verdicts as its lines arrive.
///
/// Results: `NFH_RESULT_OK` at the end of the input (`read` returned 0);
/// `NFH_RESULT_STOPPED` when the callback returned non-zero (nothing more is delivered or
/// read); `NFH_RESULT_READ_ERROR` when `read` returned a negative number or more than `len`
/// (the lines read before are delivered); `NFH_RESULT_NULL_PARAMETER` when `judge`, `read` or
/// `callback` is NULL; `NFH_RESULT_INVALID_PARAMETER` when `threads` is above
/// `NFH_MAX_THREADS`; `NFH_RESULT_PANIC`. On an argument error neither callback is called.
///
/// # Safety
/// `judge` live; `read` NULL or a function as described by `nfh_read_fn`, which may be called
/// with `read_ctx`; `callback` NULL or a function as described by `nfh_judged_fn`, which may
/// be called with `ctx`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judge_read(
    judge: *const nfh_judge,
    read: nfh_read_fn,
    read_ctx: *mut c_void,
    threads: usize,
    quiet: bool,
    callback: nfh_judged_fn,
    ctx: *mut c_void,
) -> nfh_result {
    boundary(|| {
        let j = try_ref!(judge);
        let threads = tri!(threads_arg(threads));
        let read = try_callback!(read);
        let callback = try_callback!(callback);
        let stopped = AtomicBool::new(false);
        let mut reader = CallbackReader {
            read,
            ctx: read_ctx,
            stopped: &stopped,
            failed: false,
        };
        deliver(callback, ctx, &stopped, |each| {
            match j
                .inner
                .judge_reader(&mut reader, threads, detail(quiet), each)
            {
                Ok(()) => nfh_result::Ok,
                Err(_) if reader.failed => nfh_result::ReadError,
                // Only a stop (seen by `deliver`) makes the reader fail otherwise.
                Err(_) => nfh_result::Stopped,
            }
        })
    })
}

/// The 1-based input line of a result (0 for NULL). Blank lines count: the numbers are the
/// input's.
///
/// # Safety
/// `judged` must be NULL or the view handed to a running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judged_line_number(judged: *const nfh_judged) -> usize {
    boundary(|| try_ref!(judged).inner.line)
}

/// Whether the line conforms: nothing worse than info from the model or the policy (false for
/// a line that does not parse, and for NULL). The same rule as `nfh_verdict_conforms`.
///
/// # Safety
/// `judged` must be NULL or the view handed to a running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judged_conforms(judged: *const nfh_judged) -> bool {
    boundary(|| try_ref!(judged).inner.conforms)
}

/// Whether the line parsed (false for NULL). A line that did not parse has an error
/// (`nfh_judged_error`) and no findings.
///
/// # Safety
/// `judged` must be NULL or the view handed to a running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judged_parsed(judged: *const nfh_judged) -> bool {
    boundary(|| try_ref!(judged).inner.outcome.is_ok())
}

/// Writes why the line did not parse (`line N: what (near "...")`, as
/// `nfh_expectations_error` does) into `buf`; an empty text for a line that parsed.
///
/// # Safety
/// `judged` NULL or the view handed to a running callback; `buf` NULL or `len` writable bytes;
/// `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judged_error(
    judged: *const nfh_judged,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let j = try_ref!(judged);
        let text = match &j.inner.outcome {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
        write_text!(&text, buf, len, out_n)
    })
}

/// Writes the helper name as written in the line (`ftp`, `sip`, `ftp-2121`) into `buf`; an
/// empty text when the line names none or did not parse.
///
/// # Safety
/// `judged` NULL or the view handed to a running callback; `buf` NULL or `len` writable bytes;
/// `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judged_helper(
    judged: *const nfh_judged,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let j = try_ref!(judged);
        write_text!(j.inner.helper_name().unwrap_or(""), buf, len, out_n)
    })
}

/// The judgement a result carries: none for a line that did not parse, nor for a conforming
/// line under `quiet`.
fn judgement(j: &nfh_judged) -> Option<&Judgement> {
    j.inner.outcome.as_ref().ok().and_then(|(_, j)| j.as_ref())
}

/// The number of findings of a result, model then policy, as `nfh_verdict_finding_count`
/// (0 for a line that did not parse, for a conforming line under `quiet`, and for NULL).
///
/// # Safety
/// `judged` must be NULL or the view handed to a running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judged_finding_count(judged: *const nfh_judged) -> usize {
    boundary(|| finding_count(judgement(try_ref!(judged))))
}

/// Reads finding `index` of a result, as `nfh_verdict_finding`: severity (`nfh_severity`) and
/// text `[code] message` into `buf`; the severity is written only on success.
///
/// # Safety
/// `judged` NULL or the view handed to a running callback; `severity_out` writable; `buf` NULL
/// or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judged_finding(
    judged: *const nfh_judged,
    index: usize,
    severity_out: *mut u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let j = try_ref!(judged);
        // SAFETY: forwarded caller contract (the same pointer arguments).
        unsafe { write_finding(judgement(j), index, severity_out, buf, len, out_n) }
    })
}

/// Writes every finding of a result, one `severity [code]: message` per line, as
/// `nfh_verdict_text` (an empty text when it carries none).
///
/// # Safety
/// `judged` NULL or the view handed to a running callback; `buf` NULL or `len` writable bytes;
/// `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_judged_text(
    judged: *const nfh_judged,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let j = try_ref!(judged);
        // SAFETY: forwarded caller contract (the same pointer arguments).
        unsafe { write_findings_text(judgement(j), buf, len, out_n) }
    })
}
