//! The extern "C" functions called from Rust: buffers, errors, NULLs and the main paths.
#![allow(unsafe_code)]

use std::ffi::{CString, c_char};
use std::ptr::{null, null_mut};

use netfilter_helpers_ffi::*;

fn text(f: impl Fn(*mut c_char, usize, *mut usize) -> nfh_result) -> String {
    let mut n = 0usize;
    assert_eq!(f(null_mut(), 0, &mut n), nfh_result::InsufficientSize);
    let mut buf = vec![0 as c_char; n + 1];
    assert_eq!(f(buf.as_mut_ptr(), buf.len(), &mut n), nfh_result::Ok);
    let bytes: Vec<u8> = buf[..n].iter().map(|c| *c as u8).collect();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn catalogue_and_options() {
    assert_eq!(nfh_helper_count(), 12);
    assert_eq!(
        text(|b, l, n| unsafe { nfh_helper_name(10, b, l, n) }),
        "Q.931"
    );
    let mut n = 0;
    assert_eq!(
        unsafe { nfh_helper_name(12, null_mut(), 0, &mut n) },
        nfh_result::InvalidParameter
    );
    let opts = nfh_options_new();
    let set = CString::new("ftp.loose=1").unwrap();
    assert_eq!(
        unsafe { nfh_options_set(opts, set.as_ptr(), null_mut()) },
        nfh_result::Ok
    );
    let bad = CString::new("irc.max_dcc_channels=0").unwrap();
    let mut err: *mut nfh_error = null_mut();
    assert_eq!(
        unsafe { nfh_options_set(opts, bad.as_ptr(), &mut err) },
        nfh_result::InvalidValue
    );
    let msg = text(|b, l, n| unsafe { nfh_error_message(err, b, l, n) });
    assert!(msg.contains("accepted 1..=255"), "{msg}");
    unsafe { nfh_error_free(err) };
    assert_eq!(
        text(|b, l, n| unsafe { nfh_options_render_modprobe(opts, b, l, n) }),
        "options nf_conntrack_ftp loose=1\n"
    );
    let table = text(|b, l, n| unsafe { nfh_dof_table(opts, 1, b, l, n) });
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("ftp ") && l.contains(" P ")),
        "{table}"
    );
    let mut rule = std::mem::MaybeUninit::<nfh_rule>::uninit();
    assert_eq!(
        unsafe { nfh_dof_rule(opts, 1, rule.as_mut_ptr()) },
        nfh_result::Ok
    );
    let rule = unsafe { rule.assume_init() };
    assert_eq!(rule.dst_addr.kind, nfh_freedom_kind::Payload as u32);
    assert!(rule.risky);
    assert_eq!(
        unsafe { nfh_dof_table(opts, 9, null_mut(), 0, &mut n) },
        nfh_result::InvalidParameter
    );
    unsafe { nfh_options_free(opts) };
    unsafe { nfh_options_free(null_mut()) };
}

#[test]
fn expectations_and_sites() {
    let v = unsafe { nfh_validator_new(null()) };
    let line = CString::new("299 proto=6 src=10.0.1.2 dst=10.0.0.77 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.0.2 master-dst=10.0.1.2 sport=40000 dport=21 class=0 helper=ftp").unwrap();
    let mut verdict: *mut nfh_verdict = null_mut();
    assert_eq!(
        unsafe { nfh_validator_check_line(v, null(), line.as_ptr(), &mut verdict, null_mut()) },
        nfh_result::Ok
    );
    assert!(!unsafe { nfh_verdict_conforms(verdict) });
    let t = text(|b, l, n| unsafe { nfh_verdict_text(verdict, b, l, n) });
    assert!(t.contains("destination-address"), "{t}");
    unsafe { nfh_verdict_free(verdict) };
    let garbage = CString::new("nonsense").unwrap();
    let mut err: *mut nfh_error = null_mut();
    assert_eq!(
        unsafe { nfh_validator_check_line(v, null(), garbage.as_ptr(), &mut verdict, &mut err) },
        nfh_result::ParseError
    );
    assert_eq!(unsafe { nfh_error_code(err) }, nfh_result::ParseError);
    unsafe { nfh_error_free(err) };

    let site = CString::new("[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n[[interfaces]]\nname = \"eth1\"\nnetworks = [\"10.0.0.1/24\"]\n").unwrap();
    let mut s: *mut nfh_site = null_mut();
    assert_eq!(
        unsafe { nfh_site_parse(site.as_ptr(), 0, &mut s, null_mut()) },
        nfh_result::Ok
    );
    let nft = text(|b, l, n| unsafe { nfh_site_render(s, 3, b, l, n, null_mut()) });
    assert!(nft.contains("table inet nfh") && !nft.contains("ct mark"));
    let remove = text(|b, l, n| unsafe {
        nfh_site_render(s, nfh_backend::NftRemove as u32, b, l, n, null_mut())
    });
    assert!(remove.contains("delete table inet nfh"), "{remove}");
    let mut n = 0;
    assert_eq!(
        unsafe { nfh_site_render(s, 10, null_mut(), 0, &mut n, null_mut()) },
        nfh_result::InvalidParameter
    );
    assert_eq!(unsafe { nfh_site_warning_count(s) }, 0);
    unsafe { nfh_site_free(s) };
    let risky = CString::new("[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n[[services]]\nname = \"chat\"\nhelper = \"irc\"\ndirection = \"outbound\"\nservers = [\"192.0.2.6\"]\n").unwrap();
    assert_eq!(
        unsafe { nfh_site_parse(risky.as_ptr(), 0, &mut s, null_mut()) },
        nfh_result::Ok
    );
    assert_eq!(unsafe { nfh_site_warning_count(s) }, 1);
    let w = text(|b, l, n| unsafe { nfh_site_warning(s, 0, b, l, n) });
    assert!(w.starts_with("services[0].related: "), "{w}");
    unsafe { nfh_site_free(s) };
    let bad =
        CString::new("[[interfaces]]\nname = \"a b\"\n[[interfaces]]\nname = \"c/d\"\n").unwrap();
    let mut err: *mut nfh_error = null_mut();
    assert_eq!(
        unsafe { nfh_site_parse(bad.as_ptr(), 0, &mut s, &mut err) },
        nfh_result::InvalidValue
    );
    assert_eq!(unsafe { nfh_error_problem_count(err) }, 3);
    let p = text(|b, l, n| unsafe { nfh_error_problem(err, 1, b, l, n) });
    assert!(p.starts_with("interfaces[1].name: "), "{p}");
    unsafe { nfh_error_free(err) };
    unsafe { nfh_validator_free(v) };
    assert_eq!(
        text(|b, l, n| unsafe { nfh_result_message(99999, b, l, n) }),
        "an integer argument was out of range"
    );
}
