//! Smoke tests of the kernel lab: each scenario runs against the live kernel and the raw
//! expectation lines are checked for basic facts only (the players work, the helper fires or
//! refuses). Precise model-vs-kernel assertions live elsewhere.
//!
//! Run: `cargo test -p netfilter-helpers-tests --test lab_smoke -- --test-threads=1 --nocapture`
//! (as root; without a lab the tests print `KERNEL LAB NOT RUN` and pass, unless `CI=true`).

use std::net::IpAddr;

use netfilter_helpers_tests::expect::{self, ExpectSnapshot};
use netfilter_helpers_tests::netns::{Family, Host, L4, Lab, addr, host_run};
use netfilter_helpers_tests::require_lab;
use netfilter_helpers_tests::scenarios::{
    self, Exchange, FtpCommand, FtpFlow, IrcDcc, SaneStart, SipInvite, SipRegister,
    SipRegisterReply,
};
use netfilter_helpers_tests::sysparam::{ParamGuard, read_param};

fn lab() -> Lab {
    Lab::new().unwrap_or_else(|e| panic!("cannot build the lab: {e}"))
}

/// Waits for `want` lines in the router, prints both views (test data), returns them.
fn snapshot_in(
    ns: &netfilter_helpers_tests::netns::Netns,
    label: &str,
    want: usize,
) -> ExpectSnapshot {
    let snap = expect::snapshot(ns, want).unwrap_or_else(|e| panic!("{label}: {e}"));
    println!(
        "--- {label}: /proc/net/nf_conntrack_expect ({} lines)",
        snap.proc.len()
    );
    for line in &snap.proc {
        println!("{line}");
    }
    println!(
        "--- {label}: conntrack -L expect ({} lines)",
        snap.conntrack.len()
    );
    for line in &snap.conntrack {
        println!("{line}");
    }
    snap
}

fn snapshot(lab: &Lab, label: &str, want: usize) -> ExpectSnapshot {
    snapshot_in(&lab.router, label, want)
}

fn master(label: &str, ex: &Exchange) {
    println!(
        "=== {label}: master {:?} {} -> {}",
        ex.master.l4, ex.master.client, ex.master.server
    );
}

fn has(line: &str, field: &str) -> bool {
    line.split_whitespace().any(|w| w == field)
}

fn assert_fields(line: &str, fields: &[&str]) {
    for f in fields {
        assert!(has(line, f), "`{f}` missing from {line:?}");
    }
}

/// `/proc` prints IPv6 addresses uncompressed (`%pI6`): fd71:0001:0000:…
fn proc_v6(a: IpAddr) -> String {
    match a {
        IpAddr::V6(v6) => v6
            .segments()
            .iter()
            .map(|s| format!("{s:04x}"))
            .collect::<Vec<_>>()
            .join(":"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

// ------------------------------------------------------------------------------------------
// FTP

#[test]
fn ftp_port_self() {
    let _lock = require_lab!();
    let lab = lab();
    lab.assign_helper(Family::V4, L4::Tcp, 21, "ftp").unwrap();
    let cmd = FtpCommand::Port {
        addr: addr::CLIENT_V4,
        port: 50000,
    };
    let ex = scenarios::ftp(&lab, Family::V4, 21, &cmd).unwrap();
    master("ftp PORT self", &ex);
    let snap = snapshot(&lab, "ftp PORT self", 1);
    assert_eq!(snap.proc.len(), 1, "{snap:?}");
    assert_fields(
        &snap.proc[0],
        &[
            "l3proto",
            "proto=6",
            "src=10.71.2.2",
            "dst=10.71.1.2",
            "sport=0",
            "dport=50000",
            "ftp",
        ],
    );
    assert_eq!(snap.conntrack.len(), 1);
    assert_fields(
        &snap.conntrack[0],
        &["helper=ftp", "dport=50000", "class=0"],
    );
}

#[test]
fn ftp_port_third_party_depends_on_loose() {
    let _lock = require_lab!();
    let cmd = FtpCommand::Port {
        addr: addr::THIRD_V4,
        port: 50001,
    };
    {
        let _loose = ParamGuard::set("nf_conntrack_ftp", "loose", "0").unwrap();
        let lab = lab();
        lab.assign_helper(Family::V4, L4::Tcp, 21, "ftp").unwrap();
        let ex = scenarios::ftp(&lab, Family::V4, 21, &cmd).unwrap();
        master("ftp PORT third loose=0", &ex);
        let snap = snapshot(&lab, "ftp PORT third loose=0", 0);
        assert!(
            snap.proc.is_empty() && snap.conntrack.is_empty(),
            "{snap:?}"
        );
    }
    {
        let _loose = ParamGuard::set("nf_conntrack_ftp", "loose", "1").unwrap();
        let lab = lab();
        lab.assign_helper(Family::V4, L4::Tcp, 21, "ftp").unwrap();
        let ex = scenarios::ftp(&lab, Family::V4, 21, &cmd).unwrap();
        master("ftp PORT third loose=1", &ex);
        let snap = snapshot(&lab, "ftp PORT third loose=1", 1);
        assert_eq!(snap.proc.len(), 1, "{snap:?}");
        assert_fields(
            &snap.proc[0],
            &["src=10.71.2.2", "dst=10.71.2.3", "dport=50001", "ftp"],
        );
    }
    assert_eq!(read_param("nf_conntrack_ftp", "loose").unwrap(), "N");
}

#[test]
fn ftp_eprt_v4_and_nonstandard_port() {
    let _lock = require_lab!();
    let lab = lab();
    lab.assign_helper(Family::V4, L4::Tcp, 2121, "ftp").unwrap();
    let cmd = FtpCommand::Eprt {
        addr: addr::CLIENT_V4.into(),
        port: 50002,
    };
    let ex = scenarios::ftp(&lab, Family::V4, 2121, &cmd).unwrap();
    master("ftp EPRT |1| on 2121", &ex);
    let snap = snapshot(&lab, "ftp EPRT |1| on 2121", 1);
    assert_eq!(snap.proc.len(), 1, "{snap:?}");
    assert_fields(&snap.proc[0], &["dst=10.71.1.2", "dport=50002", "ftp"]);
    assert_fields(&snap.conntrack[0], &["helper=ftp", "dport=2121"]);
}

#[test]
fn ftp_eprt_v6() {
    let _lock = require_lab!();
    let lab = lab();
    lab.assign_helper(Family::V6, L4::Tcp, 21, "ftp").unwrap();
    let cmd = FtpCommand::Eprt {
        addr: addr::CLIENT_V6.into(),
        port: 50003,
    };
    let ex = scenarios::ftp(&lab, Family::V6, 21, &cmd).unwrap();
    master("ftp EPRT |2|", &ex);
    let snap = snapshot(&lab, "ftp EPRT |2|", 1);
    assert_eq!(snap.proc.len(), 1, "{snap:?}");
    let dst = format!("dst={}", proc_v6(addr::CLIENT_V6.into()));
    assert_fields(
        &snap.proc[0],
        &["l3proto", "10", &dst, "dport=50003", "ftp"],
    );
    assert_fields(&snap.conntrack[0], &["dst=fd71:1::2", "helper=ftp"]);
}

#[test]
fn ftp_pasv_227() {
    let _lock = require_lab!();
    let lab = lab();
    lab.assign_helper(Family::V4, L4::Tcp, 21, "ftp").unwrap();
    let cmd = FtpCommand::Pasv {
        addr: addr::SERVER_V4,
        port: 50004,
    };
    let ex = scenarios::ftp(&lab, Family::V4, 21, &cmd).unwrap();
    master("ftp 227", &ex);
    let snap = snapshot(&lab, "ftp 227", 1);
    assert_eq!(snap.proc.len(), 1, "{snap:?}");
    assert_fields(
        &snap.proc[0],
        &["src=10.71.1.2", "dst=10.71.2.2", "dport=50004", "ftp"],
    );
}

#[test]
fn ftp_epsv_229_v4_and_v6() {
    let _lock = require_lab!();
    for family in [Family::V4, Family::V6] {
        let lab = lab();
        lab.assign_helper(family, L4::Tcp, 21, "ftp").unwrap();
        let cmd = FtpCommand::Epsv { port: 50005 };
        let ex = scenarios::ftp(&lab, family, 21, &cmd).unwrap();
        let label = format!("ftp 229 {family:?}");
        master(&label, &ex);
        let snap = snapshot(&lab, &label, 1);
        assert_eq!(snap.proc.len(), 1, "{snap:?}");
        let dst = format!("dst={}", proc_v6(lab.addr(Host::Server, family)));
        assert_fields(&snap.proc[0], &[&dst, "dport=50005", "ftp"]);
    }
}

#[test]
fn ftp_first_segment_of_a_direction_is_not_parsed() {
    let _lock = require_lab!();
    // PORT as the client's first data segment (banner sent, no USER): ignored.
    // 227 as the server's first data segment (no banner, no USER): ignored.
    for (flow, cmd) in [
        (
            FtpFlow {
                banner: true,
                user: false,
            },
            FtpCommand::Port {
                addr: addr::CLIENT_V4,
                port: 50006,
            },
        ),
        (
            FtpFlow {
                banner: false,
                user: false,
            },
            FtpCommand::Pasv {
                addr: addr::SERVER_V4,
                port: 50007,
            },
        ),
    ] {
        let lab = lab();
        lab.assign_helper(Family::V4, L4::Tcp, 21, "ftp").unwrap();
        let ex = scenarios::ftp_with(&lab, Family::V4, 21, &cmd, flow).unwrap();
        let label = format!("ftp first segment {flow:?} {}", cmd.command_line());
        master(&label, &ex);
        let snap = snapshot(&lab, &label, 0);
        assert!(snap.proc.is_empty(), "{snap:?}");
    }
}

// ------------------------------------------------------------------------------------------
// IRC

#[test]
fn irc_dcc_self_and_forged() {
    let _lock = require_lab!();
    {
        let lab = lab();
        lab.assign_helper(Family::V4, L4::Tcp, 6667, "irc").unwrap();
        let ex = scenarios::irc(&lab, 6667, &IrcDcc::send(addr::CLIENT_V4, 50010)).unwrap();
        master("irc DCC self", &ex);
        let snap = snapshot(&lab, "irc DCC self", 1);
        assert_eq!(snap.proc.len(), 1, "{snap:?}");
        assert_fields(
            &snap.proc[0],
            &["src=0.0.0.0", "dst=10.71.1.2", "dport=50010", "irc"],
        );
        assert_fields(&snap.conntrack[0], &["mask-src=0.0.0.0", "helper=irc"]);
    }
    {
        let lab = lab();
        lab.assign_helper(Family::V4, L4::Tcp, 6667, "irc").unwrap();
        let ex = scenarios::irc(&lab, 6667, &IrcDcc::send(addr::THIRD_V4, 50011)).unwrap();
        master("irc DCC forged", &ex);
        let snap = snapshot(&lab, "irc DCC forged", 0);
        assert!(snap.proc.is_empty(), "{snap:?}");
    }
}

// ------------------------------------------------------------------------------------------
// TFTP

#[test]
fn tftp_rrq_v4_v6() {
    let _lock = require_lab!();
    for family in [Family::V4, Family::V6] {
        let lab = lab();
        lab.assign_helper(family, L4::Udp, 69, "tftp").unwrap();
        let ex = scenarios::tftp(&lab, family, 69, 0, 1).unwrap();
        let label = format!("tftp RRQ {family:?}");
        master(&label, &ex);
        let snap = snapshot(&lab, &label, 1);
        assert_eq!(snap.proc.len(), 1, "{snap:?}");
        let dport = format!("dport={}", ex.master.client.port());
        assert_fields(&snap.proc[0], &["proto=17", &dport, "tftp"]);
    }
}

// ------------------------------------------------------------------------------------------
// SIP

fn rtp_pairs(lines: &[String]) -> Vec<u16> {
    let mut ports: Vec<u16> = lines
        .iter()
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("dport="))
                .and_then(|p| p.parse().ok())
        })
        .collect();
    ports.sort_unstable();
    ports
}

#[test]
fn sip_invite_audio_video() {
    let _lock = require_lab!();
    let lab = lab();
    lab.assign_helper(Family::V4, L4::Udp, 5060, "sip").unwrap();
    let invite = SipInvite {
        client_port: 5060,
        media_addr: addr::CLIENT_V4.into(),
        audio_port: Some(49170),
        video_port: Some(51372),
        answer: None,
    };
    let ex = scenarios::sip_invite(&lab, Family::V4, 5060, &invite).unwrap();
    master("sip INVITE audio+video", &ex);
    let snap = snapshot(&lab, "sip INVITE audio+video", 4);
    assert_eq!(snap.proc.len(), 4, "{snap:?}");
    assert_eq!(rtp_pairs(&snap.proc), vec![49170, 49171, 51372, 51373]);
    assert_eq!(
        snap.proc
            .iter()
            .filter(|l| l.ends_with("sip/audio"))
            .count(),
        2
    );
    assert_eq!(
        snap.proc
            .iter()
            .filter(|l| l.ends_with("sip/video"))
            .count(),
        2
    );
}

#[test]
fn sip_invite_v6() {
    let _lock = require_lab!();
    let lab = lab();
    lab.assign_helper(Family::V6, L4::Udp, 5060, "sip").unwrap();
    let invite = SipInvite {
        client_port: 5060,
        media_addr: addr::CLIENT_V6.into(),
        audio_port: Some(49180),
        video_port: None,
        answer: Some((addr::SERVER_V6.into(), 49190)),
    };
    let ex = scenarios::sip_invite(&lab, Family::V6, 5060, &invite).unwrap();
    master("sip INVITE v6 + 200 OK answer", &ex);
    let snap = snapshot(&lab, "sip INVITE v6 + 200 OK answer", 4);
    assert_eq!(
        rtp_pairs(&snap.proc),
        vec![49180, 49181, 49190, 49191],
        "{snap:?}"
    );
}

#[test]
fn sip_invite_third_party_media_depends_on_direct_media() {
    let _lock = require_lab!();
    let invite = SipInvite {
        client_port: 5060,
        media_addr: addr::THIRD_V4.into(),
        audio_port: Some(49200),
        video_port: None,
        answer: None,
    };
    {
        let _p = ParamGuard::set("nf_conntrack_sip", "sip_direct_media", "1").unwrap();
        let lab = lab();
        lab.assign_helper(Family::V4, L4::Udp, 5060, "sip").unwrap();
        let ex = scenarios::sip_invite(&lab, Family::V4, 5060, &invite).unwrap();
        master("sip INVITE media=third direct_media=1", &ex);
        let snap = snapshot(&lab, "sip INVITE media=third direct_media=1", 0);
        assert!(snap.proc.is_empty(), "{snap:?}");
    }
    {
        let _p = ParamGuard::set("nf_conntrack_sip", "sip_direct_media", "0").unwrap();
        let lab = lab();
        lab.assign_helper(Family::V4, L4::Udp, 5060, "sip").unwrap();
        let ex = scenarios::sip_invite(&lab, Family::V4, 5060, &invite).unwrap();
        master("sip INVITE media=third direct_media=0", &ex);
        let snap = snapshot(&lab, "sip INVITE media=third direct_media=0", 2);
        assert_eq!(snap.proc.len(), 2, "{snap:?}");
        for line in &snap.proc {
            assert_fields(line, &["src=0.0.0.0", "dst=10.71.2.3", "sip/audio"]);
        }
    }
}

#[test]
fn sip_register_inactive_then_active() {
    let _lock = require_lab!();
    for reply in [SipRegisterReply::None, SipRegisterReply::Ok] {
        let lab = lab();
        lab.assign_helper(Family::V4, L4::Udp, 5060, "sip").unwrap();
        let reg = SipRegister {
            client_port: 5060,
            contact_addr: None,
            contact_port: 5062,
            expires: 3600,
            reply,
        };
        let ex = scenarios::sip_register(&lab, Family::V4, 5060, &reg).unwrap();
        let label = format!("sip REGISTER reply={reply:?}");
        master(&label, &ex);
        let snap = snapshot(&lab, &label, 1);
        assert_eq!(snap.proc.len(), 1, "{snap:?}");
        assert_fields(
            &snap.proc[0],
            &["src=10.71.2.2", "dst=10.71.1.2", "dport=5062"],
        );
        let flags = if reply == SipRegisterReply::None {
            "PERMANENT,INACTIVE"
        } else {
            "PERMANENT"
        };
        assert_fields(&snap.proc[0], &[flags, "sip/signalling"]);
    }
}

// ------------------------------------------------------------------------------------------
// Amanda, SANE, NetBIOS-NS

#[test]
fn amanda_connect_v4_v6() {
    let _lock = require_lab!();
    for family in [Family::V4, Family::V6] {
        let lab = lab();
        lab.assign_helper(family, L4::Udp, 10080, "amanda").unwrap();
        let line = scenarios::amanda_connect_line(50020, 50021, 50022);
        let ex = scenarios::amanda(&lab, family, 10080, &line).unwrap();
        let label = format!("amanda CONNECT {family:?}");
        master(&label, &ex);
        let snap = snapshot(&lab, &label, 3);
        assert_eq!(rtp_pairs(&snap.proc), vec![50020, 50021, 50022], "{snap:?}");
        let src = format!("src={}", proc_v6(lab.addr(Host::Client, family)));
        for l in &snap.proc {
            assert_fields(l, &["proto=6", &src, "amanda"]);
        }
    }
}

#[test]
fn sane_start_v4_v6() {
    let _lock = require_lab!();
    for (family, init) in [(Family::V4, false), (Family::V4, true), (Family::V6, false)] {
        let lab = lab();
        lab.assign_helper(family, L4::Tcp, 6566, "sane").unwrap();
        let start = SaneStart {
            init,
            ..SaneStart::ok(50030)
        };
        let ex = scenarios::sane(&lab, family, 6566, &start).unwrap();
        let label = format!("sane START {family:?} init={init}");
        master(&label, &ex);
        let snap = snapshot(&lab, &label, 1);
        assert_eq!(snap.proc.len(), 1, "{snap:?}");
        let dst = format!("dst={}", proc_v6(lab.addr(Host::Server, family)));
        assert_fields(&snap.proc[0], &[&dst, "dport=50030", "sane"]);
    }
}

#[test]
fn netbios_ns_broadcast() {
    let _lock = require_lab!();
    let lab = lab();
    lab.assign_local_helper(Host::Client, Family::V4, L4::Udp, 137, "netbios-ns")
        .unwrap();
    let ex = scenarios::netbios_ns(&lab, 0).unwrap();
    master("netbios-ns", &ex);
    let snap = snapshot_in(&lab.client, "netbios-ns (client ns)", 1);
    assert_eq!(snap.proc.len(), 1, "{snap:?}");
    let dport = format!("dport={}", ex.master.client.port());
    assert_fields(
        &snap.proc[0],
        &[
            "src=10.71.1.255",
            "sport=137",
            "dst=10.71.1.2",
            &dport,
            "PERMANENT",
        ],
    );
}

// ------------------------------------------------------------------------------------------
// Cleanup

#[test]
fn cleanup_leaves_nothing_behind() {
    let _lock = require_lab!();
    let before = read_param("nf_conntrack_sip", "sip_direct_media").unwrap();
    {
        let lab = lab();
        let _p = ParamGuard::set("nf_conntrack_sip", "sip_direct_media", "0").unwrap();
        assert!(
            host_run("ip", &["netns", "list"])
                .unwrap()
                .contains(lab.router.name()),
            "router netns missing while the lab is alive"
        );
    }
    assert_eq!(
        read_param("nf_conntrack_sip", "sip_direct_media").unwrap(),
        before
    );
    let ours = format!("nfh-{}-", std::process::id());
    let list = host_run("ip", &["netns", "list"]).unwrap();
    assert!(!list.contains(&ours), "leftover namespaces:\n{list}");
}
