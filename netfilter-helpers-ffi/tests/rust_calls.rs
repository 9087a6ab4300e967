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
    let mut n = 0;
    assert_eq!(
        unsafe { nfh_helper_list(null_mut(), 0, &mut n) },
        nfh_result::InsufficientSize
    );
    assert_eq!(n, 12);
    let mut helpers = vec![0u32; n];
    assert_eq!(
        unsafe { nfh_helper_list(helpers.as_mut_ptr(), helpers.len(), &mut n) },
        nfh_result::Ok
    );
    assert_eq!(helpers[0], nfh_helper::Amanda as u32);
    assert!(helpers.contains(&(nfh_helper::Q931 as u32)));
    assert_eq!(
        text(|b, l, n| unsafe { nfh_helper_name(nfh_helper::Q931 as u32, b, l, n) }),
        "Q.931"
    );
    for bad in [0, 13, u32::MAX] {
        assert_eq!(
            unsafe { nfh_helper_name(bad, null_mut(), 0, &mut n) },
            nfh_result::InvalidParameter
        );
    }
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
    let table =
        text(|b, l, n| unsafe { nfh_dof_table(opts, nfh_table_format::Precise as u32, b, l, n) });
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("ftp ") && l.contains(" P ")),
        "{table}"
    );
    let mut rule = std::mem::MaybeUninit::<nfh_dof_rule_info>::uninit();
    let ftp_data = nfh_expectation_kind::FtpData as u32;
    assert_eq!(
        unsafe { nfh_dof_rule(opts, ftp_data, rule.as_mut_ptr()) },
        nfh_result::Ok
    );
    let rule = unsafe { rule.assume_init() };
    assert_eq!(rule.kind, ftp_data);
    assert_eq!(rule.helper, nfh_helper::Ftp as u32);
    assert_eq!(rule.dst_addr.kind, nfh_freedom_kind::Payload as u32);
    assert!(rule.risky);
    let mut out = std::mem::MaybeUninit::<nfh_dof_rule_info>::uninit();
    for bad in [0, 21, u32::MAX] {
        assert_eq!(
            unsafe { nfh_dof_rule(opts, bad, out.as_mut_ptr()) },
            nfh_result::InvalidParameter
        );
    }
    assert_eq!(
        text(|b, l, n| unsafe { nfh_dof_rule_label(ftp_data, b, l, n) }),
        "ftp data"
    );
    let mut kinds = vec![0u32; 32];
    assert_eq!(
        unsafe { nfh_expectation_kind_list(kinds.as_mut_ptr(), kinds.len(), &mut n) },
        nfh_result::Ok
    );
    assert_eq!(n, 20);
    assert_eq!(kinds[1], ftp_data);
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
    let mut s: *mut nfh_ruleset = null_mut();
    assert_eq!(
        unsafe { nfh_ruleset_from_site(site.as_ptr(), 0, &mut s, null_mut()) },
        nfh_result::Ok
    );
    let nft = text(|b, l, n| unsafe {
        nfh_ruleset_render(s, nfh_backend::Nft as u32, b, l, n, null_mut())
    });
    assert!(nft.contains("table inet nfh") && !nft.contains("ct mark"));
    let remove = text(|b, l, n| unsafe {
        nfh_ruleset_render(s, nfh_backend::NftRemove as u32, b, l, n, null_mut())
    });
    assert!(remove.contains("delete table inet nfh"), "{remove}");
    let mut n = 0;
    assert_eq!(
        unsafe { nfh_ruleset_render(s, 10, null_mut(), 0, &mut n, null_mut()) },
        nfh_result::InvalidParameter
    );
    assert_eq!(unsafe { nfh_ruleset_warning_count(s) }, 0);
    unsafe { nfh_ruleset_free(s) };
    let risky = CString::new("[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n[[services]]\nname = \"chat\"\nhelper = \"irc\"\ndirection = \"outbound\"\nservers = [\"192.0.2.6\"]\n").unwrap();
    assert_eq!(
        unsafe { nfh_ruleset_from_site(risky.as_ptr(), 0, &mut s, null_mut()) },
        nfh_result::Ok
    );
    assert_eq!(unsafe { nfh_ruleset_warning_count(s) }, 1);
    let w = text(|b, l, n| unsafe { nfh_ruleset_warning(s, 0, b, l, n) });
    assert!(w.starts_with("services[0].related: "), "{w}");
    unsafe { nfh_ruleset_free(s) };
    let bad =
        CString::new("[[interfaces]]\nname = \"a b\"\n[[interfaces]]\nname = \"c/d\"\n").unwrap();
    let mut err: *mut nfh_error = null_mut();
    assert_eq!(
        unsafe { nfh_ruleset_from_site(bad.as_ptr(), 0, &mut s, &mut err) },
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

// ---- batch judging -------------------------------------------------------------------------

use std::ffi::{c_int, c_void};

use netfilter_helpers_core::judge::{Detail, Judge};
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_core::policy::SitePolicy;

const GOOD: &str = "299 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=55446 dport=21 class=0 helper=ftp";
const BOUNCE: &str = "299 proto=6 src=10.71.2.2 dst=10.71.2.3 sport=0 dport=50001 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=55456 dport=21 class=0 helper=ftp";
const IRC: &str = "299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.71.1.2 sport=0 dport=50010 irc";
const BAD_PORT: &str =
    "300 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=99999 mask-src=255.255.255.255";
const POLICY: &str = "default = \"allow\"\n[helpers.irc]\nmin_port = 60000\n";

/// Good, bad (model and policy), unparsable, blank and summary lines, more than one 256 KiB
/// piece, no trailing newline.
fn mixed(lines: usize) -> Vec<u8> {
    let mut t = Vec::new();
    for i in 0..lines {
        let l = match i % 7 {
            0 | 1 => GOOD,
            2 => BOUNCE,
            3 => IRC,
            4 => "",
            5 => BAD_PORT,
            _ if i % 2 == 0 => "   ",
            _ => "conntrack v1.4.7 (conntrack-tools): 2 expectations have been shown.",
        };
        t.extend_from_slice(l.as_bytes());
        t.push(b'\n');
    }
    t.extend_from_slice(IRC.as_bytes());
    t
}

/// One delivered result, read through the C accessors.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    line: usize,
    conforms: bool,
    parsed: bool,
    error: String,
    helper: String,
    findings: Vec<(u32, String)>,
    text: String,
}

struct Collect {
    rows: Vec<Row>,
    stop_after: usize,
}

unsafe extern "C" fn collect(ctx: *mut c_void, j: *const nfh_judged) -> c_int {
    let c = unsafe { &mut *ctx.cast::<Collect>() };
    let findings = (0..unsafe { nfh_judged_finding_count(j) })
        .map(|i| {
            let sev = std::cell::Cell::new(u32::MAX);
            let t = text(|b, l, n| unsafe { nfh_judged_finding(j, i, sev.as_ptr(), b, l, n) });
            (sev.get(), t)
        })
        .collect();
    c.rows.push(Row {
        line: unsafe { nfh_judged_line_number(j) },
        conforms: unsafe { nfh_judged_conforms(j) },
        parsed: unsafe { nfh_judged_parsed(j) },
        error: text(|b, l, n| unsafe { nfh_judged_error(j, b, l, n) }),
        helper: text(|b, l, n| unsafe { nfh_judged_helper(j, b, l, n) }),
        findings,
        text: text(|b, l, n| unsafe { nfh_judged_text(j, b, l, n) }),
    });
    c_int::from(c.rows.len() >= c.stop_after)
}

fn judge_buffer(j: *const nfh_judge, buf: &[u8], threads: usize, quiet: bool) -> Vec<Row> {
    let mut c = Collect {
        rows: Vec::new(),
        stop_after: usize::MAX,
    };
    let r = unsafe {
        nfh_judge_buffer(
            j,
            buf.as_ptr(),
            buf.len(),
            threads,
            quiet,
            Some(collect),
            (&raw mut c).cast(),
        )
    };
    assert_eq!(r, nfh_result::Ok);
    c.rows
}

fn count(j: *const nfh_judge, buf: &[u8], threads: usize) -> nfh_counts {
    let mut out = nfh_counts::default();
    assert_eq!(
        unsafe { nfh_judge_count(j, buf.as_ptr(), buf.len(), threads, &mut out) },
        nfh_result::Ok
    );
    out
}

#[test]
fn batch_agrees_with_the_core() {
    let text = mixed(20_000);
    assert!(text.len() > 4 * 256 * 1024, "several pieces per thread");
    let policy_text = CString::new(POLICY).unwrap();
    let mut p: *mut nfh_policy = null_mut();
    assert_eq!(
        unsafe { nfh_policy_parse(policy_text.as_ptr(), 0, &mut p, null_mut()) },
        nfh_result::Ok
    );
    for with_policy in [false, true] {
        let core = Judge::new(
            &ModuleOptions::new(),
            with_policy.then(|| SitePolicy::from_toml(POLICY).unwrap()),
        );
        let j = unsafe { nfh_judge_new(null(), if with_policy { p } else { null() }) };
        assert!(!j.is_null());
        let want = core.count_buffer(&text, 1);
        for threads in [0, 1, 2, 4] {
            let c = count(j, &text, threads);
            assert_eq!(
                (c.lines, c.conforming, c.unparsable),
                (want.lines, want.conforming, want.unparsable),
                "policy {with_policy}, {threads} threads"
            );
        }
        assert_eq!(want.unparsable, (0..20_000).filter(|i| i % 7 == 5).count());
        assert!(
            want.conforming > 0 && want.conforming + want.unparsable < want.lines,
            "{want:?} policy {with_policy}"
        );

        let mut core_rows = Vec::new();
        core.judge_buffer(&text, 1, Detail::Full, |r| core_rows.push(r));
        let full = judge_buffer(j, &text, 1, false);
        assert_eq!(full.len(), core_rows.len());
        for (row, r) in full.iter().zip(&core_rows) {
            assert_eq!(row.line, r.line);
            assert_eq!(row.conforms, r.conforms);
            assert_eq!(row.parsed, r.outcome.is_ok());
            assert_eq!(row.helper, r.helper_name().unwrap_or(""));
            match &r.outcome {
                Err(e) => {
                    assert_eq!(row.error, e.to_string());
                    assert!(row.findings.is_empty() && row.text.is_empty());
                }
                Ok((_, judgement)) => {
                    let judgement = judgement.as_ref().expect("full detail");
                    assert!(row.error.is_empty());
                    let want: Vec<String> = judgement
                        .findings()
                        .map(|f| format!("[{}] {}", f.code, f.message))
                        .collect();
                    let got: Vec<String> = row.findings.iter().map(|(_, t)| t.clone()).collect();
                    assert_eq!(got, want);
                    assert_eq!(row.conforms, judgement.conforms());
                }
            }
        }
        assert_eq!(full.iter().filter(|r| r.conforms).count(), want.conforming);
        assert_eq!(full.iter().filter(|r| !r.parsed).count(), want.unparsable);
        // The policy's port floor rejects the irc lines, which the model alone accepts.
        let irc = full.iter().find(|r| r.helper == "irc").unwrap();
        assert_eq!(irc.conforms, !with_policy, "{irc:?}");
        // The last line has no newline and is judged too.
        assert_eq!(full.last().unwrap().line, 20_001);

        // Threads change nothing; quiet drops only the findings of conforming lines.
        for threads in [2, 4] {
            assert_eq!(
                judge_buffer(j, &text, threads, false),
                full,
                "{threads} threads"
            );
        }
        let quiet = judge_buffer(j, &text, 4, true);
        assert_eq!(quiet.len(), full.len());
        for (q, f) in quiet.iter().zip(&full) {
            assert_eq!(
                (q.line, q.conforms, q.parsed),
                (f.line, f.conforms, f.parsed)
            );
            if q.conforms {
                assert!(q.findings.is_empty() && q.text.is_empty());
            } else {
                assert_eq!(q, f);
            }
        }
        unsafe { nfh_judge_free(j) };
    }
    // The judge copied the policy: freeing it first changes nothing.
    let j = unsafe { nfh_judge_new(null(), p) };
    unsafe { nfh_policy_free(p) };
    let core = Judge::new(
        &ModuleOptions::new(),
        Some(SitePolicy::from_toml(POLICY).unwrap()),
    );
    let want = core.count_buffer(&text, 1);
    assert_eq!(count(j, &text, 2).conforming, want.conforming);
    unsafe { nfh_judge_free(j) };
}

#[test]
fn batch_stops_early_and_checks_arguments() {
    let text = mixed(20_000);
    let j = unsafe { nfh_judge_new(null(), null()) };
    for threads in [1, 4] {
        let mut c = Collect {
            rows: Vec::new(),
            stop_after: 3,
        };
        let r = unsafe {
            nfh_judge_buffer(
                j,
                text.as_ptr(),
                text.len(),
                threads,
                false,
                Some(collect),
                (&raw mut c).cast(),
            )
        };
        assert_eq!(r, nfh_result::Stopped);
        assert_eq!(c.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 2, 3]);
    }
    let mut out = nfh_counts {
        lines: 7,
        conforming: 7,
        unparsable: 7,
    };
    let before = out;
    let t = text.as_ptr();
    let n = text.len();
    unsafe {
        assert_eq!(
            nfh_judge_count(null(), t, n, 1, &mut out),
            nfh_result::NullParameter
        );
        assert_eq!(
            nfh_judge_count(j, null(), n, 1, &mut out),
            nfh_result::NullParameter
        );
        assert_eq!(
            nfh_judge_count(j, t, n, 1, null_mut()),
            nfh_result::NullParameter
        );
        assert_eq!(
            nfh_judge_count(j, t, n, NFH_MAX_THREADS + 1, &mut out),
            nfh_result::InvalidParameter
        );
        assert_eq!(out, before);
        assert_eq!(nfh_judge_count(j, null(), 0, 1, &mut out), nfh_result::Ok);
        assert_eq!(out, nfh_counts::default());
        let mut c = Collect {
            rows: Vec::new(),
            stop_after: usize::MAX,
        };
        let ctx: *mut c_void = (&raw mut c).cast();
        assert_eq!(
            nfh_judge_buffer(null(), t, n, 1, false, Some(collect), ctx),
            nfh_result::NullParameter
        );
        assert_eq!(
            nfh_judge_buffer(j, null(), n, 1, false, Some(collect), ctx),
            nfh_result::NullParameter
        );
        assert_eq!(
            nfh_judge_buffer(j, t, n, 1, false, None, ctx),
            nfh_result::NullParameter
        );
        assert_eq!(
            nfh_judge_buffer(j, t, n, usize::MAX, false, Some(collect), ctx),
            nfh_result::InvalidParameter
        );
        assert!(c.rows.is_empty(), "no callback on argument errors");
        assert_eq!(
            nfh_judge_buffer(j, null(), 0, 1, false, Some(collect), ctx),
            nfh_result::Ok
        );
        assert!(c.rows.is_empty());
    }
    unsafe { nfh_judge_free(j) };
    unsafe { nfh_judge_free(null_mut()) };
}

/// A read callback over a slice, at most `step` bytes at a time; fails at `fail_at` bytes.
struct Source<'a> {
    rest: &'a [u8],
    step: usize,
    fail_at: Option<usize>,
    read: usize,
    calls: usize,
}

unsafe extern "C" fn source_read(ctx: *mut c_void, buf: *mut u8, len: usize) -> isize {
    let s = unsafe { &mut *ctx.cast::<Source<'_>>() };
    s.calls += 1;
    if s.fail_at.is_some_and(|f| s.read >= f) {
        return -1;
    }
    let n = s.rest.len().min(len).min(s.step);
    unsafe { std::ptr::copy_nonoverlapping(s.rest.as_ptr(), buf, n) };
    s.rest = &s.rest[n..];
    s.read += n;
    n as isize
}

fn judge_read(
    j: *const nfh_judge,
    s: &mut Source<'_>,
    threads: usize,
    stop_after: usize,
) -> (nfh_result, Vec<Row>) {
    let mut c = Collect {
        rows: Vec::new(),
        stop_after,
    };
    let r = unsafe {
        nfh_judge_read(
            j,
            Some(source_read),
            std::ptr::from_mut(s).cast(),
            threads,
            false,
            Some(collect),
            (&raw mut c).cast(),
        )
    };
    (r, c.rows)
}

#[test]
fn read_callback_agrees_with_the_buffer() {
    let text = mixed(20_000);
    let j = unsafe { nfh_judge_new(null(), null()) };
    let want = judge_buffer(j, &text, 1, false);
    for (step, threads) in [(usize::MAX, 1), (1000, 4), (7, 2)] {
        let mut s = Source {
            rest: &text,
            step,
            fail_at: None,
            read: 0,
            calls: 0,
        };
        let (r, rows) = judge_read(j, &mut s, threads, usize::MAX);
        assert_eq!(r, nfh_result::Ok);
        assert!(rows == want, "step {step}, {threads} threads");
    }
    // Stopping ends the reading too.
    let mut s = Source {
        rest: &text,
        step: 4096,
        fail_at: None,
        read: 0,
        calls: 0,
    };
    let (r, rows) = judge_read(j, &mut s, 1, 2);
    assert_eq!(r, nfh_result::Stopped);
    assert_eq!(rows.len(), 2);
    assert!(s.read < text.len() / 4, "read {} of {}", s.read, text.len());
    // A failing read: what was read before is delivered, then READ_ERROR.
    let mut s = Source {
        rest: &text,
        step: 100_000,
        fail_at: Some(300_000),
        read: 0,
        calls: 0,
    };
    let (r, rows) = judge_read(j, &mut s, 2, usize::MAX);
    assert_eq!(r, nfh_result::ReadError);
    assert!(!rows.is_empty() && rows.len() < want.len());
    assert!(rows.iter().zip(&want).all(|(a, b)| a == b));
    // Arguments.
    let mut s = Source {
        rest: &text,
        step: 1,
        fail_at: None,
        read: 0,
        calls: 0,
    };
    let sp: *mut c_void = std::ptr::from_mut(&mut s).cast();
    unsafe {
        let cb = Some(collect as unsafe extern "C" fn(_, _) -> _);
        let rd = Some(source_read as unsafe extern "C" fn(_, _, _) -> _);
        assert_eq!(
            nfh_judge_read(null(), rd, sp, 1, false, cb, null_mut()),
            nfh_result::NullParameter
        );
        assert_eq!(
            nfh_judge_read(j, None, sp, 1, false, cb, null_mut()),
            nfh_result::NullParameter
        );
        assert_eq!(
            nfh_judge_read(j, rd, sp, 1, false, None, null_mut()),
            nfh_result::NullParameter
        );
        assert_eq!(
            nfh_judge_read(j, rd, sp, NFH_MAX_THREADS + 1, false, cb, null_mut()),
            nfh_result::InvalidParameter
        );
    }
    assert_eq!(s.calls, 0, "no read on argument errors");
    unsafe { nfh_judge_free(j) };
}
