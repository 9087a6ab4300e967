//! The numbers of every enum that crosses the C ABI, pinned.
//!
//! Each `pinned_*` function is an exhaustive `match` over a C enum giving the number C
//! programs were compiled with: a new C variant fails to compile here until its number is
//! pinned, and a changed number fails the test. Each C enum must also decode every pinned
//! number (`from_u32`) and nothing else, and every variant of the matching core enum must have
//! a C number (for the core's `#[non_exhaustive]` enums, which other crates cannot match
//! exhaustively, through the core's `ALL` lists).

#![allow(unsafe_code)]

use netfilter_helpers_core::catalogue::Helper;
use netfilter_helpers_core::doc::DocFormat;
use netfilter_helpers_core::dof::{Endpoint, ExpectationKind};
use netfilter_helpers_core::render::Backend;
use netfilter_helpers_core::report::Severity;
use netfilter_helpers_ffi::*;

/// Checks one C enum: every variant has its pinned number and decodes from it; numbers no
/// variant has do not decode.
fn check<T: Copy + PartialEq + std::fmt::Debug>(
    name: &str,
    all: &[T],
    number: impl Fn(T) -> u32,
    pinned: impl Fn(T) -> u32,
    from_u32: impl Fn(u32) -> Option<T>,
) {
    let mut numbers = Vec::new();
    for &v in all {
        assert_eq!(
            number(v),
            pinned(v),
            "{name}::{v:?} changed its number: C programs compiled against the old header break"
        );
        assert_eq!(
            from_u32(pinned(v)),
            Some(v),
            "{name}::{v:?} does not decode"
        );
        numbers.push(pinned(v));
    }
    let mut unique = numbers.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        numbers.len(),
        "{name}: two variants share a number"
    );
    for n in (0..8000).chain([u32::MAX - 1, u32::MAX]) {
        if !numbers.contains(&n) {
            assert_eq!(
                from_u32(n),
                None,
                "{name} decodes {n}, which no variant has"
            );
        }
    }
}

fn pinned_result(r: nfh_result) -> u32 {
    match r {
        nfh_result::Ok => 0,
        nfh_result::NullParameter => 7001,
        nfh_result::InvalidParameter => 7002,
        nfh_result::InsufficientSize => 7003,
        nfh_result::Panic => 7004,
        nfh_result::InvalidUtf8 => 7005,
        nfh_result::Stopped => 7006,
        nfh_result::UnknownName => 7101,
        nfh_result::InvalidValue => 7102,
        nfh_result::ParseError => 7103,
        nfh_result::RenderError => 7104,
        nfh_result::ReadError => 7105,
        nfh_result::PermissionDenied => 7201,
        nfh_result::NotAvailable => 7202,
        nfh_result::IoError => 7203,
    }
}

fn pinned_severity(s: nfh_severity) -> u32 {
    match s {
        nfh_severity::Info => 0,
        nfh_severity::Warning => 1,
        nfh_severity::Error => 2,
    }
}

fn pinned_table_format(f: nfh_table_format) -> u32 {
    match f {
        nfh_table_format::Article => 0,
        nfh_table_format::Precise => 1,
        nfh_table_format::Json => 2,
    }
}

fn pinned_doc_format(f: nfh_doc_format) -> u32 {
    match f {
        nfh_doc_format::Toml => 0,
        nfh_doc_format::Json => 1,
    }
}

fn pinned_freedom_kind(k: nfh_freedom_kind) -> u32 {
    match k {
        nfh_freedom_kind::Master => 0,
        nfh_freedom_kind::PayloadChecked => 1,
        nfh_freedom_kind::Payload => 2,
        nfh_freedom_kind::Wildcard => 3,
        nfh_freedom_kind::InterfaceNetwork => 4,
        nfh_freedom_kind::HelperPort => 5,
        nfh_freedom_kind::Protocol => 6,
        nfh_freedom_kind::MasterProtocol => 7,
    }
}

fn pinned_endpoint(e: nfh_endpoint) -> u32 {
    match e {
        nfh_endpoint::None => 0,
        nfh_endpoint::Initiator => 1,
        nfh_endpoint::Responder => 2,
        nfh_endpoint::Sender => 3,
        nfh_endpoint::Peer => 4,
    }
}

fn pinned_backend(b: nfh_backend) -> u32 {
    match b {
        nfh_backend::Iptables => 0,
        nfh_backend::Ip6tables => 1,
        nfh_backend::Commands => 2,
        nfh_backend::Nft => 3,
        nfh_backend::NftJson => 4,
        nfh_backend::Sysctl => 5,
        nfh_backend::Modprobe => 6,
        nfh_backend::IptablesHooks => 7,
        nfh_backend::IptablesRemove => 8,
        nfh_backend::NftRemove => 9,
    }
}

fn pinned_helper(h: nfh_helper) -> u32 {
    match h {
        nfh_helper::Amanda => 1,
        nfh_helper::Ftp => 2,
        nfh_helper::Irc => 3,
        nfh_helper::NetbiosNs => 4,
        nfh_helper::Snmp => 5,
        nfh_helper::Pptp => 6,
        nfh_helper::Sane => 7,
        nfh_helper::Sip => 8,
        nfh_helper::Tftp => 9,
        nfh_helper::Ras => 10,
        nfh_helper::Q931 => 11,
        nfh_helper::H245 => 12,
    }
}

fn pinned_expectation_kind(k: nfh_expectation_kind) -> u32 {
    use nfh_expectation_kind as K;
    match k {
        K::AmandaData => 1,
        K::FtpData => 2,
        K::IrcDcc => 3,
        K::NetbiosNsReply => 4,
        K::SnmpReply => 5,
        K::PptpGre => 6,
        K::SaneData => 7,
        K::SipSignalling => 8,
        K::SipAudio => 9,
        K::SipVideo => 10,
        K::SipImage => 11,
        K::TftpData => 12,
        K::RasFromGcf => 13,
        K::Q931FromRrq => 14,
        K::Q931FromAcf => 15,
        K::Q931FromLcf => 20,
        K::H245FromQ931 => 16,
        K::Q931CallForward => 17,
        K::H323RtpRtcp => 18,
        K::H323_T120 => 19,
    }
}

fn pinned_watch_kind(k: nfh_watch_kind) -> u32 {
    match k {
        nfh_watch_kind::Existing => 0,
        nfh_watch_kind::New => 1,
        nfh_watch_kind::Destroyed => 2,
        nfh_watch_kind::Lost => 3,
        nfh_watch_kind::Malformed => 4,
    }
}

fn pinned_deletion(d: nfh_deletion) -> u32 {
    match d {
        nfh_deletion::None => 0,
        nfh_deletion::Deleted => 1,
        nfh_deletion::Gone => 2,
        nfh_deletion::Failed => 3,
    }
}

#[test]
fn every_c_enum_keeps_its_numbers() {
    check(
        "nfh_watch_kind",
        nfh_watch_kind::ALL,
        |v| v as u32,
        pinned_watch_kind,
        nfh_watch_kind::from_u32,
    );
    check(
        "nfh_deletion",
        nfh_deletion::ALL,
        |v| v as u32,
        pinned_deletion,
        nfh_deletion::from_u32,
    );
    check(
        "nfh_result",
        nfh_result::ALL,
        |v| v as u32,
        pinned_result,
        nfh_result::from_u32,
    );
    check(
        "nfh_severity",
        nfh_severity::ALL,
        |v| v as u32,
        pinned_severity,
        nfh_severity::from_u32,
    );
    check(
        "nfh_table_format",
        nfh_table_format::ALL,
        |v| v as u32,
        pinned_table_format,
        nfh_table_format::from_u32,
    );
    check(
        "nfh_doc_format",
        nfh_doc_format::ALL,
        |v| v as u32,
        pinned_doc_format,
        nfh_doc_format::from_u32,
    );
    check(
        "nfh_freedom_kind",
        nfh_freedom_kind::ALL,
        |v| v as u32,
        pinned_freedom_kind,
        nfh_freedom_kind::from_u32,
    );
    check(
        "nfh_endpoint",
        nfh_endpoint::ALL,
        |v| v as u32,
        pinned_endpoint,
        nfh_endpoint::from_u32,
    );
    check(
        "nfh_backend",
        nfh_backend::ALL,
        |v| v as u32,
        pinned_backend,
        nfh_backend::from_u32,
    );
    check(
        "nfh_helper",
        nfh_helper::ALL,
        |v| v as u32,
        pinned_helper,
        nfh_helper::from_u32,
    );
    check(
        "nfh_expectation_kind",
        nfh_expectation_kind::ALL,
        |v| v as u32,
        pinned_expectation_kind,
        nfh_expectation_kind::from_u32,
    );
}

/// The numbers the generated header declares are the pinned ones (cbindgen writes what the
/// Rust declarations hold; this catches a header that was not regenerated).
#[test]
fn the_header_declares_the_pinned_numbers() {
    let header = include_str!("../../include/netfilter_helpers.h");
    let expect = |line: String| {
        assert!(
            header.lines().any(|l| l.trim() == line),
            "the header lacks `{line}`; regenerate it with NFH_BLESS=1 cargo test -p netfilter-helpers-ffi --test header"
        );
    };
    expect(format!(
        "NFH_HELPER_Q931 = {},",
        pinned_helper(nfh_helper::Q931)
    ));
    expect(format!(
        "NFH_EXPECTATION_KIND_FTP_DATA = {},",
        pinned_expectation_kind(nfh_expectation_kind::FtpData)
    ));
    expect(format!(
        "NFH_BACKEND_NFT_REMOVE = {},",
        pinned_backend(nfh_backend::NftRemove)
    ));
    expect(format!(
        "NFH_DOC_FORMAT_JSON = {},",
        pinned_doc_format(nfh_doc_format::Json)
    ));
    expect(format!(
        "NFH_RESULT_READ_ERROR = {},",
        pinned_result(nfh_result::ReadError)
    ));
}

/// The flags of `nfh_audit_host` keep their bits, and the header declares them.
#[test]
fn audit_flags_are_pinned() {
    assert_eq!(NFH_AUDIT_NO_RULESET, 1);
    let header = include_str!("../../include/netfilter_helpers.h");
    assert!(
        header
            .lines()
            .any(|l| l.trim() == "#define NFH_AUDIT_NO_RULESET 1"),
        "the header lacks NFH_AUDIT_NO_RULESET 1; regenerate it with NFH_BLESS=1 cargo test -p netfilter-helpers-ffi --test header"
    );
}

/// Every core value that crosses the ABI has a C number, and the two mappings agree.
#[test]
fn every_core_variant_has_a_c_number() {
    for b in Backend::ALL {
        let c = nfh_backend::from_core(b)
            .unwrap_or_else(|| panic!("core backend {b} has no nfh_backend number"));
        assert_eq!(c.to_core(), b);
    }
    assert_eq!(nfh_backend::ALL.len(), Backend::ALL.len());
    for h in Helper::ALL {
        let c = nfh_helper::from_core(h)
            .unwrap_or_else(|| panic!("core helper {h} has no nfh_helper number"));
        assert_eq!(c.to_core(), h);
    }
    assert_eq!(nfh_helper::ALL.len(), Helper::ALL.len());
    for k in ExpectationKind::ALL {
        let c = nfh_expectation_kind::from_core(k)
            .unwrap_or_else(|| panic!("core expectation kind {k:?} has no C number"));
        assert_eq!(c.to_core(), k);
    }
    assert_eq!(nfh_expectation_kind::ALL.len(), ExpectationKind::ALL.len());
    // Exhaustive matches over the core enums other crates can match exhaustively: a new
    // variant fails to compile here.
    for f in nfh_doc_format::ALL {
        match f.to_core() {
            DocFormat::Toml | DocFormat::Json => {}
        }
    }
    let _ = |s: Severity| match s {
        Severity::Info | Severity::Warning | Severity::Error => {}
    };
    let _ = |e: Endpoint| match e {
        Endpoint::Initiator | Endpoint::Responder | Endpoint::Sender | Endpoint::Peer => {}
    };
}

/// C callers get `NFH_RESULT_INVALID_PARAMETER` for numbers that are not in an enum, never
/// undefined behaviour.
#[test]
fn unknown_numbers_are_refused() {
    let mut n = 0usize;
    for bad in [0, 13, 1000, u32::MAX] {
        // SAFETY: out_n is a valid size_t; the buffer is NULL with length 0.
        let r = unsafe { nfh_helper_name(bad, std::ptr::null_mut(), 0, &mut n) };
        assert_eq!(r, nfh_result::InvalidParameter, "helper {bad}");
    }
    for bad in [3, 7, u32::MAX] {
        // SAFETY: out_n is a valid size_t; the buffer is NULL with length 0.
        let r = unsafe { nfh_dof_table(std::ptr::null(), bad, std::ptr::null_mut(), 0, &mut n) };
        assert_eq!(r, nfh_result::InvalidParameter, "table format {bad}");
    }
    let text = c"[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n";
    let mut rules: *mut nfh_ruleset = std::ptr::null_mut();
    // SAFETY: NUL-terminated text, writable output.
    let r = unsafe { nfh_ruleset_from_site(text.as_ptr(), 2, &mut rules, std::ptr::null_mut()) };
    assert_eq!(r, nfh_result::InvalidParameter);
    assert!(rules.is_null(), "nothing is written on failure");
    // SAFETY: as above.
    let r = unsafe {
        nfh_ruleset_from_site(
            text.as_ptr(),
            nfh_doc_format::Toml as u32,
            &mut rules,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(r, nfh_result::Ok);
    for bad in [10, 11, u32::MAX] {
        // SAFETY: live ruleset, size query.
        let r = unsafe {
            nfh_ruleset_render(
                rules,
                bad,
                std::ptr::null_mut(),
                0,
                &mut n,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(r, nfh_result::InvalidParameter, "backend {bad}");
    }
    // SAFETY: live ruleset, freed once.
    unsafe { nfh_ruleset_free(rules) };
}
