//! Which rows of the degree-of-freedom model the kernel lab observes live, and where.
//!
//! A *row* is one expectation kind under one option setting in one address family. The
//! settings that matter are the behaviour-changing booleans (`ftp loose`, `sip_direct_media`
//! with `sip_external_media`, `sip_direct_signalling`, `gkrouted_only`, `callforward_filter`);
//! every other kind has a single `defaults` setting. [`rows`] enumerates them from the model
//! and the catalogue (a helper that does not support a family has no row in it).
//!
//! [`OBSERVED`] claims, per row, the lab test that plays it and asserts the kernel's table
//! equals the model's prediction; a lab test calls [`claim`] at that point, which fails if the
//! claim is missing, so a claim cannot outlive its test silently. [`UNSUPPORTED`] lists the
//! rows the lab cannot play, with the reason. `tests/tests/coverage.rs` checks that every row
//! is in exactly one list and that README's table ([`markdown`]) is current.

use netfilter_helpers_core::catalogue::Helper;
use netfilter_helpers_core::dof::{ExpectationKind, kinds_of};
use netfilter_helpers_core::net::Family as CoreFamily;

use crate::netns::Family;

/// One row of the coverage table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    /// The expectation kind.
    pub kind: ExpectationKind,
    /// The option setting (`defaults` or `name=value` pairs).
    pub setting: &'static str,
    /// The address family.
    pub v6: bool,
}

/// The option settings that change a kind's freedoms.
pub fn settings(kind: ExpectationKind) -> &'static [&'static str] {
    use ExpectationKind as K;
    match kind {
        K::FtpData => &["loose=0", "loose=1"],
        K::SipAudio | K::SipVideo | K::SipImage => &[
            "sip_direct_media=1",
            "sip_direct_media=0 sip_external_media=0",
            "sip_direct_media=0 sip_external_media=1",
        ],
        K::SipSignalling => &["sip_direct_signalling=1", "sip_direct_signalling=0"],
        K::Q931FromRrq => &["gkrouted_only=1", "gkrouted_only=0"],
        K::Q931CallForward => &["callforward_filter=1", "callforward_filter=0"],
        _ => &["defaults"],
    }
}

/// Every row of the model, in catalogue order.
pub fn rows() -> Vec<Row> {
    let mut out = Vec::new();
    for helper in Helper::ALL {
        let info = helper.info();
        for kind in kinds_of(helper) {
            for setting in settings(kind) {
                for v6 in [false, true] {
                    let fam = if v6 {
                        CoreFamily::Ipv6
                    } else {
                        CoreFamily::Ipv4
                    };
                    if info.supports(fam) {
                        out.push(Row { kind, setting, v6 });
                    }
                }
            }
        }
    }
    out
}

/// A row observed live: kind, setting, IPv6?, test file, test function.
pub type Observed = (
    ExpectationKind,
    &'static str,
    bool,
    &'static str,
    &'static str,
);

/// A row the lab cannot observe: kind, setting, IPv6?, reason.
pub type Unsupported = (ExpectationKind, &'static str, bool, &'static str);

use ExpectationKind as K;

const FID: &str = "lab_fidelity";
const MODEL: &str = "lab_model";

/// The rows the lab observes, and the test that does.
#[rustfmt::skip]
pub const OBSERVED: &[Observed] = &[
    // tests/tests/lab_model.rs: the model's original lab.
    (K::AmandaData, "defaults", false, MODEL, "amanda_matches_the_model"),
    (K::AmandaData, "defaults", true, MODEL, "amanda_matches_the_model"),
    (K::FtpData, "loose=0", false, MODEL, "ftp_active_and_passive_match_the_model"),
    (K::FtpData, "loose=0", true, MODEL, "ftp_active_and_passive_match_the_model"),
    (K::FtpData, "loose=1", false, MODEL, "ftp_third_party_follows_loose"),
    (K::IrcDcc, "defaults", false, MODEL, "irc_dcc_matches_the_model"),
    (K::SaneData, "defaults", false, MODEL, "sane_matches_the_model"),
    (K::SaneData, "defaults", true, MODEL, "sane_matches_the_model"),
    (K::TftpData, "defaults", false, MODEL, "tftp_matches_the_model"),
    (K::TftpData, "defaults", true, MODEL, "tftp_matches_the_model"),
    (K::NetbiosNsReply, "defaults", false, MODEL, "netbios_ns_matches_the_model"),
    (K::SipSignalling, "sip_direct_signalling=1", false, MODEL, "sip_register_matches_the_model"),
    (K::SipSignalling, "sip_direct_signalling=0", false, MODEL, "sip_register_matches_the_model"),
    (K::SipAudio, "sip_direct_media=1", false, MODEL, "sip_invite_media_matches_the_model"),
    (K::SipVideo, "sip_direct_media=1", false, MODEL, "sip_invite_media_matches_the_model"),
    (K::SipAudio, "sip_direct_media=1", true, MODEL, "sip_invite_and_answer_v6_match_the_model"),
    (K::SipAudio, "sip_direct_media=0 sip_external_media=0", false, MODEL, "sip_third_party_media_follows_direct_media"),
    // tests/tests/lab_fidelity.rs.
    (K::PptpGre, "defaults", false, FID, "pptp_call_opens_and_clearing_closes_the_gre_pair"),
    (K::PptpGre, "defaults", false, FID, "pptp_incoming_call_opens_the_gre_pair"),
    (K::RasFromGcf, "defaults", false, FID, "h323_ras_matches_the_model"),
    (K::RasFromGcf, "defaults", true, FID, "h323_ras_matches_the_model"),
    (K::Q931FromRrq, "gkrouted_only=1", false, FID, "h323_ras_matches_the_model"),
    (K::Q931FromRrq, "gkrouted_only=1", true, FID, "h323_ras_matches_the_model"),
    (K::Q931FromRrq, "gkrouted_only=0", false, FID, "h323_ras_matches_the_model"),
    (K::Q931FromRrq, "gkrouted_only=0", true, FID, "h323_ras_matches_the_model"),
    (K::Q931FromAcf, "defaults", false, FID, "h323_ras_matches_the_model"),
    (K::Q931FromAcf, "defaults", true, FID, "h323_ras_matches_the_model"),
    (K::Q931FromLcf, "defaults", false, FID, "h323_ras_matches_the_model"),
    (K::Q931FromLcf, "defaults", true, FID, "h323_ras_matches_the_model"),
    (K::H245FromQ931, "defaults", false, FID, "h323_q931_h245_and_media_match_the_model"),
    (K::H245FromQ931, "defaults", true, FID, "h323_q931_h245_and_media_match_the_model"),
    (K::H323RtpRtcp, "defaults", false, FID, "h323_q931_h245_and_media_match_the_model"),
    (K::H323RtpRtcp, "defaults", true, FID, "h323_q931_h245_and_media_match_the_model"),
    (K::H323T120, "defaults", false, FID, "h323_q931_h245_and_media_match_the_model"),
    (K::H323T120, "defaults", true, FID, "h323_q931_h245_and_media_match_the_model"),
    (K::Q931CallForward, "callforward_filter=1", false, FID, "h323_call_forward_follows_callforward_filter"),
    (K::Q931CallForward, "callforward_filter=1", true, FID, "h323_call_forward_follows_callforward_filter"),
    (K::Q931CallForward, "callforward_filter=0", false, FID, "h323_call_forward_follows_callforward_filter"),
    (K::Q931CallForward, "callforward_filter=0", true, FID, "h323_call_forward_follows_callforward_filter"),
    (K::NetbiosNsReply, "defaults", false, FID, "broadcast_replies_take_the_interface_netmask"),
    (K::SnmpReply, "defaults", false, FID, "broadcast_replies_take_the_interface_netmask"),
    (K::SipSignalling, "sip_direct_signalling=1", false, FID, "sip_over_tcp_matches_the_model"),
    (K::SipSignalling, "sip_direct_signalling=1", true, FID, "sip_over_tcp_matches_the_model"),
    (K::SipAudio, "sip_direct_media=1", false, FID, "sip_over_tcp_matches_the_model"),
    (K::SipAudio, "sip_direct_media=1", true, FID, "sip_over_tcp_matches_the_model"),
    (K::SipVideo, "sip_direct_media=1", false, FID, "sip_over_tcp_matches_the_model"),
    (K::SipVideo, "sip_direct_media=1", true, FID, "sip_over_tcp_matches_the_model"),
    (K::SipImage, "sip_direct_media=1", false, FID, "sip_over_tcp_matches_the_model"),
    (K::SipImage, "sip_direct_media=1", true, FID, "sip_over_tcp_matches_the_model"),
    (K::FtpData, "loose=1", true, FID, "ftp_loose_frees_the_ipv6_destination_too"),
    (K::FtpData, "loose=0", true, FID, "ftp_loose_frees_the_ipv6_destination_too"),
    (K::SipAudio, "sip_direct_media=1", false, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipAudio, "sip_direct_media=1", true, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipAudio, "sip_direct_media=0 sip_external_media=0", false, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipAudio, "sip_direct_media=0 sip_external_media=0", true, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipAudio, "sip_direct_media=0 sip_external_media=1", false, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipAudio, "sip_direct_media=0 sip_external_media=1", true, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipVideo, "sip_direct_media=1", false, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipVideo, "sip_direct_media=1", true, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipVideo, "sip_direct_media=0 sip_external_media=0", false, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipVideo, "sip_direct_media=0 sip_external_media=0", true, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipVideo, "sip_direct_media=0 sip_external_media=1", false, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipVideo, "sip_direct_media=0 sip_external_media=1", true, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipImage, "sip_direct_media=1", false, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipImage, "sip_direct_media=1", true, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipImage, "sip_direct_media=0 sip_external_media=0", false, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipImage, "sip_direct_media=0 sip_external_media=0", true, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipImage, "sip_direct_media=0 sip_external_media=1", false, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipImage, "sip_direct_media=0 sip_external_media=1", true, FID, "sip_media_classes_follow_direct_and_external_media"),
    (K::SipSignalling, "sip_direct_signalling=1", false, FID, "sip_registration_refresh_follows_expires"),
    (K::SipSignalling, "sip_direct_signalling=1", true, FID, "sip_registration_refresh_follows_expires"),
    (K::SipSignalling, "sip_direct_signalling=0", false, FID, "sip_registration_refresh_follows_expires"),
    (K::SipSignalling, "sip_direct_signalling=0", true, FID, "sip_registration_refresh_follows_expires"),
];

/// The rows the lab cannot observe on this kernel, with the reason.
#[rustfmt::skip]
pub const UNSUPPORTED: &[Unsupported] = &[];

/// Fails the calling lab test unless `test` claims the row in [`OBSERVED`]; call it right after
/// asserting that the kernel's table equals the model's non-empty prediction for the row.
/// `setting` is the row's setting (`""` for `defaults`).
pub fn claim(kind: ExpectationKind, setting: &str, family: Family, test: &str) {
    let setting = if setting.is_empty() {
        "defaults"
    } else {
        setting
    };
    let v6 = family == Family::V6;
    assert!(
        OBSERVED
            .iter()
            .any(|(k, s, f, _, t)| *k == kind && *s == setting && *f == v6 && *t == test),
        "{test} observes {kind:?} [{setting}] ({family:?}) but coverage::OBSERVED does not claim it"
    );
}

/// The README table: one line per row with where it is observed, or why it is not.
pub fn markdown() -> String {
    let mut s = String::from(
        "| Helper | Expectation | Option setting | Family | Observed live in |\n|---|---|---|---|---|\n",
    );
    for r in rows() {
        let helper = netfilter_helpers_core::dof::rule(
            r.kind,
            &netfilter_helpers_core::options::ModuleOptions::new(),
        )
        .helper;
        let fam = if r.v6 { "IPv6" } else { "IPv4" };
        let obs: Vec<String> = OBSERVED
            .iter()
            .filter(|(k, st, f, _, _)| *k == r.kind && *st == r.setting && *f == r.v6)
            .map(|(_, _, _, file, test)| format!("`{file}::{test}`"))
            .collect();
        let cell = if obs.is_empty() {
            match UNSUPPORTED
                .iter()
                .find(|(k, st, f, _)| *k == r.kind && *st == r.setting && *f == r.v6)
            {
                Some((_, _, _, why)) => format!("not observed: {why}"),
                None => "**not observed**".to_string(),
            }
        } else {
            obs.join(", ")
        };
        s.push_str(&format!(
            "| {helper} | {} | {} | {fam} | {cell} |\n",
            r.kind.label(),
            r.setting
        ));
    }
    s
}
