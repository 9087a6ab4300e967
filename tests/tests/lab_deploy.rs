//! Kernel lab, issue 9 item 7: nfh's rules deployed next to a real site firewall.
//!
//! For every loader (`iptables-legacy-restore`, `iptables-nft-restore`, the command form with
//! the legacy and the nft-based tools, `nft -f`, `nft -j -f`), a router whose own firewall is
//! written with the same tools ([`deploylab`]: default-deny INPUT/FORWARD, ESTABLISHED and
//! RELATED accepts, SSH, a raw notrack rule, DNAT of a public address to the DMZ FTP server,
//! masquerade of the LAN, a full-width `ct mark` save with an `fwmark` routing rule) gets
//! nfh's rules for [`deploylab::DEPLOY_SITE_TOML`], and:
//!
//! * **the site stays intact**: after the first load the ruleset is the site's own, line by
//!   line, plus nfh's chains and hooks (each hook once, first in its chain; nothing of nfh's
//!   accepts or touches marks); two reloads give the same ruleset; the removal output leaves
//!   exactly the site's ruleset, and a second removal changes nothing; after a site change
//!   (one server and one service less, so no iptables sub-chains) the new rules loaded over
//!   the old ones leave exactly what the new rules alone give; loading again gives the first
//!   ruleset again;
//! * **these pass**: FTP active and passive to the DMZ server (IPv4, and passive IPv6), the
//!   same server through its public (DNAT) address, a masqueraded LAN client to a server
//!   outside, active and passive FTP to a server on the router itself (INPUT/OUTPUT), a SIP
//!   call with SDP then RTP both ways between a LAN phone and the RTP farm, TFTP with the
//!   router itself as the client, SSH to the router;
//! * **these are dropped**: media from an outside host that is not the farm, a bounce (PORT
//!   naming a third party), PASV naming a third party, a data port below the floor (each with
//!   its expectation in the kernel's table, so only a rule can have dropped it), and NEW
//!   traffic the site's own policies refuse;
//! * **control**: with a blanket RELATED accept placed before nfh's rules, the dropped
//!   RELATED flows pass (so the drops above were nfh's).
//!
//! Without root or network namespaces each test prints `KERNEL LAB NOT RUN: <reason>` and
//! fails when `CI=true`.
//!
//! Run: `cargo test -p netfilter-helpers-tests --test lab_deploy -- --nocapture` (as root;
//! `--nocapture` shows every flow and the phase timings of each loader).

use netfilter_helpers_core::render::{Backend, render};
use netfilter_helpers_core::site::Site;
use netfilter_helpers_core::synth::synthesize;
use netfilter_helpers_tests::deploylab::{self, DEPLOY_SITE_TOML};
use netfilter_helpers_tests::firewall::{Loader, numbered};
use netfilter_helpers_tests::require_lab;
use netfilter_helpers_tests::rulelab::Rendered;

fn rendered(toml: &str) -> Rendered {
    Rendered::from_site_toml(toml).unwrap_or_else(|e| {
        panic!(
            "the deployment site cannot be rendered: {e}\n--- site ---\n{}",
            numbered(toml)
        )
    })
}

/// The rendered texts themselves keep the integration contract (no lab needed): the restore
/// files declare only nfh's chains (no built-in chain, so no policy) and add no rule to a
/// built-in chain; no output reads or writes a mark or accepts anything; the hook script adds
/// each jump only when it is missing; the nft script replaces only its own table.
#[test]
fn rendered_outputs_keep_the_contract() {
    let site = Site::from_toml(DEPLOY_SITE_TOML).expect("the deployment site parses");
    let valid = site.validate().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        valid.warnings.is_empty(),
        "the deployment site draws warnings: {:?}",
        valid.warnings
    );
    let rules = synthesize(&valid);
    for backend in Backend::ALL {
        let text = render(&rules, backend).unwrap_or_else(|e| panic!("{backend}: {e}"));
        let lower = text.to_ascii_lowercase();
        let body: String = lower
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !body.contains("mark"),
            "{backend}: no output may use marks:\n{}",
            numbered(&text)
        );
        if matches!(backend, Backend::Iptables | Backend::Ip6tables) {
            for line in text.lines() {
                if let Some(chain) = line.strip_prefix(':') {
                    assert!(
                        chain.starts_with("nfh-"),
                        "{backend}: declares a chain that is not nfh's (a built-in's policy): {line}"
                    );
                }
                if let Some(rule) = line.strip_prefix("-A ") {
                    assert!(
                        rule.starts_with("nfh-"),
                        "{backend}: adds a rule to a chain that is not nfh's: {line}"
                    );
                }
            }
        }
        if matches!(
            backend,
            Backend::Iptables | Backend::Ip6tables | Backend::Commands
        ) {
            for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
                assert!(
                    !line.contains("-j ACCEPT"),
                    "{backend}: nfh never accepts: {line}"
                );
            }
        }
        if matches!(backend, Backend::Nft) {
            for line in text
                .lines()
                .filter(|l| !l.contains("policy ") && !l.trim_start().starts_with('#'))
            {
                assert!(
                    !line.split_whitespace().any(|w| w == "accept"),
                    "{backend}: nfh never accepts: {line}"
                );
            }
            assert!(text.contains("delete table inet nfh"), "{text}");
        }
    }
    let hooks = render(&rules, Backend::IptablesHooks).unwrap();
    for (_, _, _, target) in deploylab::IPTABLES_HOOKS {
        assert!(hooks.contains(target), "no hook to {target}:\n{hooks}");
    }
    assert!(
        hooks.contains("-C ") && hooks.contains("-I "),
        "hooks are added only when missing (-C || -I):\n{hooks}"
    );
}

/// One loader: [`deploylab::run`] (the site's firewall; nfh's rules loaded three times,
/// removed twice; a site change loaded alone and over the first rules; loaded again; every
/// flow; the control run). Failures are collected and
/// reported together with every flow and the router's rules (with counters), conntrack and
/// expectation tables.
fn deploy(loader: Loader) {
    let rules = rendered(DEPLOY_SITE_TOML);
    let changed = rendered(&deploylab::changed_site_toml());
    let report = deploylab::run(loader, &rules, &changed)
        .unwrap_or_else(|e| panic!("[{}] {e}", loader.label()));
    eprintln!("{report}");
    assert!(report.failures.is_empty(), "{}", report.failure_message());
}

macro_rules! per_loader {
    ($($name:ident: $loader:ident;)*) => {$(
        #[test]
        fn $name() {
            let _lock = require_lab!();
            deploy(Loader::$loader);
        }
    )*};
}

per_loader! {
    deploy_iptables_legacy_restore: LegacyRestore;
    deploy_iptables_nft_restore: NftRestore;
    deploy_commands_legacy: LegacyCommands;
    deploy_commands_nft: NftCommands;
    deploy_nft: Nft;
    deploy_nft_json: NftJson;
}
