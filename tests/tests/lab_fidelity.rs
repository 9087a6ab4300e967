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

use std::time::Duration;

use netfilter_helpers_core::dof::{Announcement, ExpectationKind as K, Side};
use netfilter_helpers_tests::coverage::claim;
use netfilter_helpers_tests::fidelity::{self, Ends, Script, Step};
use netfilter_helpers_tests::modelcheck::{assert_exact, master, predict};
use netfilter_helpers_tests::netns::{Family, L4, Lab};
use netfilter_helpers_tests::require_lab;

fn lab() -> Lab {
    Lab::new().unwrap_or_else(|e| panic!("cannot build the lab: {e}"))
}

const T: Duration = Duration::from_secs(10);

/// Client → server on `port` (the master's initiator is the client).
fn client_to_server(lab: &Lab, family: Family, l4: L4, port: u16) -> Ends<'_> {
    Ends {
        connector: &lab.client,
        listener: &lab.server,
        listen_addr: lab.addr(netfilter_helpers_tests::netns::Host::Server, family),
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
    let reason = netfilter_helpers_tests::modelcheck::refusal(
        K::PptpGre,
        &m,
        Announcement::new(Side::Initiator, None, pac_call),
    );
    assert_eq!(reason, "pptp parses only packets from the responder");
}
