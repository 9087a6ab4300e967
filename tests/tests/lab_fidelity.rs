//! Kernel fidelity: every helper, class and option setting the model describes, played live.
//!
//! Each scenario plays a real exchange through the lab's router (helpers assigned with the CT
//! target; broadcast helpers in the sender's own OUTPUT chain), asks the model
//! (`dof::rule(..).predict(..)`) what the kernel creates, and asserts the kernel's table is
//! exactly that in both the `/proc` and the `conntrack` format ([`modelcheck::assert_exact`]),
//! that the validator accepts every kernel-made line and flags mutated copies. Where the model
//! predicts a refusal, the kernel's table must be empty and the refusal's reason is checked.
//! Every row a scenario observes is claimed in [`coverage::OBSERVED`] under this file's test
//! names; `coverage_table_is_current` (in `tests/tests/coverage.rs`) turns the claims into the
//! README table.
//!
//! Messages: PPTP control messages (RFC 2637) and H.323 (RAS, Q.931 user-user information,
//! H.245) encoded by `netfilter_helpers_tests::{fidelity, h323per}`; `tests/lab/scripted.py`
//! only moves the bytes.
//!
//! Run as root: `cargo test -p netfilter-helpers-tests --test lab_fidelity`.

use std::net::IpAddr;
use std::time::Duration;

use netfilter_helpers_core::dof::{Announcement, ExpectationKind as K, Route, Side, rule};
use netfilter_helpers_core::expect::ExpectFlags;
use netfilter_helpers_tests::coverage::claim;
use netfilter_helpers_tests::expect;
use netfilter_helpers_tests::fidelity::{self, Ends, Script, Step};
use netfilter_helpers_tests::h323per;
use netfilter_helpers_tests::modelcheck::{
    Predicted, assert_exact, assert_exact_slack, master, options_in_force, predict, refusal,
};
use netfilter_helpers_tests::netns::{Family, Host, L4, Lab, addr};
use netfilter_helpers_tests::require_lab;
use netfilter_helpers_tests::scenarios;
use netfilter_helpers_tests::sipmsg;
use netfilter_helpers_tests::sysparam::{ParamGuard, read_param};

fn lab() -> Lab {
    Lab::new().unwrap_or_else(|e| panic!("cannot build the lab: {e}"))
}

const T: Duration = Duration::from_secs(10);

/// Client → server on `port` (the master's initiator is the client).
fn client_to_server(lab: &Lab, family: Family, l4: L4, port: u16) -> Ends<'_> {
    Ends {
        connector: &lab.client,
        listener: &lab.server,
        listen_addr: lab.addr(Host::Server, family),
        port,
        l4,
    }
}

// ------------------------------------------------------------------------------------------
// PPTP

#[test]
fn pptp_call_opens_and_clearing_closes_the_gre_pair() {
    let _lock = require_lab!();
    let lab = lab();
    lab.assign_helper(Family::V4, L4::Tcp, 1723, "pptp")
        .unwrap();
    let (pns_call, pac_call) = (0xa9a0u16, 0x6bd8u16);
    let script = Script(vec![
        Step::Connector(fidelity::pptp_sccrq()),
        Step::Listener(fidelity::pptp_sccrp()),
        Step::Connector(fidelity::pptp_ocrq(pns_call)),
        Step::Listener(fidelity::pptp_ocrp(pac_call, pns_call, 1)),
        Step::Pause,
        Step::Connector(fidelity::pptp_ccrq(pns_call)),
        Step::Listener(fidelity::pptp_cdn(pac_call)),
    ]);
    let mut ex = fidelity::run(
        client_to_server(&lab, Family::V4, L4::Tcp, 1723),
        &script,
        0,
        T,
    )
    .unwrap();
    let m = master("pptp", &ex.master);
    // The Outgoing-Call-Reply comes from the PAC (responder): its call ID, then the PNS's.
    let mut ann = Announcement::new(Side::Responder, None, pac_call);
    ann.second_port = Some(pns_call);
    let predicted = predict(K::PptpGre, &m, ann);
    assert_eq!(predicted.len(), 2, "one GRE expectation per direction");
    assert_exact(&lab.router, "pptp Outgoing-Call-Reply", &predicted);
    claim(
        K::PptpGre,
        "",
        Family::V4,
        "pptp_call_opens_and_clearing_closes_the_gre_pair",
    );
    // Call-Clear-Request + Call-Disconnect-Notify: the kernel removes both expectations
    // (pptp_destroy_siblings) while the control connection stays up.
    assert!(!ex.resume().unwrap(), "the script ends after the clear");
    assert_exact(&lab.router, "pptp after Call-Disconnect-Notify", &[]);
}

#[test]
fn pptp_incoming_call_opens_the_gre_pair() {
    let _lock = require_lab!();
    let lab = lab();
    lab.assign_helper(Family::V4, L4::Tcp, 1723, "pptp")
        .unwrap();
    let (pns_call, pac_call) = (0x0bb1u16, 0x0ac1u16);
    // The PAC announces an incoming call, the PNS accepts it, the PAC reports it connected:
    // Incoming-Call-Connected is the trigger.
    let script = Script(vec![
        Step::Connector(fidelity::pptp_sccrq()),
        Step::Listener(fidelity::pptp_sccrp()),
        Step::Listener(fidelity::pptp_icrq(pac_call)),
        Step::Connector(fidelity::pptp_icrp(pns_call, pac_call, 1)),
        Step::Pause,
        Step::Connector(fidelity::pptp_sccrq()), // (lets the listening end play on)
        Step::Listener(fidelity::pptp_iccn(pns_call)),
        Step::Pause,
    ]);
    let mut ex = fidelity::run(
        client_to_server(&lab, Family::V4, L4::Tcp, 1723),
        &script,
        0,
        T,
    )
    .unwrap();
    assert_exact(&lab.router, "pptp Incoming-Call-Reply (no GRE yet)", &[]);
    assert!(ex.resume().unwrap());
    let m = master("pptp", &ex.master);
    let mut a = Announcement::new(Side::Responder, None, pac_call);
    a.second_port = Some(pns_call);
    let predicted = predict(K::PptpGre, &m, a);
    assert_eq!(predicted.len(), 2);
    assert_exact(&lab.router, "pptp Incoming-Call-Connected", &predicted);
    claim(
        K::PptpGre,
        "",
        Family::V4,
        "pptp_incoming_call_opens_the_gre_pair",
    );
}

#[test]
fn pptp_refusals() {
    let _lock = require_lab!();
    let (pns_call, pac_call) = (0x1111u16, 0x2222u16);
    // A reply naming another peer call ID than the PNS announced, and a reply whose result
    // is not "connected": no expectation.
    for (label, reply) in [
        (
            "peer call ID mismatch",
            fidelity::pptp_ocrp(pac_call, pns_call + 1, 1),
        ),
        (
            "result code 2 (general error)",
            fidelity::pptp_ocrp(pac_call, pns_call, 2),
        ),
    ] {
        let lab = lab();
        lab.assign_helper(Family::V4, L4::Tcp, 1723, "pptp")
            .unwrap();
        let script = Script(vec![
            Step::Connector(fidelity::pptp_sccrq()),
            Step::Listener(fidelity::pptp_sccrp()),
            Step::Connector(fidelity::pptp_ocrq(pns_call)),
            Step::Listener(reply),
        ]);
        let ex = fidelity::run(
            client_to_server(&lab, Family::V4, L4::Tcp, 1723),
            &script,
            0,
            T,
        )
        .unwrap();
        assert_exact(&lab.router, &format!("pptp {label}"), &[]);
        drop(ex);
    }
    // The model refuses an announcement from the PNS side (the kernel parses OCRP only from
    // the PAC).
    let m = netfilter_helpers_core::dof::Master::new(
        "pptp",
        "10.71.1.2:40000".parse().unwrap(),
        "10.71.2.2:1723".parse().unwrap(),
        netfilter_helpers_core::net::L4Proto::Tcp,
    )
    .unwrap();
    let reason = refusal(
        K::PptpGre,
        &m,
        Announcement::new(Side::Initiator, None, pac_call),
    );
    assert_eq!(reason, "pptp parses only packets from the responder");
}

// ------------------------------------------------------------------------------------------
// H.323: RAS (UDP 1719)

fn v46() -> [Family; 2] {
    [Family::V4, Family::V6]
}

fn host(lab: &Lab, h: Host, f: Family) -> IpAddr {
    lab.addr(h, f)
}

/// An announcement by `from` of `addr`:`port`.
fn ann(from: Side, addr: IpAddr, port: u16) -> Announcement {
    Announcement::new(from, Some(addr), port)
}

const EP_RAS_PORT: u16 = 41719;
// The Q.931 ports named by the ACFs and the LCF of step 4 of `ras_session`.
const ACF_TO_RECEIVER_PORT: u16 = 1722;
const ACF_TO_SENDER_PORT: u16 = 1725;
const LCF_TO_RECEIVER_PORT: u16 = 1724;

#[test]
fn h323_ras_matches_the_model() {
    let _lock = require_lab!();
    for gkrouted in ["1", "0"] {
        let _g = ParamGuard::set("nf_conntrack_h323", "gkrouted_only", gkrouted).unwrap();
        for family in v46() {
            ras_session(family, gkrouted);
        }
    }
}

fn ras_session(family: Family, gkrouted: &str) {
    let lab = lab();
    lab.assign_helper(family, L4::Udp, 1719, "RAS").unwrap();
    let (ep, gk, third) = (
        host(&lab, Host::Client, family),
        host(&lab, Host::Server, family),
        host(&lab, Host::Third, family),
    );
    let ras = |m: h323per::Ras| h323per::ras(&m);
    let script = Script(vec![
        // 0: a GCF naming the gatekeeper's own RAS address and port: no expectation.
        Step::Connector(ras(h323per::Ras::Grq {
            ras: (ep, EP_RAS_PORT),
        })),
        Step::Listener(ras(h323per::Ras::Gcf { ras: (gk, 1719) })),
        Step::Pause,
        // 1: a GCF naming another RAS port.
        Step::Connector(ras(h323per::Ras::Grq {
            ras: (ep, EP_RAS_PORT),
        })),
        Step::Listener(ras(h323per::Ras::Gcf { ras: (gk, 1819) })),
        Step::Pause,
        // 2: registration; the RCF carries a TTL.
        Step::Connector(ras(h323per::Ras::Rrq {
            call_signal: (ep, 1720),
            ras: (ep, EP_RAS_PORT),
        })),
        Step::Listener(ras(h323per::Ras::Rcf {
            call_signal: (gk, 1720),
            ttl: Some(120),
        })),
        Step::Pause,
        // 3: admission to a third party, then location of another.
        Step::Connector(ras(h323per::Ras::Arq)),
        Step::Listener(ras(h323per::Ras::Acf {
            dest_call_signal: (third, 1720),
        })),
        Step::Connector(ras(h323per::Ras::Lrq {
            reply: (ep, EP_RAS_PORT),
        })),
        Step::Listener(ras(h323per::Ras::Lcf {
            call_signal: (third, 1721),
            ras: (third, 1719),
        })),
        Step::Pause,
        // 4: the gatekeeper answers the endpoint naming the endpoint itself: process_acf()
        // refuses the ACF, process_lcf() tracks the LCF; an ACF naming its sender is tracked.
        Step::Connector(ras(h323per::Ras::Arq)),
        Step::Listener(ras(h323per::Ras::Acf {
            dest_call_signal: (ep, ACF_TO_RECEIVER_PORT),
        })),
        Step::Connector(ras(h323per::Ras::Arq)),
        Step::Listener(ras(h323per::Ras::Acf {
            dest_call_signal: (gk, ACF_TO_SENDER_PORT),
        })),
        Step::Connector(ras(h323per::Ras::Lrq {
            reply: (ep, EP_RAS_PORT),
        })),
        Step::Listener(ras(h323per::Ras::Lcf {
            call_signal: (ep, LCF_TO_RECEIVER_PORT),
            ras: (ep, EP_RAS_PORT),
        })),
        Step::Pause,
        // 5: a refusal: an RRQ naming a third party.
        Step::Connector(ras(h323per::Ras::Rrq {
            call_signal: (third, 1723),
            ras: (ep, EP_RAS_PORT),
        })),
        Step::Listener(ras(h323per::Ras::Rcf {
            call_signal: (gk, 1720),
            ttl: None,
        })),
    ]);
    let mut ex = fidelity::run(
        client_to_server(&lab, family, L4::Udp, 1719),
        &script,
        EP_RAS_PORT,
        T,
    )
    .unwrap();
    let m = master("RAS", &ex.master);
    let label = |s: &str| format!("RAS {s} ({family:?}, gkrouted_only={gkrouted})");
    // 0
    let gcf_self = predict(K::RasFromGcf, &m, ann(Side::Responder, gk, 1719));
    assert!(
        gcf_self.is_empty(),
        "the model skips a GCF naming the sender's own RAS port"
    );
    assert_exact(&lab.router, &label("GCF naming itself"), &[]);
    // 1
    assert!(ex.resume().unwrap());
    let mut table = predict(K::RasFromGcf, &m, ann(Side::Responder, gk, 1819));
    assert_eq!(table.len(), 1);
    assert_exact_slack(&lab.router, &label("GRQ/GCF"), &table, 8);
    claim(K::RasFromGcf, "", family, "h323_ras_matches_the_model");
    // 2
    assert!(ex.resume().unwrap());
    let rrq = predict(K::Q931FromRrq, &m, ann(Side::Initiator, ep, 1720));
    assert_eq!(rrq.len(), 1);
    table.extend(rrq_after_rcf(rrq, gkrouted, 120));
    assert_exact_slack(&lab.router, &label("RRQ/RCF"), &table, 8);
    claim(
        K::Q931FromRrq,
        &format!("gkrouted_only={gkrouted}"),
        family,
        "h323_ras_matches_the_model",
    );
    // 3
    assert!(ex.resume().unwrap());
    let acf = predict(K::Q931FromAcf, &m, ann(Side::Responder, third, 1720));
    let lcf = predict(K::Q931FromLcf, &m, ann(Side::Responder, third, 1721));
    assert_eq!((acf.len(), lcf.len()), (1, 1));
    table.extend(acf);
    table.extend(lcf);
    assert_exact_slack(&lab.router, &label("ARQ/ACF, LRQ/LCF"), &table, 8);
    claim(K::Q931FromLcf, "", family, "h323_ras_matches_the_model");
    // 4: the model refuses the ACF naming its receiver (prediction none ⇔ no expectation in
    // the kernel: the table must hold exactly the other two).
    assert!(ex.resume().unwrap());
    let acf_receiver = ann(Side::Responder, ep, ACF_TO_RECEIVER_PORT);
    assert!(predict(K::Q931FromAcf, &m, acf_receiver).is_empty());
    let reason = refusal(K::Q931FromAcf, &m, acf_receiver);
    assert!(
        reason.contains(&format!("{ep} is the master's peer")),
        "the refusal names the ACF's receiver: {reason}"
    );
    let acf_sender = predict(
        K::Q931FromAcf,
        &m,
        ann(Side::Responder, gk, ACF_TO_SENDER_PORT),
    );
    let lcf_receiver = predict(
        K::Q931FromLcf,
        &m,
        ann(Side::Responder, ep, LCF_TO_RECEIVER_PORT),
    );
    assert_eq!((acf_sender.len(), lcf_receiver.len()), (1, 1));
    assert_eq!(
        (lcf_receiver[0].exp.src, lcf_receiver[0].exp.dst),
        (ep, ep),
        "an LCF naming its receiver: from the receiver to itself"
    );
    table.extend(acf_sender);
    table.extend(lcf_receiver);
    assert_exact_slack(
        &lab.router,
        &label("ACF naming the receiver (refused), ACF naming the sender, LCF naming the receiver"),
        &table,
        10,
    );
    claim(K::Q931FromAcf, "", family, "h323_ras_matches_the_model");
    // 5
    assert!(!ex.resume().unwrap());
    let rrq_third = predict(K::Q931FromRrq, &m, ann(Side::Initiator, third, 1723));
    assert!(
        rrq_third.is_empty(),
        "an RRQ naming a third party is refused"
    );
    // The second RRQ (no timeToLive) set the registration TTL to default_rrq_ttl; its RCF
    // applies it where the lookup works.
    let ttl: u32 = read_param("nf_conntrack_h323", "default_rrq_ttl")
        .unwrap()
        .parse()
        .unwrap();
    for p in table
        .iter_mut()
        .filter(|p| p.exp.dport == 1720 && p.exp.dst == ep)
    {
        if gkrouted == "0" {
            p.timeout = ttl;
        }
    }
    assert_exact_slack(&lab.router, &label("RRQ naming a third party"), &table, 12);
}

/// The RRQ's Q.931 expectation after an RCF with `ttl`: process_rcf() finds it (and sets its
/// timeout) only when its source is a wildcard, i.e. with gkrouted_only=0 — as the model's
/// note says.
fn rrq_after_rcf(mut rrq: Vec<Predicted>, gkrouted: &str, ttl: u32) -> Vec<Predicted> {
    let note = rule(K::Q931FromRrq, &options_in_force())
        .notes
        .iter()
        .any(|n| n.contains("only when gkrouted_only=0"));
    assert!(note, "the model documents the RCF timeout");
    if gkrouted == "0" {
        for p in &mut rrq {
            p.timeout = ttl;
        }
    }
    rrq
}

// ------------------------------------------------------------------------------------------
// H.323: Q.931 (TCP 1720), H.245 and its media, T.120

const H245_CALLER_PORT: u16 = 41000;
const H245_CALLEE_PORT: u16 = 41001;

#[test]
fn h323_q931_h245_and_media_match_the_model() {
    let _lock = require_lab!();
    for family in v46() {
        q931_call(family);
    }
}

fn q931_call(family: Family) {
    let lab = lab();
    lab.assign_helper(family, L4::Tcp, 1720, "Q.931").unwrap();
    let (caller, callee, third) = (
        host(&lab, Host::Client, family),
        host(&lab, Host::Server, family),
        host(&lab, Host::Third, family),
    );
    let q = |m: h323per::Q931| h323per::q931(&m);
    let script = Script(vec![
        // Refusals first: an h245Address and a fastStart channel naming a third party.
        Step::Connector(q(h323per::Q931::Setup {
            h245: Some((third, H245_CALLER_PORT)),
            fast_start: vec![h323per::Channel::AudioRtcp {
                addr: third,
                port: 42001,
            }],
        })),
        Step::Pause,
        // Setup with the caller's H.245 address and a fastStart audio channel.
        Step::Connector(q(h323per::Q931::Setup {
            h245: Some((caller, H245_CALLER_PORT)),
            fast_start: vec![h323per::Channel::AudioRtcp {
                addr: caller,
                port: 42001,
            }],
        })),
        Step::Listener(q(h323per::Q931::Connect {
            h245: (callee, H245_CALLEE_PORT),
        })),
        Step::Pause,
    ]);
    let mut call =
        fidelity::run(client_to_server(&lab, family, L4::Tcp, 1720), &script, 0, T).unwrap();
    let m = master("Q.931", &call.master);
    let label = |s: &str| format!("Q.931 {s} ({family:?})");
    for (kind, port) in [(K::H245FromQ931, H245_CALLER_PORT), (K::H323RtpRtcp, 42001)] {
        assert!(
            predict(kind, &m, ann(Side::Initiator, third, port)).is_empty(),
            "the model refuses {kind:?} naming a third party"
        );
    }
    assert_exact(&lab.router, &label("Setup naming a third party"), &[]);
    assert!(call.resume().unwrap());
    let mut table = predict(
        K::H245FromQ931,
        &m,
        ann(Side::Initiator, caller, H245_CALLER_PORT),
    );
    let fast = predict(K::H323RtpRtcp, &m, ann(Side::Initiator, caller, 42001));
    assert_eq!(fast.len(), 2, "fastStart: RTP and RTCP");
    table.extend(fast);
    table.extend(predict(
        K::H245FromQ931,
        &m,
        ann(Side::Responder, callee, H245_CALLEE_PORT),
    ));
    assert_eq!(table.len(), 4);
    assert_exact_slack(&lab.router, &label("Setup/Connect"), &table, 5);
    claim(
        K::H245FromQ931,
        "",
        family,
        "h323_q931_h245_and_media_match_the_model",
    );

    // The H.245 channel: the callee connects to the caller's announced address; the
    // expectation gives the new connection the H.245 helper (and is used up).
    let olc = |c: h323per::Channel| h323per::h245_olc(&c);
    let h245_script = Script(vec![
        // A media address naming a third party: refused.
        Step::Connector(h323per::tpkt(&olc(h323per::Channel::AudioRtcp {
            addr: third,
            port: 43101,
        }))),
        Step::Pause,
        Step::Connector(h323per::tpkt(&olc(h323per::Channel::AudioRtcp {
            addr: callee,
            port: 43001,
        }))),
        Step::Listener(h323per::tpkt(&h323per::h245_olc_ack(caller, 44000))),
        Step::Connector(h323per::tpkt(&olc(h323per::Channel::T120 {
            addr: callee,
            port: 45000,
        }))),
        Step::Pause,
    ]);
    let ends = Ends {
        connector: &lab.server,
        listener: &lab.client,
        listen_addr: caller,
        port: H245_CALLER_PORT,
        l4: L4::Tcp,
    };
    let mut h245 = fidelity::run(ends, &h245_script, 0, T).unwrap();
    let hm = master("H.245", &h245.master);
    // The caller's H.245 expectation is used up; the rest stays.
    table.retain(|p| !(p.exp.dport == H245_CALLER_PORT && p.exp.dst == caller));
    assert!(predict(K::H323RtpRtcp, &hm, ann(Side::Initiator, third, 43101)).is_empty());
    assert_exact_slack(
        &lab.router,
        &label("H.245 OLC naming a third party"),
        &table,
        8,
    );
    assert!(h245.resume().unwrap());
    let olc_media = predict(K::H323RtpRtcp, &hm, ann(Side::Initiator, callee, 43001));
    let ack_media = predict(K::H323RtpRtcp, &hm, ann(Side::Responder, caller, 44000));
    let t120 = predict(K::H323T120, &hm, ann(Side::Initiator, callee, 45000));
    assert_eq!((olc_media.len(), ack_media.len(), t120.len()), (2, 2, 1));
    table.extend(olc_media);
    table.extend(ack_media);
    table.extend(t120);
    assert_exact_slack(&lab.router, &label("H.245 OLC, OLCA, T.120"), &table, 10);
    claim(
        K::H323RtpRtcp,
        "",
        family,
        "h323_q931_h245_and_media_match_the_model",
    );
    claim(
        K::H323T120,
        "",
        family,
        "h323_q931_h245_and_media_match_the_model",
    );
}

// ------------------------------------------------------------------------------------------
// H.323: call forwarding (Facility callForwarded) and callforward_filter

/// A network routed through the caller (the Facility's receiver): the router's route to it
/// has the caller as next hop and `r-cli` as interface, exactly like its route to the caller.
fn behind_caller(family: Family) -> (&'static str, &'static str, IpAddr) {
    match family {
        Family::V4 => ("10.71.9.0/24", "10.71.1.2", "10.71.9.5".parse().unwrap()),
        Family::V6 => ("fd71:9::/64", "fd71:1::2", "fd71:9::5".parse().unwrap()),
    }
}

#[test]
fn h323_call_forward_follows_callforward_filter() {
    let _lock = require_lab!();
    for filter in ["1", "0"] {
        let _g = ParamGuard::set("nf_conntrack_h323", "callforward_filter", filter).unwrap();
        for family in v46() {
            call_forward(family, filter);
        }
    }
}

fn call_forward(family: Family, filter: &str) {
    let lab = lab();
    lab.assign_helper(family, L4::Tcp, 1720, "Q.931").unwrap();
    let (net, via, behind) = behind_caller(family);
    let v = if family == Family::V6 { "-6" } else { "-4" };
    lab.router
        .ip(&[v, "route", "add", net, "via", via])
        .unwrap();
    let third = host(&lab, Host::Third, family);
    let q = |m: h323per::Q931| h323per::q931(&m);
    let script = Script(vec![
        Step::Connector(q(h323per::Q931::Setup {
            h245: None,
            fast_start: vec![],
        })),
        // Forwarded to a host behind the caller: the same side.
        Step::Listener(q(h323per::Q931::FacilityForward { to: (behind, 1720) })),
        Step::Pause,
        // (The listening end plays on only when the connecting end sends again.)
        Step::Connector(q(h323per::Q931::Setup {
            h245: None,
            fast_start: vec![],
        })),
        // Forwarded to the third party, next to the callee: the other side.
        Step::Listener(q(h323per::Q931::FacilityForward { to: (third, 1720) })),
        Step::Pause,
    ]);
    let mut call =
        fidelity::run(client_to_server(&lab, family, L4::Tcp, 1720), &script, 0, T).unwrap();
    let m = master("Q.931", &call.master);
    let setting = format!("callforward_filter={filter}");
    let label = |s: &str| format!("Q.931 Facility {s} ({family:?}, {setting})");
    // What the router's routing table says, relative to the route to the Facility's
    // receiver (the caller, directly connected on r-cli: its own next hop).
    let routed = |to: IpAddr, same_interface: bool, same_next_hop: bool| {
        let mut a = ann(Side::Responder, to, 1720);
        a.route = Some(Route::new(same_interface, same_next_hop));
        a
    };
    let same_side = predict(K::Q931CallForward, &m, routed(behind, true, true));
    assert_eq!(same_side.len(), if filter == "1" { 0 } else { 1 });
    assert_exact(
        &lab.router,
        &label("to a host behind the caller"),
        &same_side,
    );
    assert!(call.resume().unwrap());
    let mut table = same_side;
    table.extend(predict(K::Q931CallForward, &m, routed(third, false, false)));
    assert_eq!(table.len(), if filter == "1" { 1 } else { 2 });
    assert_exact_slack(&lab.router, &label("to the third party"), &table, 5);
    claim(
        K::Q931CallForward,
        &setting,
        family,
        "h323_call_forward_follows_callforward_filter",
    );
}

// ------------------------------------------------------------------------------------------
// Broadcast helpers: netbios-ns and snmp

#[test]
fn broadcast_replies_take_the_interface_netmask() {
    let _lock = require_lab!();
    let lab = lab();
    // A second network on the client's link with another prefix length.
    lab.client.add_addr("eth0", "10.72.0.2/20").unwrap();
    for (helper, port) in [("netbios-ns", 137), ("snmp", 161)] {
        lab.assign_local_helper(Host::Client, Family::V4, L4::Udp, port, helper)
            .unwrap();
    }
    let kind = |h: &str| {
        if h == "snmp" {
            K::SnmpReply
        } else {
            K::NetbiosNsReply
        }
    };
    for (helper, port, broadcast, prefix) in [
        ("netbios-ns", 137, "10.71.1.255", 24),
        ("snmp", 161, "10.71.1.255", 24),
        ("snmp", 161, "10.72.15.255", 20),
        ("netbios-ns", 137, "10.72.15.255", 20),
    ] {
        expect::flush_expectations(&lab.client).unwrap();
        // Any payload: neither helper parses it.
        let (player, mt) = fidelity::send_udp(
            &lab.client,
            broadcast.parse().unwrap(),
            port,
            0,
            b"\x30\x00",
            true,
            T,
        )
        .unwrap();
        let m = master(helper, &mt);
        let mut a = Announcement::new(Side::Initiator, None, 0);
        a.interface_prefix = Some(prefix);
        let predicted = predict(kind(helper), &m, a);
        assert_eq!(predicted.len(), 1);
        assert!(predicted[0].exp.flags.contains(ExpectFlags::PERMANENT));
        assert_exact(
            &lab.client,
            &format!("{helper} broadcast to {broadcast} (/{prefix})"),
            &predicted,
        );
        claim(
            kind(helper),
            "",
            Family::V4,
            "broadcast_replies_take_the_interface_netmask",
        );
        drop(player);
    }
}

// ------------------------------------------------------------------------------------------
// SIP: the three media classes under every media setting, TCP, registration refresh

/// A host on the caller's link (routed out of `r-cli`, not where the SIP packet goes).
fn caller_side(family: Family) -> IpAddr {
    match family {
        Family::V4 => "10.71.1.7".parse().unwrap(),
        Family::V6 => "fd71:1::7".parse().unwrap(),
    }
}

const MEDIA: sipmsg::Media = sipmsg::Media {
    audio: Some(49170),
    video: Some(49180),
    image: Some(49190),
};

#[test]
fn sip_media_classes_follow_direct_and_external_media() {
    let _lock = require_lab!();
    for (direct, external) in [("1", "0"), ("0", "0"), ("0", "1")] {
        let _d = ParamGuard::set("nf_conntrack_sip", "sip_direct_media", direct).unwrap();
        let _e = ParamGuard::set("nf_conntrack_sip", "sip_external_media", external).unwrap();
        let setting = if direct == "1" {
            "sip_direct_media=1".to_string()
        } else {
            format!("sip_direct_media=0 sip_external_media={external}")
        };
        for family in v46() {
            let lab = lab();
            lab.assign_helper(family, L4::Udp, 5060, "sip").unwrap();
            let (caller, callee, third) = (
                host(&lab, Host::Client, family),
                host(&lab, Host::Server, family),
                host(&lab, Host::Third, family),
            );
            // (media address, routed out of the SIP packet's interface, created?)
            let cases: Vec<(IpAddr, bool, bool)> = match (direct, external) {
                ("1", _) => vec![(caller, false, true), (third, true, false)],
                (_, "0") => vec![(third, true, true)],
                _ => vec![(third, true, false), (caller_side(family), false, true)],
            };
            for (i, (media_addr, same_interface, created)) in cases.into_iter().enumerate() {
                expect::flush_expectations(&lab.router).unwrap();
                let sport = 5062 + i as u16;
                let from = std::net::SocketAddr::new(caller, sport);
                let script = Script(vec![Step::Connector(sipmsg::invite(
                    "UDP", from, callee, media_addr, MEDIA,
                ))]);
                let ex = fidelity::run(
                    client_to_server(&lab, family, L4::Udp, 5060),
                    &script,
                    sport,
                    T,
                )
                .unwrap();
                let m = master("sip", &ex.master);
                let mut table = Vec::new();
                for (kind, port) in [
                    (K::SipAudio, 49170),
                    (K::SipVideo, 49180),
                    (K::SipImage, 49190),
                ] {
                    let mut a = ann(Side::Initiator, media_addr, port);
                    a.route = Some(Route::new(same_interface, false));
                    let p = predict(kind, &m, a);
                    assert_eq!(
                        p.len(),
                        if created { 2 } else { 0 },
                        "{kind:?} {media_addr}"
                    );
                    table.extend(p);
                }
                assert_exact(
                    &lab.router,
                    &format!("sip INVITE media at {media_addr} ({family:?}, {setting})"),
                    &table,
                );
                if created {
                    for kind in [K::SipAudio, K::SipVideo, K::SipImage] {
                        claim(
                            kind,
                            &setting,
                            family,
                            "sip_media_classes_follow_direct_and_external_media",
                        );
                    }
                }
            }
        }
    }
}

fn sip_options(from: std::net::SocketAddr, to: IpAddr) -> Vec<u8> {
    sipmsg::message(
        &format!("OPTIONS sip:{} SIP/2.0", sipmsg::uri_host(to)),
        &[
            (
                "Via",
                format!(
                    "SIP/2.0/UDP {}:{};branch=z9hG4bK-opt",
                    sipmsg::uri_host(from.ip()),
                    from.port()
                ),
            ),
            (
                "From",
                format!("<sip:alice@{}>;tag=cli", sipmsg::uri_host(from.ip())),
            ),
            ("To", format!("<sip:bob@{}>", sipmsg::uri_host(to))),
            ("Call-ID", "options@nfh".into()),
            ("CSeq", "1 OPTIONS".into()),
        ],
        "",
    )
}

#[test]
fn sip_registration_refresh_follows_expires() {
    let _lock = require_lab!();
    for signalling in ["1", "0"] {
        let _g = ParamGuard::set("nf_conntrack_sip", "sip_direct_signalling", signalling).unwrap();
        let setting = format!("sip_direct_signalling={signalling}");
        for family in v46() {
            let lab = lab();
            lab.assign_helper(family, L4::Udp, 5060, "sip").unwrap();
            let (caller, registrar) = (
                host(&lab, Host::Client, family),
                host(&lab, Host::Server, family),
            );
            let from = std::net::SocketAddr::new(caller, 5062);
            let script = Script(vec![
                Step::Connector(sipmsg::register("UDP", from, registrar, 1, 3600)),
                Step::Listener(sipmsg::register_ok("UDP", from, registrar, 1, 3600)),
                Step::Pause,
                // Re-registration with a shorter lifetime: the expectation is made anew,
                // INACTIVE with the policy timeout until the 200 OK gives it the new Expires.
                Step::Connector(sipmsg::register("UDP", from, registrar, 2, 600)),
                Step::Pause,
                Step::Connector(sip_options(from, registrar)),
                Step::Listener(sipmsg::register_ok("UDP", from, registrar, 2, 600)),
                Step::Pause,
            ]);
            let mut ex = fidelity::run(
                client_to_server(&lab, family, L4::Udp, 5060),
                &script,
                5062,
                T,
            )
            .unwrap();
            let m = master("sip", &ex.master);
            let label = |s: &str| format!("sip {s} ({family:?}, {setting})");
            let registered = |confirmed: bool, timeout: Option<u32>| {
                let mut a = ann(Side::Initiator, caller, 5062);
                a.confirmed = confirmed;
                let mut p = predict(K::SipSignalling, &m, a);
                assert_eq!(p.len(), 1);
                if let Some(t) = timeout {
                    p[0].timeout = t;
                }
                p
            };
            assert_exact(
                &lab.router,
                &label("REGISTER + 200 OK (3600)"),
                &registered(true, Some(3600)),
            );
            claim(
                K::SipSignalling,
                &setting,
                family,
                "sip_registration_refresh_follows_expires",
            );
            assert!(ex.resume().unwrap());
            assert_exact(&lab.router, &label("re-REGISTER"), &registered(false, None));
            assert!(ex.resume().unwrap());
            assert_exact(
                &lab.router,
                &label("re-REGISTER + 200 OK (600)"),
                &registered(true, Some(600)),
            );
        }
    }
}

#[test]
fn sip_over_tcp_matches_the_model() {
    let _lock = require_lab!();
    for family in v46() {
        let lab = lab();
        lab.assign_helper(family, L4::Tcp, 5060, "sip").unwrap();
        let (caller, callee) = (
            host(&lab, Host::Client, family),
            host(&lab, Host::Server, family),
        );
        let from = std::net::SocketAddr::new(caller, 5070);
        let script = Script(vec![
            Step::Connector(sipmsg::register("TCP", from, callee, 1, 1800)),
            Step::Listener(sipmsg::register_ok("TCP", from, callee, 1, 1800)),
            Step::Connector(sipmsg::invite("TCP", from, callee, caller, MEDIA)),
            Step::Pause,
        ]);
        let ex = fidelity::run(
            client_to_server(&lab, family, L4::Tcp, 5060),
            &script,
            5070,
            T,
        )
        .unwrap();
        let m = master("sip", &ex.master);
        let mut reg = ann(Side::Initiator, caller, 5070);
        reg.confirmed = true;
        let mut table = predict(K::SipSignalling, &m, reg);
        assert_eq!(table.len(), 1);
        assert_eq!(
            table[0].exp.l4,
            netfilter_helpers_core::net::L4Proto::Tcp,
            "signalling over TCP is expected over TCP"
        );
        table[0].timeout = 1800;
        for (kind, port) in [
            (K::SipAudio, 49170),
            (K::SipVideo, 49180),
            (K::SipImage, 49190),
        ] {
            table.extend(predict(kind, &m, ann(Side::Initiator, caller, port)));
        }
        assert_eq!(table.len(), 7);
        assert_exact_slack(
            &lab.router,
            &format!("sip over TCP ({family:?})"),
            &table,
            4,
        );
        claim(
            K::SipSignalling,
            "sip_direct_signalling=1",
            family,
            "sip_over_tcp_matches_the_model",
        );
        for kind in [K::SipAudio, K::SipVideo, K::SipImage] {
            claim(
                kind,
                "sip_direct_media=1",
                family,
                "sip_over_tcp_matches_the_model",
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// FTP: loose over IPv6 (lab_model plays loose over IPv4)

#[test]
fn ftp_loose_frees_the_ipv6_destination_too() {
    let _lock = require_lab!();
    let third: IpAddr = addr::THIRD_V6.into();
    for (i, loose) in ["0", "1"].into_iter().enumerate() {
        let _g = ParamGuard::set("nf_conntrack_ftp", "loose", loose).unwrap();
        let lab = lab();
        lab.assign_helper(Family::V6, L4::Tcp, 21, "ftp").unwrap();
        let port = 50600 + i as u16;
        let cmd = scenarios::FtpCommand::Eprt { addr: third, port };
        let ex = scenarios::ftp(&lab, Family::V6, 21, &cmd).unwrap();
        let m = master("ftp", &ex.master);
        let predicted = predict(K::FtpData, &m, ann(Side::Initiator, third, port));
        assert_eq!(predicted.len(), if loose == "1" { 1 } else { 0 });
        assert_exact(
            &lab.router,
            &format!("ftp EPRT naming a third party (IPv6, loose={loose})"),
            &predicted,
        );
        if loose == "1" {
            claim(
                K::FtpData,
                "loose=1",
                Family::V6,
                "ftp_loose_frees_the_ipv6_destination_too",
            );
        } else {
            // The client's own address is still accepted with loose=0.
            let own: IpAddr = addr::CLIENT_V6.into();
            let cmd = scenarios::FtpCommand::Eprt {
                addr: own,
                port: 50610,
            };
            let lab = self::lab();
            lab.assign_helper(Family::V6, L4::Tcp, 21, "ftp").unwrap();
            let ex = scenarios::ftp(&lab, Family::V6, 21, &cmd).unwrap();
            let m = master("ftp", &ex.master);
            let p = predict(K::FtpData, &m, ann(Side::Initiator, own, 50610));
            assert_eq!(p.len(), 1);
            assert_exact(
                &lab.router,
                "ftp EPRT naming the client (IPv6, loose=0)",
                &p,
            );
            claim(
                K::FtpData,
                "loose=0",
                Family::V6,
                "ftp_loose_frees_the_ipv6_destination_too",
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// Helper names from ports=

/// On this machine every helper is built into the kernel (`CONFIG_NF_CONNTRACK_*=y`), so
/// `ports=` is fixed at boot (the parameters are read-only, 0400, at runtime) and load-time
/// aliases such as `ftp-2121`, `sip-1`, `irc-0` or `tftp-0` cannot be registered here. What
/// can be checked is that the kernel registers exactly the names the model derives from the
/// ports in force (read from /sys): the CT target and nft `ct helper` objects accept every
/// name the model registers, for each registered protocol and family, and refuse the
/// aliases the model does not register.
#[test]
fn helper_names_follow_the_ports_in_force() {
    use netfilter_helpers_core::catalogue::Helper;
    use netfilter_helpers_core::net::{Family as CoreFamily, L4Proto};
    use netfilter_helpers_core::registry::{registered_names, resolve_name};
    let _lock = require_lab!();
    let o = options_in_force();
    for (module, param) in [("nf_conntrack_ftp", "ports"), ("nf_conntrack_sip", "ports")] {
        let mode = std::fs::metadata(format!("/sys/module/{module}/parameters/{param}"))
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
            .unwrap();
        assert_eq!(mode & 0o222, 0, "{module} {param} is read-only at runtime");
    }
    let ns = netfilter_helpers_tests::netns::Netns::new("names").unwrap();
    let mut tried = 0;
    for helper in Helper::ALL {
        let info = helper.info();
        let base = helper.name();
        let mut names: Vec<String> = registered_names(helper, &o)
            .iter()
            .map(|r| r.name.to_string())
            .collect();
        let port = info.default_port.unwrap_or(0);
        for alias in ["0", "1", "2121", &(port.wrapping_add(1)).to_string()] {
            names.push(format!("{base}-{alias}"));
        }
        for name in names {
            let model = resolve_name(&name, &o).is_ok();
            for l4 in info.registered_protocols() {
                let proto = match l4 {
                    L4Proto::Tcp => "tcp",
                    L4Proto::Udp => "udp",
                    _ => continue,
                };
                for (fam, cmd) in [
                    (CoreFamily::Ipv4, "iptables"),
                    (CoreFamily::Ipv6, "ip6tables"),
                ] {
                    if !info.supports(fam) {
                        continue;
                    }
                    let ct = ns
                        .exec(
                            cmd,
                            &[
                                "-w",
                                "-t",
                                "raw",
                                "-A",
                                "PREROUTING",
                                "-p",
                                proto,
                                "-j",
                                "CT",
                                "--helper",
                                &name,
                            ],
                        )
                        .unwrap();
                    assert_eq!(
                        ct.success(),
                        model,
                        "{cmd} CT --helper {name} -p {proto}: the model says registered={model}: {}",
                        ct.stderr.trim()
                    );
                    tried += 1;
                }
                let l3 = if info.supports(CoreFamily::Ipv6) {
                    "inet"
                } else {
                    "ip"
                };
                let obj = format!(
                    "table inet nfh_names {{ ct helper h {{ type \"{name}\" protocol {proto}; l3proto {l3}; }}; }}"
                );
                let nft = ns.exec("nft", &[&obj]).unwrap();
                assert_eq!(
                    nft.success(),
                    model,
                    "nft ct helper {name} ({proto}): the model says registered={model}: {}",
                    nft.stderr.trim()
                );
                let _ = ns.exec("nft", &["delete table inet nfh_names"]);
                tried += 1;
            }
        }
    }
    assert!(tried > 100, "{tried} names tried");
}

/// The security meaning of gkrouted_only, live: after a registration, who may open a call
/// (TCP 1720) to the registered endpoint. A connection the kernel relates to the RRQ's
/// expectation gets the Q.931 helper (`helper=Q.931` in its conntrack entry); the model's
/// predicted expectation must admit exactly those connections.
#[test]
fn h323_gkrouted_only_decides_who_may_call_a_registered_endpoint() {
    use netfilter_helpers_tests::modelcheck::admits;
    use netfilter_helpers_tests::probes;
    let _lock = require_lab!();
    for gkrouted in ["1", "0"] {
        let _g = ParamGuard::set("nf_conntrack_h323", "gkrouted_only", gkrouted).unwrap();
        for family in v46() {
            let lab = lab();
            lab.assign_helper(family, L4::Udp, 1719, "RAS").unwrap();
            let (ep, gk) = (
                host(&lab, Host::Client, family),
                host(&lab, Host::Server, family),
            );
            let script = Script(vec![
                Step::Connector(h323per::ras(&h323per::Ras::Rrq {
                    call_signal: (ep, 1720),
                    ras: (ep, EP_RAS_PORT),
                })),
                Step::Listener(h323per::ras(&h323per::Ras::Rcf {
                    call_signal: (gk, 1720),
                    ttl: None,
                })),
                Step::Pause,
            ]);
            let ras = fidelity::run(
                client_to_server(&lab, family, L4::Udp, 1719),
                &script,
                EP_RAS_PORT,
                T,
            )
            .unwrap();
            let m = master("RAS", &ras.master);
            let exp = predict(K::Q931FromRrq, &m, ann(Side::Initiator, ep, 1720));
            assert_eq!(exp.len(), 1);
            let _listener = probes::tcp_listen(&lab.client, ep, 1720, T).unwrap();
            for caller in [Host::Server, Host::Third] {
                let src = host(&lab, caller, family);
                let c = probes::tcp_connect(lab.ns(caller), std::net::SocketAddr::new(ep, 1720))
                    .unwrap();
                let probes::Connect::Connected { local, .. } = c else {
                    panic!("{caller:?} cannot reach the endpoint: {c}");
                };
                let related = expect::conntrack_table(&lab.router)
                    .unwrap()
                    .iter()
                    .filter(|l| l.contains(&format!("sport={} dport=1720", local.port())))
                    .any(|l| l.contains("helper=Q.931"));
                let model = admits(
                    &exp[0].exp,
                    src,
                    local.port(),
                    ep,
                    1720,
                    netfilter_helpers_core::net::L4Proto::Tcp,
                );
                assert_eq!(
                    related, model,
                    "a call from {caller:?} ({src}) with gkrouted_only={gkrouted} ({family:?}): kernel related={related}, model admits={model}"
                );
            }
        }
    }
}
