//! C API for netfilter-helpers (`nfh_*`).
//!
//! This crate converts arguments, calls `netfilter-helpers-core` and converts results; it holds
//! no logic of its own. The header `include/netfilter_helpers.h` is generated from this file by
//! cbindgen (see `tests/header.rs`).
//!
//! Conventions: every symbol starts with `nfh_`; functions return an [`nfh_result`]; text
//! outputs go into caller buffers `(buf, len, out_n)`: on success `*out_n` is the number of
//! bytes written (without the terminating NUL); on `NFH_RESULT_INSUFFICIENT_SIZE` it is the
//! size needed (again without the NUL) and nothing is written. Every export runs behind a panic
//! boundary. All functions are thread-safe: they touch no shared state.
#![allow(non_camel_case_types)]
// The C ABI needs raw pointers; every dereference is checked for NULL first.
#![allow(unsafe_code)]

use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use netfilter_helpers_core::catalogue::Helper;

/// Result codes. Numbers are fixed and never reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_result {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL.
    NullParameter = 7001,
    /// An integer argument was out of range.
    InvalidParameter = 7002,
    /// The caller's buffer is too small; `*out_n` holds the size needed.
    InsufficientSize = 7003,
    /// A panic was caught at the boundary (a bug in netfilter-helpers).
    Panic = 7004,
}

fn boundary(f: impl FnOnce() -> nfh_result) -> nfh_result {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(nfh_result::Panic)
}

/// Copies `text` into `buf` (NUL-terminated) following the buffer convention.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must be valid or NULL.
unsafe fn write_text(text: &str, buf: *mut c_char, len: usize, out_n: *mut usize) -> nfh_result {
    if out_n.is_null() {
        return nfh_result::NullParameter;
    }
    let needed = text.len();
    if buf.is_null() || len < needed + 1 {
        // SAFETY: out_n checked non-NULL above.
        unsafe { *out_n = needed };
        return nfh_result::InsufficientSize;
    }
    // SAFETY: buf has at least needed + 1 bytes (checked above); regions cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), needed);
        *buf.add(needed) = 0;
        *out_n = needed;
    }
    nfh_result::Ok
}

/// Writes the library version (`"0.1.0"`) into `buf`.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must point to a `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_version(
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    // SAFETY: forwarded caller contract.
    boundary(|| unsafe { write_text(env!("CARGO_PKG_VERSION"), buf, len, out_n) })
}

/// The number of helpers in the catalogue.
#[unsafe(no_mangle)]
pub extern "C" fn nfh_helper_count() -> usize {
    Helper::ALL.len()
}

/// Writes the kernel name of helper number `index` (0 to `nfh_helper_count() - 1`) into `buf`.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must point to a `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_helper_name(
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    boundary(|| match Helper::ALL.get(index) {
        // SAFETY: forwarded caller contract.
        Some(h) => unsafe { write_text(h.name(), buf, len, out_n) },
        None => nfh_result::InvalidParameter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_buffers() {
        let mut buf = [0 as c_char; 16];
        let mut n = 0usize;
        assert_eq!(nfh_helper_count(), 12);
        let r = unsafe { nfh_helper_name(1, buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(r, nfh_result::Ok);
        assert_eq!(n, 3);
        let r = unsafe { nfh_helper_name(99, buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(r, nfh_result::InvalidParameter);
        let r = unsafe { nfh_version(buf.as_mut_ptr(), 2, &mut n) };
        assert_eq!(r, nfh_result::InsufficientSize);
        assert_eq!(n, env!("CARGO_PKG_VERSION").len());
        let r = unsafe { nfh_version(buf.as_mut_ptr(), buf.len(), std::ptr::null_mut()) };
        assert_eq!(r, nfh_result::NullParameter);
    }
}
