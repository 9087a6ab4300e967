//! Reading result codes and error objects.

use std::ffi::c_char;

use crate::ffi::{boundary, free, try_ref, write_text};
use crate::result::{nfh_error, nfh_result};

/// Writes the fixed description of a result code into `buf` (unknown codes describe
/// `NFH_RESULT_INVALID_PARAMETER`).
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must point to a `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_result_message(
    code: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let code = nfh_result::from_u32(code).unwrap_or(nfh_result::InvalidParameter);
        write_text!(code.text(), buf, len, out_n)
    })
}

/// The code of an error; `NFH_RESULT_NULL_PARAMETER` for NULL.
///
/// # Safety
/// `err` must be NULL or a live error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_error_code(err: *const nfh_error) -> nfh_result {
    boundary(|| try_ref!(err).code)
}

/// Writes an error's message, which names the input and every problem, into `buf`.
///
/// # Safety
/// `err` must be NULL or a live error; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_error_message(
    err: *const nfh_error,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| write_text!(&try_ref!(err).message, buf, len, out_n))
}

/// The number of problems an error lists (0 for NULL).
///
/// # Safety
/// `err` must be NULL or a live error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_error_problem_count(err: *const nfh_error) -> usize {
    boundary(|| try_ref!(err).problems.len())
}

/// Writes problem `index`'s path and message (`path: message`) into `buf`.
///
/// # Safety
/// `err` must be NULL or a live error; `buf` NULL or `len` writable bytes; `out_n` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_error_problem(
    err: *const nfh_error,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| {
        let Some(p) = try_ref!(err).problems.get(index) else {
            return nfh_result::InvalidParameter;
        };
        write_text!(&format!("{}: {}", p.path, p.message), buf, len, out_n)
    })
}

/// Frees an error; NULL is a no-op.
///
/// # Safety
/// `err` must be NULL or an error not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_error_free(err: *mut nfh_error) {
    boundary(|| free!(err))
}
