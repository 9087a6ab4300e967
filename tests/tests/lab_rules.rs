//! Kernel lab for synthesised rules: the site of [`sitelab::SITE_TOML`] (a router with
//! `wan0`, `lan0`, `dmz0` and an FTP server in the DMZ for the LAN) is synthesised and rendered
//! by netfilter-helpers-core, every rendering is dry-run and loaded into a fresh router
//! namespace with each loader, and the loaded rules are shown to behave end to end:
//!
//! * anti-spoofing: UDP from legitimate and forged sources (IPv4 and IPv6) on every interface
//!   reaches, or does not reach, a listener behind the router; DHCPv4 from `0.0.0.0` is
//!   accepted on `lan0` and dropped on `dmz0` and `wan0`; link-local traffic and DAD pass;
//! * RELATED: with `nf_conntrack_ftp loose=1` (from the rendered `modprobe.d`), FTP data
//!   connections between the DMZ server and its LAN clients pass, those the helper opens
//!   towards a third party or below `min_port` are dropped (though the kernel created the
//!   expectation) and pass again under a blanket RELATED accept; ICMP errors pass.
//!
//! Around the generated rules the lab adds what a site's own firewall has: a FORWARD policy
//! drop, an `ESTABLISHED,RELATED` accept and `NEW` accepts for FTP control and the probe ports
//! ([`rulelab::lab_policy`]); the generated rules never accept, they drop what the model
//! forbids, so a RELATED flow that does not pass was dropped by them.
//!
//! Run: `cargo test -p netfilter-helpers-tests --test lab_rules -- --test-threads=1`
//! (as root; without a lab the tests print `KERNEL LAB NOT RUN` and pass, unless `CI=true`).

use std::net::IpAddr;

use netfilter_helpers_tests::firewall::{self, Loader, RuleText, numbered};
use netfilter_helpers_tests::netns::Netns;
use netfilter_helpers_tests::probes::{self, UdpProbe, UdpReply};
use netfilter_helpers_tests::require_lab;
use netfilter_helpers_tests::rulelab::{
    self, CLOSED_PORT, FtpCase, ICMP_WAIT, Rendered, Rig, apply_modprobe,
};
use netfilter_helpers_tests::sitelab::{self, DadState, Node, addr};
use netfilter_helpers_tests::sysparam::read_param;

fn rendered() -> Rendered {
    Rendered::from_site_toml(sitelab::SITE_TOML).unwrap_or_else(|e| {
        panic!(
            "the lab site cannot be rendered: {e}\n--- site ---\n{}",
            numbered(sitelab::SITE_TOML)
        )
    })
}

fn rig(loader: Loader, rules: Option<&Rendered>) -> Rig {
    Rig::new(loader, rules).unwrap_or_else(|e| panic!("[{}] {e}", loader.label()))
}

// ------------------------------------------------------------------------------------------
// Loading

/// Every rendering passes its loader's dry run (`iptables-restore --test` legacy and nft,
/// `sh -n`, `nft -c -f`, `nft -c -j -f`).
#[test]
fn rendered_rules_pass_dry_runs() {
    let _lock = require_lab!();
    let rules = rendered();
    for loader in Loader::ALL {
        if let Err(e) = firewall::check(loader, rules.text(loader)) {
            panic!("dry run failed:\n{e}");
        }
    }
}

/// Every loader loads the rendering into a fresh router namespace, the generated chains are
/// then in the kernel, and the lab's policy loads after them.
#[test]
fn every_loader_loads_the_rendered_rules() {
    let _lock = require_lab!();
    let rules = rendered();
    for loader in Loader::ALL {
        let rig = rig(loader, Some(&rules));
        let dump = rig.dump();
        let wanted: &[&str] = match loader {
            Loader::Nft | Loader::NftJson => &["table inet nfh", "table inet nfhlab"],
            _ => &[
                "nfh-antispoof",
                "nfh-helpers-in",
                "nfh-helpers-out",
                "nfh-related-fwd",
                "nfh-related-in",
                "nfh-related-out",
            ],
        };
        for w in wanted {
            assert!(
                dump.contains(w),
                "[{}] `{w}` missing from the router's rules after loading:\n{dump}",
                loader.label()
            );
        }
        if let RuleText::Restore { v4, v6, .. } = rules.text(loader) {
            // Both families loaded: the IPv6 file's DAD exception is there too.
            assert!(
                v6.contains("ff02::1:ff00:0/104") && dump.contains("ff02::1:ff00:0/104"),
                "[{}] IPv6 rules not loaded:\n{dump}",
                loader.label()
            );
            assert!(v4.contains("*raw") && v4.contains("*filter"));
        }
    }
}

/// The rendered `sysctl.d` loads with `sysctl -p` in the router namespace and reads back; the
/// rendered `modprobe.d` is accepted by the running kernel's module parameters (through
/// `/sys`, restored afterwards).
#[test]
fn sysctl_and_modprobe_outputs_apply() {
    let _lock = require_lab!();
    let rules = rendered();
    let lab = sitelab::SiteLab::new().unwrap_or_else(|e| panic!("cannot build the lab: {e}"));
    if let Err(e) =
        firewall::run_with_input(&lab.router, "sysctl", &["-p", "/dev/stdin"], &rules.sysctl)
    {
        panic!(
            "sysctl -p refused the rendered sysctl.d:\n{e}\n--- text ---\n{}",
            numbered(&rules.sysctl)
        );
    }
    let mut checked = 0;
    for line in rules
        .sysctl
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
    {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let now = lab
            .router
            .run("sysctl", &["-n", key])
            .unwrap_or_else(|e| panic!("cannot read back {key}: {e}"));
        assert_eq!(now.trim(), value, "{key} after sysctl -p");
        checked += 1;
    }
    assert!(
        rules.sysctl.contains("net.ipv4.conf.lan0.rp_filter") && checked >= 5,
        "expected rp_filter settings for every interface:\n{}",
        rules.sysctl
    );

    let options = rulelab::modprobe_options(&rules.modprobe);
    assert_eq!(
        options,
        vec![(
            "nf_conntrack_ftp".to_owned(),
            "loose".to_owned(),
            "1".to_owned()
        )],
        "the site declares ftp.loose = 1 and nothing else:\n{}",
        rules.modprobe
    );
    let before = read_param("nf_conntrack_ftp", "loose").expect("nf_conntrack_ftp is loaded");
    {
        let _guards = apply_modprobe(&rules.modprobe).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_param("nf_conntrack_ftp", "loose").unwrap(), "Y");
    }
    assert_eq!(read_param("nf_conntrack_ftp", "loose").unwrap(), before);
}

// ------------------------------------------------------------------------------------------
// Control: the lab's policy alone

/// Without the generated rules, every forged probe arrives and DHCP from the DMZ is received
/// (so drops in the per-loader tests are the generated rules' doing); the ICMP error comes
/// back (the lab's policy accepts RELATED, as a site must: so an ICMP error that does not come
/// back in the per-loader tests was dropped by the generated rules); the permitted FTP data
/// connection fails (nothing assigns the helper); and a deliberate drop of `::` sources makes
/// DAD succeed (so the DAD check can fail).
#[test]
fn control_without_generated_rules() {
    let _lock = require_lab!();
    let rig = rig(Loader::LegacyRestore, None);
    let lab = &rig.lab;

    let report = probes::run_udp_probes(lab, &rulelab::spoof_probes())
        .unwrap_or_else(|e| panic!("probe run failed: {e}"));
    let missing: Vec<_> = report.outcomes.iter().filter(|o| !o.received).collect();
    assert!(
        missing.is_empty(),
        "without generated rules every probe must arrive (the lab itself must not drop forged sources); missing: {missing:#?}\n{report}\n{}",
        rig.dump()
    );

    let dhcp = probes::dhcp_probes(lab, &[Node::Lan, Node::Dmz]).unwrap();
    assert_eq!(
        dhcp,
        vec![(Node::Lan, true), (Node::Dmz, true)],
        "DHCP without rules"
    );

    let icmp = probes::udp_expect_reply(
        &lab.lan,
        addr::LAN_V4.into(),
        addr::DMZ_V4.into(),
        CLOSED_PORT,
        ICMP_WAIT,
    )
    .unwrap();
    assert_eq!(
        icmp,
        UdpReply::Refused,
        "with only the lab policy (which accepts RELATED) the ICMP error must come back\n{}",
        rig.dump()
    );

    let pasv = &rulelab::ftp_cases()[0];
    let outcome = rulelab::run_ftp_case(&rig, pasv).unwrap();
    assert!(
        !outcome.expected && !outcome.data.succeeded(),
        "without the generated CT rules no helper is assigned, so no data connection:\n{outcome}"
    );

    lab.router
        .run(
            "ip6tables-legacy",
            &[
                "-w",
                "-t",
                "raw",
                "-I",
                "PREROUTING",
                "-s",
                "::/128",
                "-j",
                "DROP",
            ],
        )
        .unwrap();
    let dad = probes::dad_defended(lab, &[(Node::Lan, addr::ROUTER_LAN_V6)]).unwrap();
    assert_eq!(
        dad,
        vec![(Node::Lan, DadState::Valid)],
        "with DAD solicitations dropped, the duplicate of the router's address must go undetected"
    );
}

// ------------------------------------------------------------------------------------------
// Per loader

/// Anti-spoofing, end to end: the [`rulelab::spoof_probes`] matrix; DHCPv4 from `0.0.0.0`
/// accepted on `lan0` (`dhcp = true`), dropped on `dmz0` (`dhcp = false`) and on `wan0` (the
/// default-route interface drops the unspecified source 0.0.0.0/8 with the internal
/// sources); link-local UDP from each host to the router; DAD solicitations for the router's
/// addresses reach the router on every interface (it defends them).
fn antispoof(loader: Loader) {
    let rules = rendered();
    let rig = rig(loader, Some(&rules));
    let lab = &rig.lab;
    let label = loader.label();

    let report = probes::run_udp_probes(lab, &rulelab::spoof_probes())
        .unwrap_or_else(|e| panic!("[{label}] probe run failed: {e}"));
    let unexpected = report.unexpected();
    assert!(
        unexpected.is_empty(),
        "[{label}] {} of {} spoofing probes went the wrong way:\n{report}\n{}",
        unexpected.len(),
        report.outcomes.len(),
        rig.dump()
    );

    let dhcp = probes::dhcp_probes(lab, &[Node::Lan, Node::Dmz, Node::Inet]).unwrap();
    assert_eq!(
        dhcp,
        vec![(Node::Lan, true), (Node::Dmz, false), (Node::Inet, false)],
        "[{label}] DHCPv4 (0.0.0.0:68 -> 255.255.255.255:67) must be accepted on lan0 (dhcp = true), dropped on dmz0 (dhcp = false) and on wan0 (the unspecified source is dropped on the default-route interface)\n{}",
        rig.dump()
    );

    let ll = probes::link_local_probes(lab, &[Node::Lan, Node::Dmz, Node::Inet]).unwrap();
    assert_eq!(
        ll,
        vec![(Node::Lan, true), (Node::Dmz, true), (Node::Inet, true)],
        "[{label}] link-local UDP fe80::2 -> fe80::1 must reach the router on every link\n{}",
        rig.dump()
    );

    let dad = probes::dad_defended(
        lab,
        &[
            (Node::Lan, addr::ROUTER_LAN_V6),
            (Node::Dmz, addr::ROUTER_DMZ_V6),
            (Node::Inet, addr::ROUTER_WAN_V6),
        ],
    )
    .unwrap();
    assert_eq!(
        dad,
        vec![
            (Node::Lan, DadState::Failed),
            (Node::Dmz, DadState::Failed),
            (Node::Inet, DadState::Failed)
        ],
        "[{label}] DAD solicitations (source ::) must reach the router, which then defends its address\n{}",
        rig.dump()
    );
}

/// RELATED, end to end, with the rendered `modprobe.d` applied (`nf_conntrack_ftp loose=1`):
/// every [`rulelab::ftp_cases`] case (expectation present or absent as the kernel must make it;
/// data connection passes or is dropped as the generated rules must decide); ICMP errors come
/// back (IPv4, IPv6); then, with a blanket RELATED accept inserted before the generated rules,
/// the dropped cases pass (so they were dropped by the rules, not by the lab).
fn related(loader: Loader) {
    let rules = rendered();
    let _params = apply_modprobe(&rules.modprobe).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        read_param("nf_conntrack_ftp", "loose").unwrap(),
        "Y",
        "the lab site must declare ftp.loose = 1: the third-party cases need it"
    );
    let rig = rig(loader, Some(&rules));
    let label = loader.label();

    let cases = rulelab::ftp_cases();
    let mut report = String::new();
    let mut wrong = 0;
    for case in &cases {
        let outcome = rulelab::run_ftp_case(&rig, case)
            .unwrap_or_else(|e| panic!("[{label}] {}: exchange failed: {e}", case.name));
        let ok = outcome.matches(case.pass);
        if !ok {
            wrong += 1;
        }
        report.push_str(&format!("{} {outcome}", if ok { "  ok" } else { "FAIL" }));
    }
    assert!(
        wrong == 0,
        "[{label}] {wrong} FTP case(s) went the wrong way:\n{report}\n{}",
        rig.dump()
    );

    for (src, dst) in [
        (IpAddr::from(addr::LAN_V4), IpAddr::from(addr::DMZ_V4)),
        (IpAddr::from(addr::LAN_V6), IpAddr::from(addr::DMZ_V6)),
    ] {
        let reply = probes::udp_expect_reply(&rig.lab.lan, src, dst, CLOSED_PORT, ICMP_WAIT)
            .unwrap_or_else(|e| panic!("[{label}] {e}"));
        assert_eq!(
            reply,
            UdpReply::Refused,
            "[{label}] the port-unreachable error {dst} -> {src} (RELATED) must pass\n{}",
            rig.dump()
        );
    }

    // Control: blanket RELATED accept; the dropped cases whose expectation exists now pass.
    rig.allow_all_related()
        .unwrap_or_else(|e| panic!("[{label}] {e}"));
    let reruns: Vec<FtpCase> = cases
        .iter()
        .filter(|c| c.expectation && !c.pass)
        .map(|c| c.with_port(c.data.port() + 100))
        .collect();
    assert!(reruns.len() >= 4, "third-party and low-port cases exist");
    let mut report = String::new();
    let mut wrong = 0;
    for case in &reruns {
        let outcome = rulelab::run_ftp_case(&rig, case)
            .unwrap_or_else(|e| panic!("[{label}] {}: exchange failed: {e}", case.name));
        let ok = outcome.matches(true);
        if !ok {
            wrong += 1;
        }
        report.push_str(&format!("{} {outcome}", if ok { "  ok" } else { "FAIL" }));
    }
    assert!(
        wrong == 0,
        "[{label}] control run: with a blanket RELATED accept these must pass (otherwise the drops above prove nothing):\n{report}\n{}",
        rig.dump()
    );
}

macro_rules! per_loader {
    ($($loader:ident: $antispoof:ident, $related:ident;)*) => {$(
        #[test]
        fn $antispoof() {
            let _lock = require_lab!();
            antispoof(Loader::$loader);
        }

        #[test]
        fn $related() {
            let _lock = require_lab!();
            related(Loader::$loader);
        }
    )*};
}

per_loader! {
    LegacyRestore: antispoof_iptables_legacy_restore, related_iptables_legacy_restore;
    NftRestore: antispoof_iptables_nft_restore, related_iptables_nft_restore;
    LegacyCommands: antispoof_commands_legacy, related_commands_legacy;
    NftCommands: antispoof_commands_nft, related_commands_nft;
    Nft: antispoof_nft, related_nft;
    NftJson: antispoof_nft_json, related_nft_json;
}

// ------------------------------------------------------------------------------------------
// Reverse-path filtering

/// The rpfilter rule applies to everything the anti-spoofing rules let through, including
/// sources declared on a non-default interface: a source declared on `lan0` that the router's
/// routing table sends via `dmz0` is dropped (the rule precedes the per-interface returns).
#[test]
fn rpfilter_checks_declared_sources_too() {
    let _lock = require_lab!();
    let rules = rendered();
    for loader in [Loader::LegacyRestore, Loader::Nft] {
        let rig = rig(loader, Some(&rules));
        let router: &Netns = &rig.lab.router;
        router
            .ip(&["route", "add", "10.81.3.128/25", "via", "10.81.2.10"])
            .unwrap();
        router
            .ip(&[
                "-6",
                "route",
                "add",
                "fd81:3::8000/113",
                "via",
                "fd81:2::10",
            ])
            .unwrap();
        let probes = vec![
            UdpProbe::pass(
                Node::Lan,
                addr::LAN_V4.into(),
                addr::DMZ_V4.into(),
                "legitimate",
            ),
            UdpProbe::drop(
                Node::Lan,
                "10.81.3.200".parse().unwrap(),
                addr::DMZ_V4.into(),
                "declared on lan0, routed via dmz0",
            ),
            UdpProbe::drop(
                Node::Lan,
                "fd81:3::8001".parse().unwrap(),
                addr::DMZ_V6.into(),
                "declared on lan0, routed via dmz0",
            ),
        ];
        let report = probes::run_udp_probes(&rig.lab, &probes).unwrap();
        assert!(
            report.unexpected().is_empty(),
            "[{}] reverse-path check skipped:\n{report}\n{}",
            loader.label(),
            rig.dump()
        );
    }
}
