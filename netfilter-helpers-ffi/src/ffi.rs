//! Every cast, NULL check and buffer copy of the C API lives here.

use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{nfh_error, nfh_result};

/// Runs `f`, turning a panic into `NFH_RESULT_PANIC`.
pub(crate) fn boundary(f: impl FnOnce() -> nfh_result) -> nfh_result {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(nfh_result::Panic)
}

/// Runs `f`, turning a panic into `default`.
pub(crate) fn boundary_or<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

/// Copies `text` into `buf` (NUL-terminated) following the buffer convention: on success
/// `*out_n` is the length without the NUL; on `NFH_RESULT_INSUFFICIENT_SIZE` it is the length
/// needed (without the NUL) and nothing is written.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must be NULL or valid.
pub(crate) unsafe fn write_text(
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
        // SAFETY: out_n is non-NULL (checked above) and valid by the caller's contract.
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
pub(crate) unsafe fn bytes_arg<'a>(p: *const u8, len: usize) -> Result<&'a [u8], nfh_result> {
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

/// Borrows an object handed out by this library.
///
/// # Safety
/// `p` must be NULL or a live pointer returned by this library for type `T`.
pub(crate) unsafe fn obj<'a, T>(p: *const T) -> Result<&'a T, nfh_result> {
    // SAFETY: by the caller's contract.
    unsafe { p.as_ref() }.ok_or(nfh_result::NullParameter)
}

/// Borrows an object mutably.
///
/// # Safety
/// `p` must be NULL or a live, unaliased pointer returned by this library for type `T`.
pub(crate) unsafe fn obj_mut<'a, T>(p: *mut T) -> Result<&'a mut T, nfh_result> {
    // SAFETY: by the caller's contract.
    unsafe { p.as_mut() }.ok_or(nfh_result::NullParameter)
}

/// Hands a new object to C.
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
pub(crate) unsafe fn set_error(err: *mut *mut nfh_error, e: nfh_error) -> nfh_result {
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
pub(crate) unsafe fn put<T>(out: *mut T, v: T) -> nfh_result {
    if out.is_null() {
        return nfh_result::NullParameter;
    }
    // SAFETY: non-NULL and writable by the caller's contract.
    unsafe { out.write(v) };
    nfh_result::Ok
}

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
