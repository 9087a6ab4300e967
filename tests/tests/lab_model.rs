//! The degree-of-freedom model against the live kernel.
//!
//! Every scenario plays a protocol exchange through the lab's router (helpers assigned with the
//! CT target), reads the module options in force from `/sys/module/*/parameters`, asks the model
//! (`dof::rule(..).predict(..)`) which expectations the kernel creates, and asserts that the
//! kernel's expectation table is *exactly* that: the same lines in `/proc/net/nf_conntrack_expect`
//! and in `conntrack -L expect` (timeouts aside, which must lie within the model's policy), and
//! the same values once the kernel's lines are parsed back. Where the model predicts a refusal,
//! the kernel's table must be empty. Runtime-writable options are flipped with [`ParamGuard`]
//! (restored on drop) to cover both settings.
//!
//! Run as root: `cargo test -p netfilter-helpers-tests --test lab_model`.

use std::net::IpAddr;

use netfilter_helpers_core::catalogue::ExpectClass;
use netfilter_helpers_core::conform::Validator;
use netfilter_helpers_core::dof::Freedom;
use netfilter_helpers_core::dof::{Announcement, ExpectationKind, Master, Side, policy, rule};
use netfilter_helpers_core::expect::Expectation;
use netfilter_helpers_core::net::{Family as CoreFamily, L4Proto};
use netfilter_helpers_core::net::{full_mask, zero_addr};
use netfilter_helpers_core::options::{ModuleOptions, PARAMS};
use netfilter_helpers_core::parse::parse_line;
use netfilter_helpers_tests::expect;
use netfilter_helpers_tests::netns::{Family, Host, L4, Lab, Netns, addr};
use netfilter_helpers_tests::require_lab;
use netfilter_helpers_tests::scenarios::{
    self, Exchange, FtpCommand, FtpFlow, IrcDcc, SaneStart, SipInvite, SipRegister,
    SipRegisterReply,
};
use netfilter_helpers_tests::sysparam::{ParamGuard, read_param};

fn lab() -> Lab {
    Lab::new().unwrap_or_else(|e| panic!("cannot build the lab: {e}"))
}

/// The module options the kernel has in force, read from `/sys/module/*/parameters`.
fn options_in_force() -> ModuleOptions {
    let mut o = ModuleOptions::new();
    for spec in &PARAMS {
        let module = spec.module.name();
        if let Ok(raw) = read_param(module, spec.name) {
            o.set_sysfs(module, spec.name, &raw)
                .unwrap_or_else(|e| panic!("/sys value of {module}.{}: {e}", spec.name));
        }
    }
    o
}

fn master(helper: &str, ex: &Exchange) -> Master {
    let l4 = match ex.master.l4 {
        L4::Tcp => L4Proto::Tcp,
        L4::Udp => L4Proto::Udp,
    };
    Master::new(helper, ex.master.client, ex.master.server, l4).expect("master tuple")
}

/// What the model predicts for one announcement (empty when it predicts a refusal).
fn predict(kind: ExpectationKind, m: &Master, ann: Announcement) -> Vec<Expectation> {
    let o = options_in_force();
    match rule(kind, &o).predict(m, &ann) {
        Ok(v) => v,
        Err(refusal) => {
            println!("model: {refusal}");
            Vec::new()
        }
    }
}

fn without_timeout(line: &str) -> String {
    match line.split_once(' ') {
        Some((_, rest)) => rest.trim_end().to_string(),
        None => line.to_string(),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Asserts that the expectation table of `ns` is exactly `predicted`.
///
/// `class` gives the `/proc` policy name; `timeout` the lifetime the kernel must show (within
/// 3 seconds below it).
fn assert_table(
    ns: &Netns,
    label: &str,
    predicted: &[Expectation],
    class: ExpectClass,
    timeout: u32,
) {
    let snap = expect::snapshot(ns, predicted.len()).unwrap_or_else(|e| panic!("{label}: {e}"));
    let want_proc = sorted(
        predicted
            .iter()
            .map(|e| without_timeout(&e.to_proc_line(Some(0), class.policy_name())))
            .collect(),
    );
    let want_ct = sorted(
        predicted
            .iter()
            .map(|e| without_timeout(&e.to_conntrack_line(Some(0))))
            .collect(),
    );
    let got_proc = sorted(snap.proc.iter().map(|l| without_timeout(l)).collect());
    let got_ct = sorted(snap.conntrack.iter().map(|l| without_timeout(l)).collect());
    assert_eq!(
        got_proc, want_proc,
        "{label}: /proc/net/nf_conntrack_expect differs from the model"
    );
    assert_eq!(
        got_ct, want_ct,
        "{label}: conntrack -L expect differs from the model"
    );
    // The kernel's lines, parsed back, are the predicted values; timeouts follow the policy.
    let mut parsed: Vec<Expectation> = Vec::new();
    for line in snap.conntrack.iter().chain(snap.proc.iter()) {
        let p = parse_line(line.as_bytes()).unwrap_or_else(|e| panic!("{label}: {line}: {e}"));
        let t = p.timeout.expect("kernel lines carry a timeout");
        assert!(
            t <= timeout && t + 3 >= timeout,
            "{label}: timeout {t} outside {}..={timeout}: {line}",
            timeout.saturating_sub(3)
        );
        if p.format == netfilter_helpers_core::parse::Format::Conntrack {
            let mut e = p.expectation;
            // conntrack does not print the master's protocol; for helpers registered on both
            // UDP and TCP (sip) the parser leaves it unknown: the master we played decides.
            if !p.master_l4_known
                && let (Some(m), Some(want)) = (e.master.as_mut(), predicted.first())
            {
                m.l4 = want.master.expect("predicted master").l4;
            }
            parsed.push(e);
        }
    }
    for e in predicted {
        assert!(
            parsed.contains(e),
            "{label}: parsed kernel expectations {parsed:#?} lack the predicted {e:#?}"
        );
    }
    assert_eq!(parsed.len(), predicted.len(), "{label}");
    validator_agrees(label, &snap);
}

/// Every expectation the kernel created conforms under the options in force; mutated copies
/// (another endpoint, another protocol, a wildcard where the kernel pinned a value, a pinned
/// value where it left a wildcard) are flagged exactly when the model says the kernel could not
/// have made them.
fn validator_agrees(label: &str, snap: &expect::ExpectSnapshot) {
    let options = options_in_force();
    let v = Validator::new(&options);
    for line in snap.proc.iter().chain(&snap.conntrack) {
        let parsed = parse_line(line.as_bytes()).unwrap();
        let verdict = v.check_line(&parsed);
        assert!(
            verdict.conforms(),
            "{label}: the kernel made it, yet the validator rejects {line}: {:#?}",
            verdict.findings
        );
    }
    for line in &snap.conntrack {
        let parsed = parse_line(line.as_bytes()).unwrap();
        let kind = v
            .check_line(&parsed)
            .kind
            .expect("a conforming line has a kind");
        let rule = rule(kind, &options);
        let e = parsed.expectation.clone();
        let family = e.family();
        let other: IpAddr = match family {
            CoreFamily::Ipv4 => "10.71.2.99".parse().unwrap(),
            CoreFamily::Ipv6 => "fd71:2::99".parse().unwrap(),
        };
        let mut mutants: Vec<(&str, Expectation, bool)> = Vec::new();
        // Another endpoint: flagged unless the payload decides the attribute.
        let mut m = e.clone();
        m.dst = other;
        mutants.push((
            "destination moved to another host",
            m,
            rule.freedoms.dst_addr != Freedom::Payload,
        ));
        if e.src_mask == full_mask(family) {
            let mut m = e.clone();
            m.src = other;
            mutants.push(("source moved to another host", m, true));
            // A wildcard where the kernel pinned the source.
            let mut m = e.clone();
            m.src = zero_addr(family);
            m.src_mask = zero_addr(family);
            mutants.push(("source wildcarded", m, true));
        } else if e.src_mask == zero_addr(family) {
            // A pinned value where the kernel left a wildcard.
            let mut m = e.clone();
            m.src = other;
            m.src_mask = full_mask(family);
            mutants.push(("source pinned", m, true));
        } else {
            // A broadcast reply: another network.
            let mut m = e.clone();
            m.src = other;
            mutants.push(("source network moved", m, true));
        }
        let mut m = e.clone();
        if e.sport_mask == 0 {
            m.sport = 1234;
            m.sport_mask = u16::MAX;
            mutants.push(("source port pinned", m, true));
        } else {
            m.sport = 0;
            m.sport_mask = 0;
            mutants.push(("source port wildcarded", m, true));
        }
        // Another protocol.
        let mut m = e.clone();
        m.l4 = if e.l4 == L4Proto::Tcp {
            L4Proto::Udp
        } else {
            L4Proto::Tcp
        };
        // conntrack does not print the master's protocol: where the expectation's protocol is
        // the master's (SIP signalling) and the helper runs on UDP and TCP, either is possible.
        let l4_known = rule.freedoms.l4 != Freedom::MasterProtocol || parsed.master_l4_known;
        mutants.push(("protocol changed", m, l4_known));
        // A destination port the master fixes.
        if matches!(rule.freedoms.dst_port, Freedom::Master(_)) {
            let mut m = e.clone();
            m.dport = e.dport.wrapping_add(1);
            mutants.push(("destination port changed", m, true));
        }
        for (what, m, must_flag) in mutants {
            let verdict = v.check(&m);
            assert_eq!(
                !verdict.conforms(),
                must_flag,
                "{label}: {what} ({line}) -> {:#?}",
                verdict.findings
            );
        }
    }
}

fn policy_timeout(helper: netfilter_helpers_core::catalogue::Helper, class: ExpectClass) -> u32 {
    policy(helper, class, &options_in_force())
        .expect("policy")
        .timeout_secs
}

// ------------------------------------------------------------------------------------------
// FTP

fn ftp_case(
    family: Family,
    ctrl_port: u16,
    cmd: FtpCommand,
    from: Side,
    announced: Option<IpAddr>,
    port: u16,
) {
    let lab = lab();
    lab.assign_helper(family, L4::Tcp, ctrl_port, "ftp")
        .unwrap();
    let ex = scenarios::ftp(&lab, family, ctrl_port, &cmd).unwrap();
    let m = master("ftp", &ex);
    let predicted = predict(
        ExpectationKind::FtpData,
        &m,
        Announcement::new(from, announced, port),
    );
    let label = format!("ftp {} on {ctrl_port} ({family:?})", cmd.command_line());
    assert_table(
        &lab.router,
        &label,
        &predicted,
        ExpectClass::Default,
        policy_timeout(
            netfilter_helpers_core::catalogue::Helper::Ftp,
            ExpectClass::Default,
        ),
    );
}

#[test]
fn ftp_active_and_passive_match_the_model() {
    let _lock = require_lab!();
    let client4 = IpAddr::from(addr::CLIENT_V4);
    let server4 = IpAddr::from(addr::SERVER_V4);
    let client6 = IpAddr::from(addr::CLIENT_V6);
    ftp_case(
        Family::V4,
        21,
        FtpCommand::Port {
            addr: addr::CLIENT_V4,
            port: 50000,
        },
        Side::Initiator,
        Some(client4),
        50000,
    );
    ftp_case(
        Family::V4,
        2121,
        FtpCommand::Eprt {
            addr: client4,
            port: 50002,
        },
        Side::Initiator,
        Some(client4),
        50002,
    );
    ftp_case(
        Family::V6,
        21,
        FtpCommand::Eprt {
            addr: client6,
            port: 50003,
        },
        Side::Initiator,
        Some(client6),
        50003,
    );
    ftp_case(
        Family::V4,
        21,
        FtpCommand::Pasv {
            addr: addr::SERVER_V4,
            port: 50004,
        },
        Side::Responder,
        Some(server4),
        50004,
    );
    ftp_case(
        Family::V4,
        21,
        FtpCommand::Epsv { port: 50005 },
        Side::Responder,
        None,
        50005,
    );
    ftp_case(
        Family::V6,
        21,
        FtpCommand::Epsv { port: 50006 },
        Side::Responder,
        None,
        50006,
    );
}

#[test]
fn ftp_third_party_follows_loose() {
    let _lock = require_lab!();
    let third = IpAddr::from(addr::THIRD_V4);
    for loose in ["0", "1"] {
        let _g = ParamGuard::set("nf_conntrack_ftp", "loose", loose).unwrap();
        assert_eq!(options_in_force().ftp_loose(), loose == "1");
        ftp_case(
            Family::V4,
            21,
            FtpCommand::Port {
                addr: addr::THIRD_V4,
                port: 50001,
            },
            Side::Initiator,
            Some(third),
            50001,
        );
        ftp_case(
            Family::V4,
            21,
            FtpCommand::Pasv {
                addr: addr::THIRD_V4,
                port: 50501,
            },
            Side::Responder,
            Some(third),
            50501,
        );
        ftp_case(
            Family::V4,
            21,
            FtpCommand::Eprt {
                addr: third,
                port: 50502,
            },
            Side::Initiator,
            Some(third),
            50502,
        );
    }
}

#[test]
fn ftp_first_segment_of_a_direction_is_not_parsed() {
    // The model's note: the helper needs a preceding newline in the same direction, so a
    // command that is the first data segment creates nothing, while the same command after a
    // banner/USER does (checked in ftp_active_and_passive_match_the_model).
    let _lock = require_lab!();
    let note = rule(ExpectationKind::FtpData, &ModuleOptions::new())
        .notes
        .iter()
        .any(|n| n.contains("first data segment in each direction is not parsed"));
    assert!(note, "the model documents the first-segment rule");
    let lab = lab();
    lab.assign_helper(Family::V4, L4::Tcp, 21, "ftp").unwrap();
    let cmd = FtpCommand::Port {
        addr: addr::CLIENT_V4,
        port: 50007,
    };
    let flow = FtpFlow {
        banner: false,
        user: false,
    };
    let _ex = scenarios::ftp_with(&lab, Family::V4, 21, &cmd, flow).unwrap();
    assert_table(
        &lab.router,
        "ftp PORT as first segment",
        &[],
        ExpectClass::Default,
        300,
    );
}

// ------------------------------------------------------------------------------------------
// IRC

#[test]
fn irc_dcc_matches_the_model() {
    let _lock = require_lab!();
    let timeout = policy_timeout(
        netfilter_helpers_core::catalogue::Helper::Irc,
        ExpectClass::Default,
    );
    for (offered, label) in [
        (addr::CLIENT_V4, "irc DCC SEND (client's own address)"),
        (addr::THIRD_V4, "irc DCC SEND (forged: third party)"),
        (addr::SERVER_V4, "irc DCC SEND (forged: the server)"),
    ] {
        let lab = lab();
        lab.assign_helper(Family::V4, L4::Tcp, 6667, "irc").unwrap();
        let ex = scenarios::irc(&lab, 6667, &IrcDcc::send(offered, 50010)).unwrap();
        let m = master("irc", &ex);
        let predicted = predict(
            ExpectationKind::IrcDcc,
            &m,
            Announcement::new(Side::Initiator, Some(offered.into()), 50010),
        );
        assert_eq!(predicted.is_empty(), offered != addr::CLIENT_V4, "{label}");
        assert_table(
            &lab.router,
            label,
            &predicted,
            ExpectClass::Default,
            timeout,
        );
    }
}

// ------------------------------------------------------------------------------------------
// TFTP

#[test]
fn tftp_matches_the_model() {
    let _lock = require_lab!();
    let timeout = policy_timeout(
        netfilter_helpers_core::catalogue::Helper::Tftp,
        ExpectClass::Default,
    );
    for (family, opcode, client_port) in [
        (Family::V4, 1, 0),
        (Family::V6, 1, 0),
        (Family::V4, 2, 40069),
    ] {
        let lab = lab();
        lab.assign_helper(family, L4::Udp, 69, "tftp").unwrap();
        let ex = scenarios::tftp(&lab, family, 69, client_port, opcode).unwrap();
        let m = master("tftp", &ex);
        // The request carries no address or port: the announcement's values are irrelevant.
        let predicted = predict(
            ExpectationKind::TftpData,
            &m,
            Announcement::new(Side::Initiator, None, 0),
        );
        let label = format!("tftp opcode {opcode} {family:?}");
        assert_table(
            &lab.router,
            &label,
            &predicted,
            ExpectClass::Default,
            timeout,
        );
    }
}

// ------------------------------------------------------------------------------------------
// SIP

#[test]
fn sip_invite_media_matches_the_model() {
    let _lock = require_lab!();
    let helper = netfilter_helpers_core::catalogue::Helper::Sip;
    let lab = lab();
    lab.assign_helper(Family::V4, L4::Udp, 5060, "sip").unwrap();
    let client = IpAddr::from(addr::CLIENT_V4);
    let invite = SipInvite {
        client_port: 5060,
        media_addr: client,
        audio_port: Some(49170),
        video_port: Some(51373),
        answer: None,
    };
    let ex = scenarios::sip_invite(&lab, Family::V4, 5060, &invite).unwrap();
    let m = master("sip", &ex);
    let audio = predict(
        ExpectationKind::SipAudio,
        &m,
        Announcement::new(Side::Initiator, Some(client), 49170),
    );
    let video = predict(
        ExpectationKind::SipVideo,
        &m,
        Announcement::new(Side::Initiator, Some(client), 51373),
    );
    assert_eq!((audio.len(), video.len()), (2, 2));
    // The two classes print different policy names: compare each class's lines separately.
    let snap = expect::snapshot(&lab.router, 4).unwrap();
    let render = |v: &[Expectation], class: ExpectClass| -> Vec<String> {
        v.iter()
            .map(|e| without_timeout(&e.to_proc_line(Some(0), class.policy_name())))
            .collect()
    };
    let mut want = render(&audio, ExpectClass::Audio);
    want.extend(render(&video, ExpectClass::Video));
    let got = sorted(snap.proc.iter().map(|l| without_timeout(l)).collect());
    assert_eq!(got, sorted(want), "sip INVITE audio+video (/proc)");
    let mut want_ct: Vec<String> = audio
        .iter()
        .chain(video.iter())
        .map(|e| without_timeout(&e.to_conntrack_line(Some(0))))
        .collect();
    want_ct.sort();
    let got_ct = sorted(snap.conntrack.iter().map(|l| without_timeout(l)).collect());
    assert_eq!(got_ct, want_ct, "sip INVITE audio+video (conntrack)");
    validator_agrees("sip INVITE audio+video", &snap);
    let t = policy_timeout(helper, ExpectClass::Audio);
    for l in snap.proc.iter().chain(&snap.conntrack) {
        let p = parse_line(l.as_bytes()).unwrap();
        let secs = p.timeout.unwrap();
        assert!(secs <= t && secs + 3 >= t, "{l}");
    }
}

#[test]
fn sip_invite_and_answer_v6_match_the_model() {
    let _lock = require_lab!();
    let lab = lab();
    lab.assign_helper(Family::V6, L4::Udp, 5060, "sip").unwrap();
    let client = IpAddr::from(addr::CLIENT_V6);
    let server = IpAddr::from(addr::SERVER_V6);
    let invite = SipInvite {
        client_port: 5060,
        media_addr: client,
        audio_port: Some(49180),
        video_port: None,
        answer: Some((server, 49190)),
    };
    let ex = scenarios::sip_invite(&lab, Family::V6, 5060, &invite).unwrap();
    let m = master("sip", &ex);
    let mut predicted = predict(
        ExpectationKind::SipAudio,
        &m,
        Announcement::new(Side::Initiator, Some(client), 49180),
    );
    predicted.extend(predict(
        ExpectationKind::SipAudio,
        &m,
        Announcement::new(Side::Responder, Some(server), 49190),
    ));
    assert_eq!(predicted.len(), 4);
    assert_table(
        &lab.router,
        "sip INVITE + 200 OK with SDP (IPv6)",
        &predicted,
        ExpectClass::Audio,
        policy_timeout(
            netfilter_helpers_core::catalogue::Helper::Sip,
            ExpectClass::Audio,
        ),
    );
}

#[test]
fn sip_third_party_media_follows_direct_media() {
    let _lock = require_lab!();
    let third = IpAddr::from(addr::THIRD_V4);
    for direct in ["1", "0"] {
        let _g = ParamGuard::set("nf_conntrack_sip", "sip_direct_media", direct).unwrap();
        let lab = lab();
        lab.assign_helper(Family::V4, L4::Udp, 5060, "sip").unwrap();
        let invite = SipInvite {
            client_port: 5060,
            media_addr: third,
            audio_port: Some(49200),
            video_port: None,
            answer: None,
        };
        let ex = scenarios::sip_invite(&lab, Family::V4, 5060, &invite).unwrap();
        let m = master("sip", &ex);
        let predicted = predict(
            ExpectationKind::SipAudio,
            &m,
            Announcement::new(Side::Initiator, Some(third), 49200),
        );
        assert_eq!(predicted.len(), if direct == "1" { 0 } else { 2 });
        assert_table(
            &lab.router,
            &format!("sip INVITE media on a third party, sip_direct_media={direct}"),
            &predicted,
            ExpectClass::Audio,
            180,
        );
    }
}

#[test]
fn sip_register_matches_the_model() {
    let _lock = require_lab!();
    let client = IpAddr::from(addr::CLIENT_V4);
    for (direct_signalling, reply) in [
        ("1", SipRegisterReply::None),
        ("1", SipRegisterReply::Ok),
        ("0", SipRegisterReply::Ok),
    ] {
        let _g = ParamGuard::set(
            "nf_conntrack_sip",
            "sip_direct_signalling",
            direct_signalling,
        )
        .unwrap();
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
        let m = master("sip", &ex);
        let mut ann = Announcement::new(Side::Initiator, Some(client), 5062);
        ann.confirmed = reply == SipRegisterReply::Ok;
        let predicted = predict(ExpectationKind::SipSignalling, &m, ann);
        assert_eq!(predicted.len(), 1);
        // Unconfirmed: the policy's 180 s; confirmed: the Expires value.
        let timeout = if ann.confirmed { 3600 } else { 180 };
        assert_table(
            &lab.router,
            &format!("sip REGISTER reply={reply:?} sip_direct_signalling={direct_signalling}"),
            &predicted,
            ExpectClass::Signalling,
            timeout,
        );
    }
    // A Contact naming a third party: no expectation ("no third-party registrations").
    let lab = lab();
    lab.assign_helper(Family::V4, L4::Udp, 5060, "sip").unwrap();
    let third = IpAddr::from(addr::THIRD_V4);
    let reg = SipRegister {
        client_port: 5060,
        contact_addr: Some(third),
        contact_port: 5062,
        expires: 3600,
        reply: SipRegisterReply::None,
    };
    let ex = scenarios::sip_register(&lab, Family::V4, 5060, &reg).unwrap();
    let m = master("sip", &ex);
    let predicted = predict(
        ExpectationKind::SipSignalling,
        &m,
        Announcement::new(Side::Initiator, Some(third), 5062),
    );
    assert!(predicted.is_empty());
    assert_table(
        &lab.router,
        "sip REGISTER third-party contact",
        &predicted,
        ExpectClass::Signalling,
        180,
    );
}

// ------------------------------------------------------------------------------------------
// Amanda, SANE, NetBIOS-NS

#[test]
fn amanda_matches_the_model() {
    let _lock = require_lab!();
    let timeout = policy_timeout(
        netfilter_helpers_core::catalogue::Helper::Amanda,
        ExpectClass::Default,
    );
    for family in [Family::V4, Family::V6] {
        let lab = lab();
        lab.assign_helper(family, L4::Udp, 10080, "amanda").unwrap();
        let line = scenarios::amanda_connect_line(50020, 50021, 50022);
        let ex = scenarios::amanda(&lab, family, 10080, &line).unwrap();
        let m = master("amanda", &ex);
        let mut predicted = Vec::new();
        for port in [50020, 50021, 50022] {
            // The CONNECT line comes from amandad, the responder; it carries ports only.
            predicted.extend(predict(
                ExpectationKind::AmandaData,
                &m,
                Announcement::new(Side::Responder, None, port),
            ));
        }
        assert_table(
            &lab.router,
            &format!("amanda CONNECT {family:?}"),
            &predicted,
            ExpectClass::Default,
            timeout,
        );
    }
}

#[test]
fn sane_matches_the_model() {
    let _lock = require_lab!();
    let timeout = policy_timeout(
        netfilter_helpers_core::catalogue::Helper::Sane,
        ExpectClass::Default,
    );
    for family in [Family::V4, Family::V6] {
        let lab = lab();
        lab.assign_helper(family, L4::Tcp, 6566, "sane").unwrap();
        let ex = scenarios::sane(&lab, family, 6566, &SaneStart::ok(50030)).unwrap();
        let m = master("sane", &ex);
        let predicted = predict(
            ExpectationKind::SaneData,
            &m,
            Announcement::new(Side::Responder, None, 50030),
        );
        assert_table(
            &lab.router,
            &format!("sane START {family:?}"),
            &predicted,
            ExpectClass::Default,
            timeout,
        );
    }
}

#[test]
fn netbios_ns_matches_the_model() {
    let _lock = require_lab!();
    let lab = lab();
    lab.assign_local_helper(Host::Client, Family::V4, L4::Udp, 137, "netbios-ns")
        .unwrap();
    let ex = scenarios::netbios_ns(&lab, 0).unwrap();
    let m = master("netbios-ns", &ex);
    let mut ann = Announcement::new(Side::Initiator, None, 0);
    ann.interface_prefix = Some(24);
    let predicted = predict(ExpectationKind::NetbiosNsReply, &m, ann);
    assert_table(
        &lab.client,
        "netbios-ns broadcast (client ns)",
        &predicted,
        ExpectClass::Default,
        policy_timeout(
            netfilter_helpers_core::catalogue::Helper::NetbiosNs,
            ExpectClass::Default,
        ),
    );
}

#[test]
fn model_reads_the_kernels_options() {
    let _lock = require_lab!();
    // Every parameter the kernel exposes parses, and its value is what /sys says.
    let o = options_in_force();
    for spec in &PARAMS {
        if let Ok(raw) = read_param(spec.module.name(), spec.name) {
            let mut direct = ModuleOptions::new();
            direct
                .set_sysfs(spec.module.name(), spec.name, &raw)
                .unwrap();
            assert_eq!(o.get(spec.param), direct.get(spec.param));
        }
    }
    // Writable in the model exactly when writable in the kernel.
    for spec in &PARAMS {
        let path = format!(
            "/sys/module/{}/parameters/{}",
            spec.module.name(),
            spec.name
        );
        if let Ok(meta) = std::fs::metadata(&path) {
            use std::os::unix::fs::PermissionsExt;
            let writable = meta.permissions().mode() & 0o200 != 0;
            assert_eq!(writable, spec.writable, "{path}");
        }
    }
}
