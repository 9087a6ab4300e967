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
use netfilter_helpers_core::dof::{Announcement, ExpectationKind, Master, Side, policy, rule};
use netfilter_helpers_core::expect::Expectation;
use netfilter_helpers_core::options::{ModuleOptions, PARAMS};
use netfilter_helpers_core::parse::parse_line;
use netfilter_helpers_tests::coverage::claim;
use netfilter_helpers_tests::expect;
use netfilter_helpers_tests::modelcheck::{self, Predicted};
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

// The comparison with the kernel lives in `netfilter_helpers_tests::modelcheck` (shared with
// lab_fidelity); these adapters keep this file's single-class call shape.

fn options_in_force() -> ModuleOptions {
    modelcheck::options_in_force()
}

fn master(helper: &str, ex: &Exchange) -> Master {
    modelcheck::master(helper, &ex.master)
}

/// What the model predicts for one announcement (empty when it predicts a refusal).
fn predict(kind: ExpectationKind, m: &Master, ann: Announcement) -> Vec<Expectation> {
    modelcheck::predict(kind, m, ann)
        .into_iter()
        .map(|p| p.exp)
        .collect()
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

/// Asserts that the expectation table of `ns` is exactly `predicted`, all of `class`, each
/// timeout within 3 seconds below `timeout` ([`modelcheck::assert_exact`]).
fn assert_table(
    ns: &Netns,
    label: &str,
    predicted: &[Expectation],
    class: ExpectClass,
    timeout: u32,
) {
    let p: Vec<Predicted> = predicted
        .iter()
        .map(|e| Predicted {
            exp: e.clone(),
            class,
            timeout,
        })
        .collect();
    modelcheck::assert_exact(ns, label, &p);
}

/// [`modelcheck::validator_agrees`]: every kernel-made line conforms, mutants are flagged.
fn validator_agrees(label: &str, snap: &expect::ExpectSnapshot) {
    modelcheck::validator_agrees(label, snap)
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
    // Its rows in README's coverage table (coverage::OBSERVED).
    claim(
        ExpectationKind::FtpData,
        "loose=0",
        Family::V4,
        "ftp_active_and_passive_match_the_model",
    );
    claim(
        ExpectationKind::FtpData,
        "loose=0",
        Family::V6,
        "ftp_active_and_passive_match_the_model",
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
    // Its rows in README's coverage table (coverage::OBSERVED).
    claim(
        ExpectationKind::FtpData,
        "loose=1",
        Family::V4,
        "ftp_third_party_follows_loose",
    );
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
    // Its rows in README's coverage table (coverage::OBSERVED).
    claim(
        ExpectationKind::IrcDcc,
        "",
        Family::V4,
        "irc_dcc_matches_the_model",
    );
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
    // Its rows in README's coverage table (coverage::OBSERVED).
    claim(
        ExpectationKind::TftpData,
        "",
        Family::V4,
        "tftp_matches_the_model",
    );
    claim(
        ExpectationKind::TftpData,
        "",
        Family::V6,
        "tftp_matches_the_model",
    );
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
    // Its rows in README's coverage table (coverage::OBSERVED).
    claim(
        ExpectationKind::SipAudio,
        "sip_direct_media=1",
        Family::V4,
        "sip_invite_media_matches_the_model",
    );
    claim(
        ExpectationKind::SipVideo,
        "sip_direct_media=1",
        Family::V4,
        "sip_invite_media_matches_the_model",
    );
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
    // Its rows in README's coverage table (coverage::OBSERVED).
    claim(
        ExpectationKind::SipAudio,
        "sip_direct_media=1",
        Family::V6,
        "sip_invite_and_answer_v6_match_the_model",
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
    // Its rows in README's coverage table (coverage::OBSERVED).
    claim(
        ExpectationKind::SipAudio,
        "sip_direct_media=0 sip_external_media=0",
        Family::V4,
        "sip_third_party_media_follows_direct_media",
    );
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
    // Its rows in README's coverage table (coverage::OBSERVED).
    claim(
        ExpectationKind::SipSignalling,
        "sip_direct_signalling=1",
        Family::V4,
        "sip_register_matches_the_model",
    );
    claim(
        ExpectationKind::SipSignalling,
        "sip_direct_signalling=0",
        Family::V4,
        "sip_register_matches_the_model",
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
    // Its rows in README's coverage table (coverage::OBSERVED).
    claim(
        ExpectationKind::AmandaData,
        "",
        Family::V4,
        "amanda_matches_the_model",
    );
    claim(
        ExpectationKind::AmandaData,
        "",
        Family::V6,
        "amanda_matches_the_model",
    );
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
    // Its rows in README's coverage table (coverage::OBSERVED).
    claim(
        ExpectationKind::SaneData,
        "",
        Family::V4,
        "sane_matches_the_model",
    );
    claim(
        ExpectationKind::SaneData,
        "",
        Family::V6,
        "sane_matches_the_model",
    );
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
    // Its rows in README's coverage table (coverage::OBSERVED).
    claim(
        ExpectationKind::NetbiosNsReply,
        "",
        Family::V4,
        "netbios_ns_matches_the_model",
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
