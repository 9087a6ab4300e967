//! Every cast, NULL check, buffer copy and panic boundary of the C API lives here.
//!
//! An export's body is wrapped in [`boundary`] and reads its arguments with the macros below
//! (`try_ref!`, `try_str!`, `try_enum!`, ...); each macro holds the one `unsafe` block and the
//! one SAFETY argument for its kind of access, so the exports themselves hold none. On a NULL
//! or invalid argument a macro returns early with the value [`FfiDefault`] gives the export's
//! return type (`NFH_RESULT_NULL_PARAMETER`, NULL, 0 or false).
//!
//! The macros may be used only inside an `unsafe extern "C" fn` whose `# Safety` section
//! states the contract they rely on: every pointer argument is NULL or valid for what its
//! documentation says (a live object of this library, a NUL-terminated string, `len`
//! readable or writable bytes, a writable output), and objects are not freed while in use.

use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::result::{nfh_error, nfh_result};

/// What an export returns when an argument is NULL or a panic is caught.
pub(crate) trait FfiDefault {
    /// The value for a NULL pointer argument.
    fn null_parameter() -> Self;
    /// The value for a caught panic.
    fn panicked() -> Self;
}

impl FfiDefault for nfh_result {
    fn null_parameter() -> Self {
        nfh_result::NullParameter
    }
    fn panicked() -> Self {
        nfh_result::Panic
    }
}

impl FfiDefault for usize {
    fn null_parameter() -> Self {
        0
    }
    fn panicked() -> Self {
        0
    }
}

impl FfiDefault for bool {
    fn null_parameter() -> Self {
        false
    }
    fn panicked() -> Self {
        false
    }
}

impl FfiDefault for () {
    fn null_parameter() -> Self {}
    fn panicked() -> Self {}
}

impl<T> FfiDefault for *mut T {
    fn null_parameter() -> Self {
        std::ptr::null_mut()
    }
    fn panicked() -> Self {
        std::ptr::null_mut()
    }
}

/// Runs an export's body, turning a panic into [`FfiDefault::panicked`]
/// (`NFH_RESULT_PANIC`, NULL, 0 or false).
pub(crate) fn boundary<T: FfiDefault>(body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| T::panicked())
}

/// Borrows an object of this library; NULL returns early.
macro_rules! try_ref {
    ($p:expr) => {{
        let p = $p;
        // SAFETY: the export's contract: the pointer is NULL or a live object of this type.
        match unsafe { p.as_ref() } {
            Some(r) => r,
            None => return $crate::ffi::FfiDefault::null_parameter(),
        }
    }};
}
pub(crate) use try_ref;

/// Borrows an object of this library that may be NULL (`Option<&T>`).
macro_rules! opt_ref {
    ($p:expr) => {{
        let p = $p;
        // SAFETY: the export's contract: the pointer is NULL or a live object of this type.
        unsafe { p.as_ref() }
    }};
}
pub(crate) use opt_ref;

/// Borrows an object of this library mutably; NULL returns early.
macro_rules! try_mut {
    ($p:expr) => {{
        let p = $p;
        // SAFETY: the export's contract: the pointer is NULL or a live object of this type
        // that no other thread uses during the call.
        match unsafe { p.as_mut() } {
            Some(r) => r,
            None => return $crate::ffi::FfiDefault::null_parameter(),
        }
    }};
}
pub(crate) use try_mut;

/// Reads a NUL-terminated UTF-8 argument (`&str`); NULL or invalid UTF-8 returns early.
macro_rules! try_str {
    ($p:expr) => {{
        let p = $p;
        // SAFETY: the export's contract: the pointer is NULL or a NUL-terminated string.
        match unsafe { $crate::ffi::str_arg(p) } {
            Ok(s) => s,
            Err(code) => return code,
        }
    }};
}
pub(crate) use try_str;

/// Reads a buffer argument (`&[u8]`, or an array of any element type such as `&[*const
/// c_char]`; NULL with length 0 is empty); NULL with a length returns early.
macro_rules! try_bytes {
    ($p:expr, $len:expr) => {{
        let (p, len) = ($p, $len);
        // SAFETY: the export's contract: the pointer is NULL or points to `len` readable bytes
        // that do not change during the call.
        match unsafe { $crate::ffi::bytes_arg(p, len) } {
            Ok(b) => b,
            Err(code) => return code,
        }
    }};
}
pub(crate) use try_bytes;

/// Decodes an enum argument from its number (a `match` on the numbers the C enum declares);
/// an unknown number returns `NFH_RESULT_INVALID_PARAMETER`.
macro_rules! try_enum {
    ($ty:ty, $n:expr) => {
        match <$ty>::from_u32($n) {
            Some(v) => v,
            None => return $crate::result::nfh_result::InvalidParameter,
        }
    };
}
pub(crate) use try_enum;

/// Takes a callback argument; NULL returns early.
macro_rules! try_callback {
    ($f:expr) => {
        match $f {
            Some(f) => f,
            None => return $crate::ffi::FfiDefault::null_parameter(),
        }
    };
}
pub(crate) use try_callback;

/// Copies text into the caller's buffer `(buf, len, out_n)` following the buffer convention
/// (see [`copy_text`]); evaluates to the `nfh_result`.
macro_rules! write_text {
    ($text:expr, $buf:expr, $len:expr, $out_n:expr) => {{
        let (text, buf, len, out_n): (&str, _, _, _) = ($text, $buf, $len, $out_n);
        // SAFETY: the export's contract: `buf` is NULL or `len` writable bytes, `out_n` is
        // NULL or writable.
        unsafe { $crate::ffi::copy_text(text, buf, len, out_n) }
    }};
}
pub(crate) use write_text;

/// Copies numbers into the caller's array `(out, len, out_n)` (see [`copy_numbers`]);
/// evaluates to the `nfh_result`.
macro_rules! write_numbers {
    ($values:expr, $out:expr, $len:expr, $out_n:expr) => {{
        let (values, out, len, out_n): (&[u32], _, _, _) = ($values, $out, $len, $out_n);
        // SAFETY: the export's contract: `out` is NULL or `len` writable `uint32_t`s, `out_n`
        // is NULL or writable.
        unsafe { $crate::ffi::copy_numbers(values, out, len, out_n) }
    }};
}
pub(crate) use write_numbers;

/// Writes a value to an output pointer; evaluates to `NFH_RESULT_OK`, or
/// `NFH_RESULT_NULL_PARAMETER` when the pointer is NULL.
macro_rules! put {
    ($out:expr, $v:expr) => {{
        let (out, v) = ($out, $v);
        // SAFETY: the export's contract: the output pointer is NULL or writable.
        unsafe { $crate::ffi::write_out(out, v) }
    }};
}
pub(crate) use put;

/// Hands a new object to the caller through an output pointer (`T **out`); evaluates to
/// `NFH_RESULT_OK`, or `NFH_RESULT_NULL_PARAMETER` (and nothing allocated) when it is NULL.
macro_rules! give_out {
    ($out:expr, $v:expr) => {{
        let out = $out;
        if out.is_null() {
            $crate::result::nfh_result::NullParameter
        } else {
            let object = $crate::ffi::give($v);
            // SAFETY: the export's contract: the output pointer is writable (not NULL: checked).
            unsafe { $crate::ffi::write_out(out, object) }
        }
    }};
}
pub(crate) use give_out;

/// Stores an error for the caller when it asked for one (`err` not NULL); evaluates to the
/// error's code.
macro_rules! set_error {
    ($err:expr, $e:expr) => {{
        let (err, e) = ($err, $e);
        // SAFETY: the export's contract: `err` is NULL or writable.
        unsafe { $crate::ffi::store_error(err, e) }
    }};
}
pub(crate) use set_error;

/// Frees an object handed to C by [`give`]; NULL is a no-op.
macro_rules! free {
    ($p:expr) => {{
        let p = $p;
        // SAFETY: the export's contract: the pointer is NULL or an object of this type handed
        // out by this library, not freed before and no longer used by any thread.
        unsafe { $crate::ffi::take(p) }
    }};
}
pub(crate) use free;

/// `?` for functions returning `nfh_result`.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return code,
        }
    };
}
pub(crate) use tri;

/// Copies `text` into `buf` (NUL-terminated) following the buffer convention: on success
/// `*out_n` is the length without the NUL; on `NFH_RESULT_INSUFFICIENT_SIZE` it is the length
/// needed (without the NUL) and nothing is written.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must be NULL or writable.
pub(crate) unsafe fn copy_text(
    text: &str,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    if out_n.is_null() {
        return nfh_result::NullParameter;
    }
    let needed = text.len();
    if buf.is_null() || len < needed + 1 {
        // SAFETY: out_n is non-NULL (checked above) and writable by the caller's contract.
        unsafe { *out_n = needed };
        return nfh_result::InsufficientSize;
    }
    // SAFETY: buf has at least needed + 1 writable bytes (checked above), and a Rust &str
    // cannot overlap a caller's output buffer.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), needed);
        *buf.add(needed) = 0;
        *out_n = needed;
    }
    nfh_result::Ok
}

/// Copies a list of numbers into the caller's array `(out, len, out_n)`, with the convention of
/// [`copy_text`]: on success `*out_n` is the count written; on `NFH_RESULT_INSUFFICIENT_SIZE`
/// it is the count needed and nothing is written, so a call with `len` 0 is a size query.
///
/// # Safety
/// `out` must be NULL or point to `len` writable `uint32_t`s; `out_n` must be NULL or writable.
pub(crate) unsafe fn copy_numbers(
    values: &[u32],
    out: *mut u32,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    if out_n.is_null() {
        return nfh_result::NullParameter;
    }
    if out.is_null() || len < values.len() {
        // SAFETY: out_n is non-NULL (checked above) and writable by the caller's contract.
        unsafe { *out_n = values.len() };
        return nfh_result::InsufficientSize;
    }
    // SAFETY: out has at least values.len() writable elements (checked above) and cannot
    // overlap a Rust slice.
    unsafe {
        std::ptr::copy_nonoverlapping(values.as_ptr(), out, values.len());
        *out_n = values.len();
    }
    nfh_result::Ok
}

/// Reads a NUL-terminated UTF-8 argument.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char) -> Result<&'a str, nfh_result> {
    if p.is_null() {
        return Err(nfh_result::NullParameter);
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| nfh_result::InvalidUtf8)
}

/// Reads a byte buffer argument (`len` 0 with a NULL pointer is an empty buffer).
///
/// # Safety
/// `p` must be NULL or point to `len` readable bytes.
pub(crate) unsafe fn bytes_arg<'a, T>(p: *const T, len: usize) -> Result<&'a [T], nfh_result> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(nfh_result::NullParameter)
        };
    }
    // SAFETY: non-NULL and `len` readable bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Hands a new object to C: the C type is the Rust type, opaque to C; freed by [`take`].
pub(crate) fn give<T>(v: T) -> *mut T {
    Box::into_raw(Box::new(v))
}

/// Frees an object handed to C; NULL is a no-op.
///
/// # Safety
/// `p` must be NULL or a pointer from [`give`] not freed before.
pub(crate) unsafe fn take<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: from `give`, freed once, by the caller's contract.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// Stores an error for the caller when it asked for one (`err` not NULL).
///
/// # Safety
/// `err` must be NULL or point to a writable `nfh_error *`.
pub(crate) unsafe fn store_error(err: *mut *mut nfh_error, e: nfh_error) -> nfh_result {
    let code = e.code;
    if !err.is_null() {
        // SAFETY: non-NULL and writable by the caller's contract.
        unsafe { *err = give(e) };
    }
    code
}

/// Writes an output pointer.
///
/// # Safety
/// `out` must be NULL or writable.
pub(crate) unsafe fn write_out<T>(out: *mut T, v: T) -> nfh_result {
    if out.is_null() {
        return nfh_result::NullParameter;
    }
    // SAFETY: non-NULL and writable by the caller's contract.
    unsafe { out.write(v) };
    nfh_result::Ok
}
