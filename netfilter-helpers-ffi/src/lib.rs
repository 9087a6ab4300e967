//! C API for netfilter-helpers (`nfh_*`), declared in `include/netfilter_helpers.h`.
//!
//! This crate converts arguments, calls `netfilter-helpers-core` and converts results; it holds
//! no logic of its own. The header is generated from this crate by cbindgen (pinned through
//! `Cargo.lock`) and checked for drift by `tests/header.rs`.
//!
//! Conventions (modelled on rustls-ffi):
//! * every symbol starts with `nfh_`; fallible functions return an `nfh_result` whose numbers
//!   are fixed and never reused; outputs are written only on success;
//! * objects are opaque handles created by `nfh_*_new`/`_parse` and freed by `nfh_*_free`;
//!   freeing NULL does nothing; freeing twice is forbidden;
//! * detail comes through an optional `nfh_error **err` (NULL allowed) that the caller frees
//!   with `nfh_error_free`; there is no thread-local "last error";
//! * text outputs go into caller buffers `(char *buf, size_t len, size_t *out_n)`: on success
//!   `*out_n` is the length written (without the NUL that follows it); on
//!   `NFH_RESULT_INSUFFICIENT_SIZE` it is the length needed (again without the NUL) and nothing
//!   is written, so a call with `len` 0 is a size query;
//! * text inputs are NUL-terminated UTF-8 (`NFH_RESULT_INVALID_UTF8` otherwise);
//! * every enum that crosses the ABI (`nfh_backend`, `nfh_helper`, `nfh_expectation_kind`,
//!   `nfh_doc_format`, ...) has its numbers written in its declaration (`enums.rs`), fixed
//!   and never reused; C passes them as `uint32_t`, decoded by a `match` on those numbers
//!   (`NFH_RESULT_INVALID_PARAMETER` for any other); `tests/abi_numbers.rs` pins every number;
//! * every export runs behind a panic boundary (`NFH_RESULT_PANIC`, or NULL / 0 / false);
//! * `nfh_watch_*` watches the kernel's live expectations over ctnetlink, and
//!   `nfh_audit_host` reads a host (its files under a root, and on the live host `nft`,
//!   `iptables-save`, `ip` and a ctnetlink dump): the two parts of the API that do I/O,
//!   through `netfilter-helpers-netlink` and `netfilter-helpers-host`; Linux only;
//! * callbacks (`nfh_judged_fn`, `nfh_read_fn`, `nfh_watch_fn`) run on the calling thread and get the
//!   caller's `void *ctx`; a view handed to a callback is borrowed for that call only;
//! * thread safety is stated per type: options are mutable and not to be shared while being
//!   changed; validators, judges, policies, expectations, verdicts, rulesets and errors are
//!   immutable and may be read from several threads at once.
//!
//! Modules, bottom up (each imports only from those before it): `c_enum` (how enum numbers
//! are decoded), `result` (`nfh_result`, the error object's type), `ffi` (every cast, NULL
//! check, buffer copy and the panic boundary, as macros that hold the crate's `unsafe`),
//! `enums` (the C enums and their mapping to the core), `error` (reading errors),
//! `catalogue` (helpers, module options, the degree-of-freedom model), `expect`
//! (expectations, validators, policies, verdicts), `judge` (batch judging), `ruleset` (sites
//! and rendering), `audit` (the host audit, hazards of live rulesets, a site's drift).
#![allow(non_camel_case_types)]
// The C ABI needs raw pointers; every dereference is in `ffi.rs` helpers and macros that
// check for NULL.
#![allow(unsafe_code)]

mod audit;
mod c_enum;
mod catalogue;
mod enums;
mod error;
mod expect;
mod ffi;
mod judge;
mod result;
mod ruleset;
mod watch;

pub use audit::*;
pub use catalogue::*;
pub use enums::*;
pub use error::*;
pub use expect::*;
pub use judge::*;
pub use result::*;
pub use ruleset::*;
pub use watch::*;

/// Writes the library version (`"0.1.0"`) into `buf`.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must point to a `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nfh_version(
    buf: *mut std::ffi::c_char,
    len: usize,
    out_n: *mut usize,
) -> nfh_result {
    ffi::boundary(|| ffi::write_text!(env!("CARGO_PKG_VERSION"), buf, len, out_n))
}
