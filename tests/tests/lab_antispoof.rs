//! The anti-spoofing lab (issue 10, item 9): the sites of [`spooflab::Variant`] (a wildcard
//! interface `ppp*`, an undeclared interface `ext0`, a loose interface `lan1` with an asymmetric
//! route and a network nested in `lan0`'s summary, a mark-aware reverse-path check for policy
//! routing, bogons on the uplink, logging, log-only mode) are rendered and loaded into a
//! [`spooflab::SpoofLab`] router with every loader (iptables-legacy restore + hooks,
//! iptables-nft restore + hooks, `nft -f`, `nft -j -f`), and UDP probes with legitimate and
//! forged sources (IPv4 and IPv6, from every interface kind, the firewall's own addresses,
//! `::`, `0.0.0.0`, multicast) must pass or be dropped as the site says. The drop counters must
//! count them, log-only mode must drop nothing and log what it would drop, DHCPv4, DHCPv6,
//! link-local traffic and DAD must keep working, and every loader must give the same verdict
//! for every probe. Besides: a control run without rules (so the drops are the rules'); where a
//! site must set the mark for the mark-aware check (before raw priority, not in mangle); and
//! the rendered `sysctl.d` applied in the lab router (wildcard interfaces, `conf.default`).
//!
//! One lab per loader: the five site variants are loaded one after the other (`nft -f` and
//! `iptables-restore --noflush` replace nfh's table / chains), each followed by one batch of
//! probes.
//!
//! Run: `cargo test -p netfilter-helpers-tests --test lab_antispoof -- --nocapture` (as root;
//! without a lab the tests print `KERNEL LAB NOT RUN` and pass, unless `CI=true`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use netfilter_helpers_tests::firewall::{self, Loader, numbered};
use netfilter_helpers_tests::probes;
use netfilter_helpers_tests::require_lab;
use netfilter_helpers_tests::rulelab::Rendered;
use netfilter_helpers_tests::sitelab::{DadState, Node, addr};
use netfilter_helpers_tests::spooflab::{
    self, Expect, Host, HostSysctl, MarkAt, Report, SpoofLab, Variant,
};

/// The loaders under test: both iptables flavors through the restore files and the hook
/// script, and both nft inputs.
const LOADERS: [Loader; 4] = [
    Loader::LegacyRestore,
    Loader::NftRestore,
    Loader::Nft,
    Loader::NftJson,
];

fn rendered(variant: Variant) -> Rendered {
    let toml = variant.site_toml();
    Rendered::from_site_toml(&toml).unwrap_or_else(|e| {
        panic!(
            "the lab site ({}) cannot be rendered: {e}\n--- site ---\n{}",
            variant.label(),
            numbered(&toml)
        )
    })
}

fn lab() -> SpoofLab {
    SpoofLab::new().unwrap_or_else(|e| panic!("cannot build the anti-spoofing lab: {e}"))
}

/// Without nfh's rules every probe arrives except those the kernel drops itself, so every
/// drop in the other tests is the rules' doing; and the kernel-dropped ones are exactly the
/// martian sources the probe list says.
#[test]
fn control_without_rules() {
    let _lock = require_lab!();
    let lab = lab();
    spooflab::add_mark_rules(lab.router(), firewall::Flavor::Legacy)
        .unwrap_or_else(|e| panic!("mark rules: {e}"));
    let probes = spooflab::probes(Variant::Enforce);
    let report = spooflab::run_probes(&lab, &probes, false)
        .unwrap_or_else(|e| panic!("probe run failed: {e}"));
    let wrong: Vec<String> = report
        .outcomes
        .iter()
        .filter(|o| o.received == matches!(o.probe.expect, Expect::Kernel(_)))
        .map(|o| {
            format!(
                "{} {} from {} ({}): {}",
                o.probe.tag(),
                o.probe.src,
                o.probe.from.as_str(),
                o.probe.what,
                if o.received {
                    "received, but the probe list says the kernel drops it"
                } else {
                    "not received without any rule"
                }
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "control run (no nfh rules): {} probes went the wrong way:\n{}\n\n{}\n{}{}",
        wrong.len(),
        wrong.join("\n"),
        // Everything is shown against the enforcing expectations; the control only cares
        // about received vs kernel-dropped.
        report,
        lab.routing_dump(),
        firewall::dump(lab.router(), firewall::Flavor::Legacy)
    );
    let dhcp = probes::dhcp_probes(&lab.site, &[Node::Lan, Node::Dmz, Node::Inet]).unwrap();
    assert_eq!(
        dhcp,
        vec![(Node::Lan, true), (Node::Dmz, true), (Node::Inet, true)],
        "DHCPv4 without rules"
    );
    let v6 = spooflab::dhcpv6_probes(&lab, &Host::ALL).unwrap();
    assert!(
        v6.iter().all(|(_, seen)| *seen),
        "DHCPv6 without rules: {v6:?}"
    );
}

/// One loaded site variant's results.
struct Run {
    loader: Loader,
    variant: Variant,
    report: Report,
    /// Named outcomes of the local exchanges (DHCP, link-local, DAD), enforce variant only.
    local: Vec<(String, bool)>,
}

/// The local exchanges under the enforcing site: DHCPv4 accepted on `lan0` (`dhcp = true`)
/// only (dropped on `dmz0`, and on `wan0` where `0.0.0.0/8` is an unspecified source);
/// link-local UDP to the router on every link; DAD solicitations for the router's addresses
/// reach it (it defends them).
fn local_exchanges(lab: &SpoofLab, problems: &mut Vec<String>) -> Vec<(String, bool)> {
    // (name, got, want)
    let mut results: Vec<(String, bool, bool)> = Vec::new();
    let mut check = |name: String, got: bool, want: bool| results.push((name, got, want));
    match probes::dhcp_probes(&lab.site, &[Node::Lan, Node::Dmz, Node::Inet]) {
        Ok(r) => {
            for (node, seen) in r {
                check(
                    format!(
                        "DHCPv4 0.0.0.0:68 -> 255.255.255.255:67 from {}",
                        node.as_str()
                    ),
                    seen,
                    node == Node::Lan,
                );
            }
        }
        Err(e) => problems.push(format!("DHCPv4 probes failed: {e}")),
    }
    match probes::link_local_probes(&lab.site, &[Node::Lan, Node::Dmz, Node::Inet]) {
        Ok(r) => {
            for (node, seen) in r {
                check(
                    format!("link-local fe80::2 -> fe80::1 from {}", node.as_str()),
                    seen,
                    true,
                );
            }
        }
        Err(e) => problems.push(format!("link-local probes failed: {e}")),
    }
    match probes::dad_defended(
        &lab.site,
        &[
            (Node::Lan, addr::ROUTER_LAN_V6),
            (Node::Dmz, addr::ROUTER_DMZ_V6),
            (Node::Inet, addr::ROUTER_WAN_V6),
        ],
    ) {
        Ok(r) => {
            for (node, state) in r {
                let name = format!(
                    "DAD from :: for the router's address, from {} (state {state:?})",
                    node.as_str()
                );
                check(name, state == DadState::Failed, true);
            }
        }
        Err(e) => problems.push(format!("DAD probes failed: {e}")),
    }
    for (name, got, want) in &results {
        if got != want {
            problems.push(format!(
                "{name}: expected {}, got {}",
                if *want { "received" } else { "dropped" },
                if *got { "received" } else { "dropped" }
            ));
        }
    }
    results
        .into_iter()
        .map(|(name, got, _)| (name, got))
        .collect()
}

/// DHCPv6 solicitations (link-local to `ff02::1:2`) reach the router from every declared
/// interface, the wildcard one included; from the undeclared one only when the site does not
/// drop undeclared interfaces (or only logs).
fn dhcpv6(lab: &SpoofLab, variant: Variant, problems: &mut Vec<String>) -> Vec<(String, bool)> {
    match spooflab::dhcpv6_probes(lab, &Host::ALL) {
        Ok(r) => r
            .into_iter()
            .map(|(host, seen)| {
                let want = host != Host::Ext || variant.unknown() != "drop" || variant.log_only();
                let name = format!(
                    "DHCPv6 fe80::2 -> ff02::1:2 from {} ({})",
                    host.as_str(),
                    host.router_iface()
                );
                if seen != want {
                    problems.push(format!(
                        "{name}: expected {}, got {}",
                        if want { "received" } else { "dropped" },
                        if seen { "received" } else { "dropped" }
                    ));
                }
                (name, seen)
            })
            .collect(),
        Err(e) => {
            problems.push(format!("DHCPv6 probes failed: {e}"));
            Vec::new()
        }
    }
}

/// Loads one variant with one loader into `lab` and runs everything; failures are appended
/// to `failures` with the probe table, the counters and the router's rules.
fn run_variant(
    lab: &SpoofLab,
    loader: Loader,
    variant: Variant,
    rules: &Rendered,
    first: bool,
    failures: &mut Vec<String>,
) -> Option<Run> {
    let flavor = loader.flavor();
    let head = format!("[{}] [{}]", loader.label(), variant.label());
    if let Err(e) = loader.load(lab.router(), rules.text(loader)) {
        failures.push(format!("{head} the rules do not load:\n{e}"));
        return None;
    }
    if first && let Err(e) = spooflab::add_mark_rules(lab.router(), flavor) {
        failures.push(format!("{head} the site's mark rules do not load: {e}"));
        return None;
    }
    let log_only = variant.log_only();
    let probes = spooflab::probes(variant);
    // Logging from namespaces needs nf_log_all_netns on the host; only for the log-only run.
    // When the kernel log cannot be used (a read-only /proc/sys, no /dev/kmsg), the evidence
    // of log-only mode is the LOG rules' counters (iptables; nft's log rules have none).
    let mut log_guard = None;
    let mut marker = None;
    if log_only {
        match HostSysctl::set("net.netfilter.nf_log_all_netns", "1").and_then(|g| {
            let m = spooflab::mark_kernel_log(&format!("{} {}", loader.label(), variant.label()))?;
            Ok((g, m))
        }) {
            Ok((g, m)) => {
                log_guard = Some(g);
                marker = Some(m);
            }
            Err(e) => eprintln!(
                "lab_antispoof: {head} the kernel log cannot be used ({e}): logging from namespaces is not observed; only the LOG rules' counters are evidence{}",
                if flavor == firewall::Flavor::Nft {
                    ", and nft's log rules have none"
                } else {
                    ""
                }
            ),
        }
    }
    let before = spooflab::read_counters(lab.router(), flavor);
    let report = match spooflab::run_probes(lab, &probes, log_only) {
        Ok(r) => r,
        Err(e) => {
            failures.push(format!("{head} the probe run failed: {e}"));
            return None;
        }
    };
    let after = spooflab::read_counters(lab.router(), flavor);
    let mut problems: Vec<String> = Vec::new();
    let unexpected = report.unexpected();
    if !unexpected.is_empty() {
        problems.push(format!(
            "{} of {} probes went the wrong way: {}",
            unexpected.len(),
            report.outcomes.len(),
            unexpected
                .iter()
                .map(|o| o.probe.tag())
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    let delta = match (&before, &after) {
        (Ok(b), Ok(a)) => {
            let d = a.since(b);
            problems.extend(spooflab::counter_problems(&probes, &d, flavor, log_only));
            Some(d)
        }
        (Err(e), _) | (_, Err(e)) => {
            problems.push(format!("cannot read the counters: {e}"));
            None
        }
    };
    let mut log_note = String::new();
    if let Some(marker) = &marker {
        // Give the kernel log a moment (printk is asynchronous).
        std::thread::sleep(std::time::Duration::from_millis(200));
        match spooflab::kernel_log_after(marker) {
            Ok(lines) => {
                let nfh: Vec<&String> = lines.iter().filter(|l| l.contains(" nfh-")).collect();
                let unlogged = spooflab::unlogged(&probes, &lines);
                let _ = writeln!(
                    log_note,
                    "kernel log: {} nfh- lines after the marker (nf_log_all_netns was {})",
                    nfh.len(),
                    log_guard.as_ref().map_or("?", |g| g.previous())
                );
                let would_drop = probes.iter().filter(|p| !p.kinds().is_empty()).count();
                eprintln!(
                    "lab_antispoof: {head} kernel log: {} nfh- lines; {} of {would_drop} probes the rules stop were logged with their kind, interface, source and destination",
                    nfh.len(),
                    would_drop - unlogged.len()
                );
                for p in unlogged {
                    problems.push(format!(
                        "{} ({} from {} on {}, {}) was not logged with prefix nfh-{{{}}}",
                        p.tag(),
                        p.src,
                        p.from.as_str(),
                        p.from.router_iface(),
                        p.what,
                        p.kinds().join(",")
                    ));
                }
                for l in nfh.iter().take(8) {
                    let _ = writeln!(log_note, "  {l}");
                }
            }
            Err(e) => problems.push(format!("cannot read the kernel log: {e}")),
        }
    }
    drop(log_guard);
    let received = report.outcomes.iter().filter(|o| o.received).count();
    eprintln!(
        "lab_antispoof: {head} {} probes: {received} received, {} not, {} unexpected; anti-spoofing counters +{} drop, +{} log",
        report.outcomes.len(),
        report.outcomes.len() - received,
        report.unexpected().len(),
        delta.as_ref().map_or(0, |d| d.total("drop")),
        delta.as_ref().map_or(0, |d| d.total("log")),
    );
    let delta = delta.map(|d| d.to_string()).unwrap_or_default();
    let mut local = dhcpv6(lab, variant, &mut problems);
    if variant == Variant::Enforce {
        local.extend(local_exchanges(lab, &mut problems));
    }
    if !problems.is_empty() {
        failures.push(format!(
            "{head}\n{}\n--- probes ---\n{report}--- anti-spoofing counters during the run ---\n{delta}{log_note}{}{}",
            problems
                .iter()
                .map(|p| format!("  * {p}"))
                .collect::<Vec<_>>()
                .join("\n"),
            firewall::dump(lab.router(), flavor),
            lab.routing_dump()
        ));
    }
    Some(Run {
        loader,
        variant,
        report,
        local,
    })
}

/// Every loader, every site variant: the probes go as the site says, the counters count the
/// drops, log-only mode drops nothing and logs, local exchanges keep working; then the
/// verdicts of all loaders are compared probe by probe.
#[test]
fn every_loader_every_variant_same_verdicts() {
    let _lock = require_lab!();
    let started = Instant::now();
    let renders: Vec<(Variant, Rendered)> =
        Variant::ALL.iter().map(|v| (*v, rendered(*v))).collect();
    let mut failures: Vec<String> = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    for loader in LOADERS {
        let t = Instant::now();
        let lab = lab();
        for (i, (variant, rules)) in renders.iter().enumerate() {
            if let Some(run) = run_variant(&lab, loader, *variant, rules, i == 0, &mut failures) {
                runs.push(run);
            }
        }
        eprintln!(
            "lab_antispoof: {} done in {:.1?}",
            loader.label(),
            t.elapsed()
        );
    }

    // Same verdicts under every loader.
    let mut by_variant: BTreeMap<Variant, Vec<&Run>> = BTreeMap::new();
    for r in &runs {
        by_variant.entry(r.variant).or_default().push(r);
    }
    for (variant, rs) in &by_variant {
        let Some(reference) = rs.first() else {
            continue;
        };
        for other in &rs[1..] {
            let mut diff = String::new();
            for (a, b) in reference.report.outcomes.iter().zip(&other.report.outcomes) {
                if a.received != b.received {
                    let _ = writeln!(
                        diff,
                        "  {} {} from {} ({}): {} {}, {} {}",
                        a.probe.tag(),
                        a.probe.src,
                        a.probe.from.as_str(),
                        a.probe.what,
                        reference.loader.label(),
                        if a.received { "received" } else { "dropped" },
                        other.loader.label(),
                        if b.received { "received" } else { "dropped" },
                    );
                }
            }
            for (a, b) in reference.local.iter().zip(&other.local) {
                if a.1 != b.1 {
                    let _ = writeln!(
                        diff,
                        "  {}: {} {}, {} {}",
                        a.0,
                        reference.loader.label(),
                        a.1,
                        other.loader.label(),
                        b.1
                    );
                }
            }
            if reference.report.verdicts() != other.report.verdicts()
                || reference.local.iter().map(|l| l.1).collect::<Vec<_>>()
                    != other.local.iter().map(|l| l.1).collect::<Vec<_>>()
            {
                failures.push(format!(
                    "[{}] verdicts differ between {} and {}:\n{diff}",
                    variant.label(),
                    reference.loader.label(),
                    other.loader.label()
                ));
            }
        }
    }
    let expected_runs = LOADERS.len() * Variant::ALL.len();
    eprintln!(
        "lab_antispoof: {} runs of {} probes each (of {expected_runs}) in {:.1?}",
        runs.len(),
        runs.first().map_or(0, |r| r.report.outcomes.len()),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} anti-spoofing failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n==========\n\n")
    );
    assert_eq!(runs.len(), expected_runs, "some runs did not happen");
}

/// The rendered `sysctl.d` of the lab's sites applies in the router (`sysctl -p`): a wildcard
/// interface must not produce a per-interface key, which does not exist
/// (`net.ipv4.conf.ppp.rp_filter`); and an interface the wildcard matches that appears after
/// the sysctls were applied (`ppp1`) gets the kernel reverse-path mode the site asks for it
/// (the kernel applies the maximum of `conf.all` and `conf.<if>`, and a new interface starts
/// from `conf.default`).
#[test]
fn rendered_sysctl_applies_with_a_wildcard_interface() {
    let _lock = require_lab!();
    let mut problems = Vec::new();
    for variant in [Variant::Enforce, Variant::UnknownAllow] {
        let rules = rendered(variant);
        let lab = lab();
        let router = lab.router();
        let head = format!("[{}]", variant.label());
        if let Err(e) =
            firewall::run_with_input(router, "sysctl", &["-p", "/dev/stdin"], &rules.sysctl)
        {
            problems.push(format!(
                "{head} sysctl -p refused the rendered sysctl.d (router interfaces wan0, lan0, dmz0, lan1, ppp0, ext0):\n{e}\n--- text ---\n{}",
                numbered(&rules.sysctl)
            ));
            // Apply what can be applied, to look at the modes.
            let _ = firewall::exec_with_input(
                router,
                "sysctl",
                &["-e", "-p", "/dev/stdin"],
                &rules.sysctl,
            );
        }
        if let Err(e) = router.ip(&[
            "link", "add", "ppp1", "type", "veth", "peer", "name", "ppp1p",
        ]) {
            problems.push(format!("{head} cannot add ppp1: {e}"));
            continue;
        }
        let read = |key: &str| -> u8 {
            router
                .run("sysctl", &["-n", key])
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(255)
        };
        let all = read("net.ipv4.conf.all.rp_filter");
        for (iface, want) in [("ppp1", 1u8), ("wan0", 1)] {
            let own = read(&format!("net.ipv4.conf.{iface}.rp_filter"));
            let effective = all.max(own);
            if effective != want {
                problems.push(format!(
                    "{head} {iface}: kernel rp_filter is max(all={all}, {iface}={own}) = {effective}, the site asks {want} (strict) for it\n--- sysctl.d ---\n{}",
                    numbered(&rules.sysctl)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Where the site must set a mark for `rp_filter_mark = true`: the mark-aware reverse-path
/// check runs in nfh's anti-spoofing chain (raw priority, -300), so a mark set in the mangle
/// table / at priority mangle (-150), where policy-routing marks usually go, comes too late
/// and the marked probes are dropped; set before it (nft priority -350, iptables top of raw
/// PREROUTING), they pass.
#[test]
fn marks_must_be_set_before_the_antispoof_chain() {
    let _lock = require_lab!();
    let rules = rendered(Variant::Enforce);
    let marked: Vec<spooflab::Probe> = spooflab::probes(Variant::Enforce)
        .into_iter()
        .filter(|p| p.sport == spooflab::MARK_SPORT)
        .collect();
    assert_eq!(marked.len(), 2, "one marked probe per family");
    let mut problems = Vec::new();
    for loader in [Loader::LegacyRestore, Loader::Nft] {
        let flavor = loader.flavor();
        let lab = lab();
        let router = lab.router();
        if let Err(e) = loader.load(router, rules.text(loader)) {
            problems.push(format!("[{}] the rules do not load:\n{e}", loader.label()));
            continue;
        }
        for (at, want) in [(MarkAt::Mangle, false), (MarkAt::BeforeAntispoof, true)] {
            let head = format!("[{}] mark set at {at:?}", loader.label());
            if let Err(e) = spooflab::add_mark_rules_at(router, flavor, at) {
                problems.push(format!("{head}: the mark rules do not load: {e}"));
                continue;
            }
            match spooflab::run_probes(&lab, &marked, false) {
                Ok(report) => {
                    if report.outcomes.iter().any(|o| o.received != want) {
                        problems.push(format!(
                            "{head}: the marked probes must {}:\n{report}{}",
                            if want {
                                "pass"
                            } else {
                                "be dropped (the mark comes too late)"
                            },
                            firewall::dump(router, flavor)
                        ));
                    }
                }
                Err(e) => problems.push(format!("{head}: probe run failed: {e}")),
            }
            if let Err(e) = spooflab::remove_mark_rules(router, flavor, at) {
                problems.push(format!("{head}: cannot remove the mark rules: {e}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
