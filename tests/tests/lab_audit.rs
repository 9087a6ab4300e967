//! Kernel lab for the ruleset audit: known-bad rulesets are loaded into fresh namespaces
//! (`nft -f`, `iptables-restore`), read back from the kernel (`nft -j list ruleset`,
//! `iptables-save`, `ip6tables-save` inside the namespace), and the audit's findings are
//! asserted exactly (code, severity, rule). nfh's own renderings of the lab sites are
//! loaded the same way and must give no finding at all.
//!
//! Run: `cargo test -p netfilter-helpers-tests --test lab_audit -- --test-threads=1`
//! (as root; without a lab the tests print `KERNEL LAB NOT RUN` and pass, unless `CI=true`).

use netfilter_helpers_core::audit::hazards::{Facts, hazards};
use netfilter_helpers_core::audit::{AuditCode, AuditFinding};
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_core::report::Severity;
use netfilter_helpers_core::ruleset::{Ruleset, iptables_save, nft_json};
use netfilter_helpers_tests::firewall::{numbered, run_with_input};
use netfilter_helpers_tests::netns::Netns;
use netfilter_helpers_tests::require_lab;
use netfilter_helpers_tests::rulelab::Rendered;

/// What the kernel of `ns` holds: nft JSON, and the iptables-save of both families when
/// `with_iptables` (else the nft reading alone, where iptables-nft rules are opaque).
fn live_ruleset(ns: &Netns, with_iptables: bool) -> Ruleset {
    let json = ns
        .run("nft", &["-j", "list", "ruleset"])
        .unwrap_or_else(|e| panic!("{e}"));
    let nft = nft_json::read(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
    let mut ipt = Vec::new();
    if with_iptables {
        for (cmd, fam) in [("iptables-save", "ip"), ("ip6tables-save", "ip6")] {
            let text = ns.run(cmd, &[]).unwrap_or_else(|e| panic!("{e}"));
            ipt.push(iptables_save::read(&text, Some(fam)));
        }
    }
    Ruleset::combine(Some(nft), ipt)
}

fn audit(ns: &Netns, with_iptables: bool) -> Vec<AuditFinding> {
    let options = ModuleOptions::new();
    hazards(&live_ruleset(ns, with_iptables), &Facts::new(&options))
}

fn load_nft(ns: &Netns, script: &str) {
    run_with_input(ns, "nft", &["-f", "-"], script)
        .unwrap_or_else(|e| panic!("{e}\n{}", numbered(script)));
}

fn load_iptables(ns: &Netns, v6: bool, text: &str) {
    let cmd = if v6 {
        "ip6tables-restore"
    } else {
        "iptables-restore"
    };
    run_with_input(ns, cmd, &[], text).unwrap_or_else(|e| panic!("{e}\n{}", numbered(text)));
}

/// (code, severity, rule text) of every finding, in order.
fn summary(found: &[AuditFinding]) -> Vec<(AuditCode, Severity, String)> {
    found
        .iter()
        .map(|f| {
            (
                f.code,
                f.severity,
                f.rule.as_ref().map(|r| r.text.clone()).unwrap_or_default(),
            )
        })
        .collect()
}

fn expect(found: &[AuditFinding], want: &[(AuditCode, Severity, &str)]) {
    let got = summary(found);
    let want: Vec<_> = want
        .iter()
        .map(|(c, s, t)| (*c, *s, t.to_string()))
        .collect();
    assert_eq!(
        got,
        want,
        "findings:\n{}",
        found.iter().map(|f| format!("  {f}\n")).collect::<String>()
    );
}

use AuditCode::*;
use Severity::{Error, Info, Warning};

/// The article's "before": a blanket `RELATED,ESTABLISHED` accept, an FTP RELATED accept
/// restricted to an interface only, and a CT rule for a non-standard port without the
/// server's address (the article's own example lost it: `-d -j CT`).
#[test]
fn article_before_examples() {
    let _lock = require_lab!();
    let ns = Netns::new("aud-art").unwrap_or_else(|e| panic!("{e}"));
    load_iptables(
        &ns,
        false,
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A PREROUTING -p tcp --dport 2121 -j CT --helper ftp\n\
         -A PREROUTING -m rpfilter --invert -j DROP\nCOMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A FORWARD -m conntrack --ctstate RELATED -m helper --helper ftp -d 10.0.0.10 -p tcp --dport 1024: -j ACCEPT\n\
         -A FORWARD -m conntrack --ctstate RELATED -m helper --helper ftp -o eth9 -p tcp --dport 1024: -j ACCEPT\n\
         -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n",
    );
    let found = audit(&ns, true);
    expect(
        &found,
        &[
            (
                HelperUnrestricted,
                Warning,
                "-A PREROUTING -p tcp -m tcp --dport 2121 -j CT --helper ftp",
            ),
            (
                RelatedAcceptNoAddress,
                Warning,
                "-A FORWARD -o eth9 -p tcp -m conntrack --ctstate RELATED -m helper --helper ftp -m tcp --dport 1024:65535 -j ACCEPT",
            ),
            (
                RelatedAcceptBlanket,
                Error,
                "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            ),
        ],
    );
    // Where they are: iptables-save line numbers, table and chain.
    let blanket = &found[2].rule.as_ref().unwrap().location;
    assert_eq!(
        (
            blanket.table.as_str(),
            blanket.chain.as_str(),
            blanket.index
        ),
        ("filter", "FORWARD", 3)
    );
}

/// The same rules loaded with iptables-legacy are read from `iptables-legacy-save` (not
/// visible to nft at all) with the same findings, located in the legacy tables.
#[test]
fn article_before_examples_legacy() {
    let _lock = require_lab!();
    let ns = Netns::new("aud-leg").unwrap_or_else(|e| panic!("{e}"));
    run_with_input(
        &ns,
        "iptables-legacy-restore",
        &[],
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A PREROUTING -p tcp --dport 2121 -j CT --helper ftp\nCOMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let text = ns
        .run("iptables-legacy-save", &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let json = ns
        .run("nft", &["-j", "list", "ruleset"])
        .unwrap_or_else(|e| panic!("{e}"));
    let rs = Ruleset::combine(
        Some(nft_json::read(&json).unwrap_or_else(|e| panic!("{e}"))),
        vec![iptables_save::read(&text, Some("ip"))],
    );
    let options = ModuleOptions::new();
    let found = hazards(&rs, &Facts::new(&options));
    // iptables-legacy-save prints the filter table before raw.
    expect(
        &found,
        &[
            (
                RelatedAcceptBlanket,
                Error,
                "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            ),
            (
                HelperUnrestricted,
                Warning,
                "-A PREROUTING -p tcp -m tcp --dport 2121 -j CT --helper ftp",
            ),
        ],
    );
    assert!(
        found
            .iter()
            .all(|f| f.rule.as_ref().unwrap().location.origin
                == netfilter_helpers_core::ruleset::Origin::IptablesLegacy),
        "{found:#?}"
    );
}

/// A blanket `ct state established,related accept` in nft, and the same accept mitigated by
/// a second base chain on the forward hook that drops unlisted RELATED flows.
#[test]
fn blanket_related_accept_and_its_mitigation() {
    let _lock = require_lab!();
    let ns = Netns::new("aud-blk").unwrap_or_else(|e| panic!("{e}"));
    load_nft(
        &ns,
        "table inet fw {\n chain forward {\n  type filter hook forward priority filter; policy drop;\n  ct state established,related accept\n }\n}\n",
    );
    expect(
        &audit(&ns, false),
        &[(
            RelatedAcceptBlanket,
            Error,
            "ct state { established, related } accept",
        )],
    );
    load_nft(
        &ns,
        "table inet guard {\n chain rel {\n  type filter hook forward priority filter + 10; policy accept;\n  ct state != related return\n  ct helper \"ftp\" ip daddr 10.0.0.10 tcp dport 1024-65535 return\n  drop\n }\n}\n",
    );
    let found = audit(&ns, false);
    expect(
        &found,
        &[(
            RelatedAcceptBlanket,
            Info,
            "ct state { established, related } accept",
        )],
    );
    assert!(
        found[0]
            .message
            .contains("mitigated: base chain inet guard rel"),
        "{}",
        found[0].message
    );
}

/// firewalld's iptables backend: helpers assigned per zone with only the port, and the
/// zone's blanket RELATED accept; loaded with iptables-nft and read back with
/// iptables-save (the nft reading alone shows opaque `xt` rules).
#[test]
fn firewalld_style_iptables_nft() {
    let _lock = require_lab!();
    let ns = Netns::new("aud-fwd").unwrap_or_else(|e| panic!("{e}"));
    load_iptables(
        &ns,
        false,
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:PREROUTING_ZONES - [0:0]\n:PRE_public - [0:0]\n:PRE_public_allow - [0:0]\n\
         -A PREROUTING -j PREROUTING_ZONES\n-A PREROUTING_ZONES -i eth0 -g PRE_public\n\
         -A PRE_public -j PRE_public_allow\n\
         -A PRE_public_allow -p tcp -m tcp --dport 21 -j CT --helper ftp\nCOMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:INPUT_direct - [0:0]\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT\n\
         -A INPUT -j INPUT_direct\n-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
         -A INPUT -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n",
    );
    let want = [
        (
            HelperUnrestricted,
            Warning,
            "-A PRE_public_allow -p tcp -m tcp --dport 21 -j CT --helper ftp",
        ),
        (
            RelatedAcceptBlanket,
            Error,
            "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT",
        ),
    ];
    expect(&audit(&ns, true), &want);
    // Without iptables-save, every rule iptables-nft had to express with `xt` (the CT
    // target, both conntrack matches, the REJECT target) is an opaque-rule finding that says
    // how to read it.
    let nft_only = audit(&ns, false);
    assert!(!nft_only.is_empty());
    let opaque: Vec<_> = nft_only.iter().filter(|f| f.code == OpaqueRule).collect();
    assert_eq!(opaque.len(), 4, "{nft_only:#?}");
    assert!(
        opaque
            .iter()
            .all(|f| f.message.contains("read it with iptables-nft-save") && f.severity == Warning)
    );
}

/// OpenWrt fw4: `ct helper` objects, assignment per zone by interface only, and the
/// forward chain's `ct state vmap { established : accept, related : accept }`.
#[test]
fn openwrt_fw4_style_ct_helper() {
    let _lock = require_lab!();
    let ns = Netns::new("aud-fw4").unwrap_or_else(|e| panic!("{e}"));
    load_nft(
        &ns,
        "table inet fw4 {\n\
         ct helper ftp {\n  type \"ftp\" protocol tcp\n }\n\
         ct helper pptp {\n  type \"pptp\" protocol tcp\n }\n\
         chain forward {\n  type filter hook forward priority filter; policy drop;\n  ct state vmap { established : accept, related : accept }\n  iifname \"br-lan\" jump forward_lan\n }\n\
         chain forward_lan {\n  accept\n }\n\
         chain prerouting {\n  type filter hook prerouting priority filter; policy accept;\n  iifname \"br-lan\" jump helper_lan\n }\n\
         chain helper_lan {\n  meta l4proto tcp tcp dport 21 ct helper set \"ftp\"\n  meta nfproto ipv6 tcp dport 1723 ct helper set \"pptp\"\n }\n}\n",
    );
    expect(
        &audit(&ns, false),
        &[
            (
                RelatedAcceptBlanket,
                Error,
                "ct state vmap { established : accept, related : accept }",
            ),
            (
                HelperUnrestricted,
                Warning,
                "tcp dport 21 ct helper set \"ftp\"",
            ),
            (
                HelperUnrestricted,
                Warning,
                "meta nfproto ipv6 tcp dport 1723 ct helper set \"pptp\"",
            ),
            (
                HelperUnsupported,
                Error,
                "meta nfproto ipv6 tcp dport 1723 ct helper set \"pptp\"",
            ),
        ],
    );
}

/// A blanket accept hidden behind a `ct state related` goto and an unconditional jump, next
/// to a restricted one that must stay quiet.
#[test]
fn jumps_and_gotos_hide_a_blanket_accept() {
    let _lock = require_lab!();
    let ns = Netns::new("aud-jmp").unwrap_or_else(|e| panic!("{e}"));
    load_nft(
        &ns,
        "table ip fw {\n\
         chain input {\n  type filter hook input priority filter; policy drop;\n  ct state established accept\n  ct state related goto rel\n }\n\
         chain rel {\n  ct helper \"ftp\" ip saddr 10.0.0.10 accept\n  jump rel2\n }\n\
         chain rel2 {\n  counter accept comment \"hidden\"\n }\n\
         chain unused {\n  ct state related accept\n }\n}\n",
    );
    expect(
        &audit(&ns, false),
        &[(
            RelatedAcceptBlanket,
            Error,
            "counter accept comment \"hidden\"",
        )],
    );
}

/// nfh's own renderings of the lab sites (nft and iptables-restore), loaded and read back,
/// give no finding at all.
#[test]
fn nfh_renderings_have_no_hazard() {
    let _lock = require_lab!();
    let sites = [
        (
            "examples/site.toml",
            include_str!("../../examples/site.toml"),
        ),
        ("sitelab", netfilter_helpers_tests::sitelab::SITE_TOML),
        (
            "deploylab",
            netfilter_helpers_tests::deploylab::DEPLOY_SITE_TOML,
        ),
    ];
    for (name, toml) in sites {
        let r = Rendered::from_site_toml(toml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ns = Netns::new("aud-nfh").unwrap_or_else(|e| panic!("{e}"));
        load_nft(&ns, &r.nft);
        let found = audit(&ns, true);
        assert!(found.is_empty(), "{name} (nft): {found:#?}");
        let ns = Netns::new("aud-nfi").unwrap_or_else(|e| panic!("{e}"));
        load_iptables(&ns, false, &r.iptables);
        load_iptables(&ns, true, &r.ip6tables);
        let found = audit(&ns, true);
        assert!(found.is_empty(), "{name} (iptables): {found:#?}");
    }
}

/// Drift: the rendering of `examples/site.toml` loaded as is has none; with one rule
/// deleted and one added in its table, exactly those two are listed.
#[test]
fn drift_against_the_site() {
    use netfilter_helpers_core::audit::drift::{against_site, drift};
    let _lock = require_lab!();
    // The core's own choice (`against_site`: nft here, iptables below) gives the same
    // findings as the comparison named explicitly.
    let site =
        netfilter_helpers_core::site::Site::from_toml(include_str!("../../examples/site.toml"))
            .and_then(|s| s.validate())
            .unwrap_or_else(|e| panic!("{e}"));
    let same = |live: &Ruleset, d: &[AuditFinding]| {
        assert_eq!(
            against_site(&site, live).unwrap_or_else(|e| panic!("{e}")),
            d
        );
    };
    let r = Rendered::from_site_toml(include_str!("../../examples/site.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = nft_json::read(&r.nft_json).unwrap_or_else(|e| panic!("{e}"));
    let ns = Netns::new("aud-drf").unwrap_or_else(|e| panic!("{e}"));
    load_nft(&ns, &r.nft);
    let live = live_ruleset(&ns, false);
    let d = drift(&expected, &live, "nfh");
    assert!(d.is_empty(), "{d:#?}");
    same(&live, &d);
    // Delete the first rule of helpers_out, add a blanket accept to related_in.
    let json = ns
        .run(
            "nft",
            &["-j", "list", "chain", "inet", "nfh", "helpers_out"],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let handle = nft_json::read(&json)
        .unwrap_or_else(|e| panic!("{e}"))
        .chains[0]
        .rules[0]
        .location
        .handle
        .expect("nft prints rule handles");
    load_nft(
        &ns,
        &format!(
            "delete rule inet nfh helpers_out handle {handle}\nadd rule inet nfh related_in ct state related accept\n"
        ),
    );
    let live = live_ruleset(&ns, false);
    let d = drift(&expected, &live, "nfh");
    same(&live, &d);
    let got: Vec<_> = d
        .iter()
        .map(|f| {
            (
                f.code,
                f.rule.as_ref().map(|r| r.text.clone()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                DriftMissing,
                "meta nfproto ipv4 ip daddr 10.81.1.5/32 udp dport 69 ct helper set \"tftp_udp\" comment \"tftp-boot\"".to_string()
            ),
            (DriftExtra, "ct state related accept".to_string()),
        ],
        "{d:#?}"
    );

    // The iptables renderings, loaded with iptables-restore (iptables-nft) and read back
    // with iptables-save: no drift; then one rule deleted and one appended.
    use netfilter_helpers_core::audit::drift::drift_iptables;
    let expected = Ruleset::combine(
        None,
        vec![
            iptables_save::read(&r.iptables, Some("ip")),
            iptables_save::read(&r.ip6tables, Some("ip6")),
        ],
    );
    let ns = Netns::new("aud-dri").unwrap_or_else(|e| panic!("{e}"));
    load_iptables(&ns, false, &r.iptables);
    load_iptables(&ns, true, &r.ip6tables);
    let live = live_ruleset(&ns, true);
    let d = drift_iptables(&expected, &live, "nfh");
    assert!(d.is_empty(), "{d:#?}");
    same(&live, &d);
    ns.run("iptables", &["-t", "raw", "-D", "nfh-helpers-out", "1"])
        .unwrap_or_else(|e| panic!("{e}"));
    ns.run(
        "iptables",
        &[
            "-A",
            "nfh-related-in",
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED",
            "-j",
            "ACCEPT",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let live = live_ruleset(&ns, true);
    let d = drift_iptables(&expected, &live, "nfh");
    same(&live, &d);
    let got: Vec<_> = d
        .iter()
        .map(|f| {
            (
                f.code,
                f.rule.as_ref().map(|r| r.text.clone()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                DriftMissing,
                "-A nfh-helpers-out -d 10.81.1.5/32 -p udp --dport 69 -m comment --comment tftp-boot -j CT --helper tftp".to_string()
            ),
            (
                DriftExtra,
                "-A nfh-related-in -m conntrack --ctstate RELATED -j ACCEPT".to_string()
            ),
        ],
        "{d:#?}"
    );
}

/// The kernel behind `helper-unsupported` for `ct helper set` before connection tracking:
/// a TCP connection to port 21 through a chain at priority raw (-300) gets no helper, at
/// priority mangle (-150) it gets ftp; the audit flags exactly the first.
#[test]
fn ct_helper_set_at_raw_priority_assigns_nothing() {
    use netfilter_helpers_tests::netns::veth;
    let _lock = require_lab!();
    for (prio, helper_attached) in [("raw", false), ("mangle", true)] {
        let a = Netns::new("aud-pa").unwrap_or_else(|e| panic!("{e}"));
        let b = Netns::new("aud-pb").unwrap_or_else(|e| panic!("{e}"));
        veth(&a, "va", &b, "vb").unwrap_or_else(|e| panic!("{e}"));
        for (ns, dev, addr) in [(&a, "va", "10.99.0.1/24"), (&b, "vb", "10.99.0.2/24")] {
            ns.add_addr(dev, addr).unwrap_or_else(|e| panic!("{e}"));
            ns.link_up(dev).unwrap_or_else(|e| panic!("{e}"));
        }
        load_nft(
            &b,
            &format!(
                "table inet t {{\n ct helper ftp {{\n  type \"ftp\" protocol tcp\n }}\n chain pre {{\n  type filter hook prerouting priority {prio}; policy accept;\n  ip daddr 10.99.0.2 tcp dport 21 ct helper set \"ftp\"\n }}\n}}\n"
            ),
        );
        let found = audit(&b, false);
        if helper_attached {
            assert!(found.is_empty(), "{found:#?}");
        } else {
            expect(
                &found,
                &[(
                    HelperUnsupported,
                    Error,
                    "ip daddr 10.99.0.2 tcp dport 21 ct helper set \"ftp\"",
                )],
            );
        }
        // A connection that stays open while conntrack is listed.
        let mut server = b
            .command("python3")
            .args([
                "-c",
                "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('10.99.0.2',21))\ns.listen()\nprint('ready',flush=True)\nc,_=s.accept()\ntime.sleep(2)",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(server.stdout.as_mut().expect("stdout")),
            &mut line,
        )
        .expect("server ready");
        let mut client = a
            .command("python3")
            .args([
                "-c",
                "import socket,time\ns=socket.create_connection(('10.99.0.2',21),timeout=3)\ntime.sleep(1.5)",
            ])
            .spawn()
            .expect("python3 runs");
        let mut listed = String::new();
        for _ in 0..20 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            listed = b
                .run("conntrack", &["-L", "-p", "tcp", "--dport", "21"])
                .unwrap_or_default();
            if listed.contains("ESTABLISHED") {
                break;
            }
        }
        let _ = client.wait();
        let _ = server.wait();
        assert!(listed.contains("ESTABLISHED"), "no connection: {listed}");
        assert_eq!(
            listed.contains("helper=ftp"),
            helper_attached,
            "priority {prio}: {listed}"
        );
    }
}

/// Reads the packet counter of the first `counter` of chain `table`/`chain` in `ns`.
fn counter_packets(ns: &Netns, family: &str, table: &str, chain: &str) -> u64 {
    let text = ns
        .run("nft", &["list", "chain", family, table, chain])
        .unwrap_or_else(|e| panic!("{e}"));
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == "packets")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or_else(|| panic!("no counter in {text}"))
}

/// Through `lab`'s router: an FTP control connection client → server:21 whose `PASV` reply
/// announces the server's `port`; asserts the router's helper expects the data connection
/// (so the connection is RELATED), then opens it from the client.
fn related_ftp_data(
    lab: &netfilter_helpers_tests::netns::Lab,
    port: u16,
    label: &str,
) -> netfilter_helpers_tests::probes::DataAttempt {
    use netfilter_helpers_tests::expect::{ExpectSource, wait_lines};
    use netfilter_helpers_tests::netns::addr;
    use netfilter_helpers_tests::probes::{data_connection, ftp_control};
    use netfilter_helpers_tests::scenarios::FtpCommand;
    use std::net::SocketAddr;
    let server = SocketAddr::new(addr::SERVER_V4.into(), 21);
    let control = ftp_control(
        &lab.client,
        &lab.server,
        server,
        &FtpCommand::Pasv {
            addr: addr::SERVER_V4,
            port,
        },
        lab.player_timeout,
    )
    .unwrap_or_else(|e| panic!("{label}: {e}"));
    // The helper saw the reply: the data connection will be RELATED.
    let expected = wait_lines(&lab.router, ExpectSource::Proc, 1).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        expected.iter().any(|l| l.contains(&port.to_string())),
        "{label}: no expectation for port {port}: {expected:?}"
    );
    let data = data_connection(
        &lab.server,
        SocketAddr::new(addr::SERVER_V4.into(), port),
        &lab.client,
        lab.player_timeout,
    )
    .unwrap_or_else(|e| panic!("{label}: {e}"));
    drop(control);
    data
}

/// Chain types, live. The router assigns ftp to the server's control connections and its
/// forward filter chain (policy drop) accepts established and new control connections only;
/// the server answers `PASV` with a data port, the router's helper expects the data
/// connection, the client opens it (a RELATED connection):
///
/// * with `ct state related accept` in an nft NAT chain (which counts the RELATED packet and
///   accepts it), the forward chain still drops it: a NAT chain's accept only moves on to the
///   hook's next chain (nf_nat_core.c, `nf_nat_inet_fn`; nf_core.c, `nf_hook_slow`), and the
///   audit reports nothing;
/// * the same in iptables' `nat` table (iptables-nft): dropped, nothing reported;
/// * the same rule in the forward filter chain lets the data connection through, and the
///   audit reports the blanket accept.
#[test]
fn related_accept_in_a_nat_chain_lets_nothing_through() {
    use netfilter_helpers_tests::expect::flush_conntrack;
    use netfilter_helpers_tests::netns::Lab;
    let _lock = require_lab!();
    let lab = Lab::new().unwrap_or_else(|e| panic!("{e}"));
    let nft_rules = |nat: &str, fwd_extra: &str| {
        format!(
            "table inet t {{\n ct helper ftp {{\n  type \"ftp\" protocol tcp\n }}\n\
             chain pre {{\n  type filter hook prerouting priority filter; policy accept;\n  ip daddr 10.71.2.2 tcp dport 21 ct helper set \"ftp\"\n }}\n\
             {nat}\
             chain filter_fw {{\n  type filter hook forward priority filter; policy drop;\n  ct state established accept\n{fwd_extra}  ip daddr 10.71.2.2 tcp dport 21 ct state new accept\n }}\n}}\n"
        )
    };
    let nat_chain = " chain natpre {\n  type nat hook prerouting priority dstnat; policy accept;\n  ct state related counter accept\n }\n";
    let iptables = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A PREROUTING -d 10.71.2.2/32 -p tcp --dport 21 -j CT --helper ftp\nCOMMIT\n\
         *nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
         -A PREROUTING -m conntrack --ctstate RELATED -j ACCEPT\nCOMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
         -A FORWARD -d 10.71.2.2/32 -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n";
    enum Load {
        Nft(String),
        Iptables(&'static str),
    }
    /// What the audit must find.
    type Want = Vec<(AuditCode, Severity, &'static str)>;
    let cases: [(&str, Load, Want, bool); 3] = [
        (
            "nft nat chain",
            Load::Nft(nft_rules(nat_chain, "")),
            vec![],
            false,
        ),
        (
            "iptables nat table",
            Load::Iptables(iptables),
            vec![],
            false,
        ),
        (
            "nft filter chain",
            Load::Nft(nft_rules("", "  ct state related accept\n")),
            vec![(RelatedAcceptBlanket, Error, "ct state related accept")],
            true,
        ),
    ];
    for (i, (label, load, want, passes)) in cases.into_iter().enumerate() {
        lab.router
            .run("nft", &["flush", "ruleset"])
            .unwrap_or_else(|e| panic!("{e}"));
        flush_conntrack(&lab.router).unwrap_or_else(|e| panic!("{e}"));
        match &load {
            Load::Nft(script) => load_nft(&lab.router, script),
            Load::Iptables(text) => load_iptables(&lab.router, false, text),
        }
        let found = audit(&lab.router, true);
        expect(&found, &want);
        let port = 50021 + u16::try_from(i).expect("few cases");
        let data = related_ftp_data(&lab, port, label);
        assert_eq!(data.succeeded(), passes, "{label}: data connection {data}");
        if let Load::Nft(_) = load
            && !passes
        {
            // The NAT chain saw the RELATED packet and accepted it; forward dropped it.
            assert!(
                counter_packets(&lab.router, "inet", "t", "natpre") >= 1,
                "{label}: the NAT chain's related accept never matched"
            );
        }
    }
}

/// An inet `ct helper` object for irc, a helper the kernel registers for IPv4 only
/// (nf_conntrack_irc.c, `nf_ct_helper_init(&irc[i], AF_INET, ...)`): the object loads
/// (nft_ct.c, `nft_ct_helper_obj_init` fails only when neither family has the helper) and the
/// kernel lists it as `l3proto ip` (`nft_ct_helper_obj_dump`). An IPv4 connection through the
/// rule gets the helper and a DCC offer makes an expectation; an IPv6 connection through the
/// same rule gets no helper and no expectation (`nft_ct_helper_obj_eval`: `helper6` is NULL).
/// The audit warns about exactly that rule.
#[test]
fn inet_ct_helper_object_of_an_ipv4_only_helper_skips_ipv6() {
    use netfilter_helpers_tests::expect::{ExpectSource, conntrack_lines_family, wait_lines};
    use netfilter_helpers_tests::netns::{Family, Lab, addr};
    use netfilter_helpers_tests::players::Player;
    use netfilter_helpers_tests::scenarios::{IrcDcc, irc};
    let _lock = require_lab!();
    let lab = Lab::new().unwrap_or_else(|e| panic!("{e}"));
    load_nft(
        &lab.router,
        "table inet t {\n ct helper irc {\n  type \"irc\" protocol tcp\n }\n\
         chain pre {\n  type filter hook prerouting priority filter; policy accept;\n  tcp dport 6667 ct helper set \"irc\"\n }\n}\n",
    );
    let rs = live_ruleset(&lab.router, false);
    assert_eq!(
        rs.helper_objects
            .iter()
            .map(|o| (o.name.as_str(), o.l3proto.as_str()))
            .collect::<Vec<_>>(),
        [("irc", "ip")]
    );
    let rule = "tcp dport 6667 ct helper set \"irc\"";
    let found = audit(&lab.router, false);
    expect(
        &found,
        &[
            (HelperUnrestricted, Warning, rule),
            (HelperUnsupported, Warning, rule),
        ],
    );
    assert!(
        found[1]
            .message
            .contains("silently assigns nothing to IPv6 connections"),
        "{}",
        found[1].message
    );
    let listed = |fam: &str| {
        lab.router
            .run(
                "conntrack",
                &["-L", "-f", fam, "-p", "tcp", "--dport", "6667"],
            )
            .unwrap_or_else(|e| panic!("{e}"))
    };
    // IPv4: helper attached, the DCC offer is expected.
    let ex =
        irc(&lab, 6667, &IrcDcc::send(addr::CLIENT_V4, 50010)).unwrap_or_else(|e| panic!("{e}"));
    let v4 = wait_lines(&lab.router, ExpectSource::Proc, 1).unwrap_or_else(|e| panic!("{e}"));
    drop(ex);
    assert!(
        v4.len() == 1 && v4[0].contains("50010"),
        "IPv4 DCC offer not expected: {v4:?}"
    );
    let l4 = listed("ipv4");
    assert!(l4.contains("helper=irc"), "{l4}");
    // IPv6: the same exchange through the same rule; no helper, no expectation.
    let server_v6 = addr::SERVER_V6.to_string();
    let mut server = Player::spawn(
        &lab.server,
        "irc-server",
        &[
            "--bind".into(),
            server_v6.clone(),
            "--port".into(),
            "6667".into(),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    server
        .expect("READY", lab.player_timeout)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut client = Player::spawn(
        &lab.client,
        "irc-client",
        &[
            "--connect".into(),
            server_v6,
            "--port".into(),
            "6667".into(),
            "--dcc-ip".into(),
            u32::from(addr::CLIENT_V4).to_string(),
            "--dcc-port".into(),
            "50011".into(),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    client
        .expect("DONE", lab.player_timeout)
        .unwrap_or_else(|e| panic!("{e}"));
    server
        .expect("GOT", lab.player_timeout)
        .unwrap_or_else(|e| panic!("{e}"));
    let v6 = wait_lines(&lab.router, ExpectSource::Proc, 0).unwrap_or_else(|e| panic!("{e}"));
    let v6_expect =
        conntrack_lines_family(&lab.router, Family::V6).unwrap_or_else(|e| panic!("{e}"));
    client.stop();
    server.stop();
    let l6 = listed("ipv6");
    assert!(
        l6.contains("dport=6667") && !l6.contains("helper="),
        "IPv6 connection missing or with a helper: {l6}"
    );
    assert!(
        v6_expect.is_empty() && !v6.iter().any(|l| l.contains("50011")),
        "IPv6 expectation: {v6:?} {v6_expect:?}"
    );
}

/// Blanket RELATED accepts the walk used to miss or call mitigated, each letting a RELATED
/// FTP data connection through the router's forward chain (policy drop) live:
///
/// * `ct status expected accept` (and iptables' `--ctstatus EXPECTED`): a connection an
///   expectation created carries `IPS_EXPECTED` from its first packet (nf_conntrack_core.c,
///   `init_conntrack`), so this is a RELATED accept by another name;
/// * a regular chain with the accept, jumped to from input (which a second base chain guards)
///   and from forward (which nothing guards): the guard on input does not cover forward;
/// * a bridge-family forward chain with policy drop: it sees bridged frames, not routed
///   packets, so it guards nothing on the IP forward hook;
/// * the accept in a chain reached only through a named verdict map
///   (`iifname vmap @zones`), which the walk now follows;
/// * an accept restricted to `ip saddr @peers`, a named set holding `0.0.0.0/0`: the reader
///   puts the set's elements in place of its name, so it restricts nothing.
#[test]
fn hidden_blanket_accepts_are_reported() {
    use netfilter_helpers_tests::expect::flush_conntrack;
    use netfilter_helpers_tests::netns::Lab;
    let _lock = require_lab!();
    let lab = Lab::new().unwrap_or_else(|e| panic!("{e}"));
    let table = |fwd_extra: &str, more: &str| {
        format!(
            "table inet t {{\n ct helper ftp {{\n  type \"ftp\" protocol tcp\n }}\n\
             chain pre {{\n  type filter hook prerouting priority filter; policy accept;\n  ip daddr 10.71.2.2 tcp dport 21 ct helper set \"ftp\"\n }}\n\
             chain filter_fw {{\n  type filter hook forward priority filter; policy drop;\n  ct state established accept\n  ip daddr 10.71.2.2 tcp dport 21 ct state new accept\n{fwd_extra} }}\n{more}}}\n"
        )
    };
    let shared = table(
        "  jump common\n",
        " chain filter_in {\n  type filter hook input priority filter; policy drop;\n  jump common\n }\n\
         chain common {\n  ct state related accept\n }\n",
    ) + "table inet guard {\n chain rel_in {\n  type filter hook input priority filter + 10; policy accept;\n  ct state != related return\n  drop\n }\n}\n";
    let bridge = table("  ct state related accept\n", "")
        + "table bridge g {\n chain fw {\n  type filter hook forward priority filter; policy drop;\n }\n}\n";
    let iptables = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A PREROUTING -d 10.71.2.2/32 -p tcp --dport 21 -j CT --helper ftp\nCOMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
         -A FORWARD -d 10.71.2.2/32 -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT\n\
         -A FORWARD -m conntrack --ctstatus EXPECTED -j ACCEPT\nCOMMIT\n";
    // The chain, then the map whose element jumps to it, then the rule that uses the map.
    let vmap = "table inet t {\n chain rel {\n  ct state related accept\n }\n\
                map zones {\n  type ifname : verdict\n  elements = { \"r-cli\" : jump rel }\n }\n}\n"
        .to_string()
        + &table("  iifname vmap @zones\n", "");
    // A named set the listing shows holding every address restricts nothing.
    let every = "table inet t {\n set peers {\n  type ipv4_addr\n  flags interval\n  elements = { 0.0.0.0/0 }\n }\n}\n"
        .to_string()
        + &table("  ct state related ip saddr @peers accept\n", "");
    let cases: [(&str, String, bool, &str); 6] = [
        (
            "ct status expected",
            table("  ct status expected accept\n", ""),
            false,
            "ct status expected accept",
        ),
        (
            "--ctstatus EXPECTED",
            iptables.to_string(),
            true,
            "-A FORWARD -m conntrack --ctstatus EXPECTED -j ACCEPT",
        ),
        ("shared chain", shared, false, "ct state related accept"),
        ("bridge guard", bridge, false, "ct state related accept"),
        ("named verdict map", vmap, false, "ct state related accept"),
        (
            "named set of every address",
            every,
            false,
            "ct state related ip saddr @peers accept",
        ),
    ];
    for (i, (label, rules, is_iptables, text)) in cases.into_iter().enumerate() {
        lab.router
            .run("nft", &["flush", "ruleset"])
            .unwrap_or_else(|e| panic!("{e}"));
        flush_conntrack(&lab.router).unwrap_or_else(|e| panic!("{e}"));
        if is_iptables {
            load_iptables(&lab.router, false, &rules);
        } else {
            load_nft(&lab.router, &rules);
        }
        expect(
            &audit(&lab.router, true),
            &[(RelatedAcceptBlanket, Error, text)],
        );
        let port = 50031 + u16::try_from(i).expect("few cases");
        let data = related_ftp_data(&lab, port, label);
        assert!(data.succeeded(), "{label}: data connection {data}");
    }
}

/// Before connection tracking a packet has no conntrack entry, so `ct state` reads `invalid`
/// (nft_ct.c, `nft_ct_get_eval`), never `related`: a RELATED FTP data connection forwarded by
/// the router passes an inet ingress chain and a prerouting chain at priority raw (-300), each
/// with `ct state related counter accept` then `ct state invalid counter`; their related
/// counters stay 0 and their invalid counters count the packets. The audit reports only the
/// forward chain's accept (the one that lets the connection through). A netdev table cannot
/// even hold the rule (`nf_ct_netns_do_get` refuses NFPROTO_NETDEV).
#[test]
fn no_related_state_before_connection_tracking() {
    use netfilter_helpers_tests::netns::Lab;
    let _lock = require_lab!();
    let lab = Lab::new().unwrap_or_else(|e| panic!("{e}"));
    let counted = "  ct state related counter accept\n  ct state invalid counter\n";
    load_nft(
        &lab.router,
        &format!(
            "table inet t {{\n ct helper ftp {{\n  type \"ftp\" protocol tcp\n }}\n\
             chain ing {{\n  type filter hook ingress device \"r-cli\" priority filter; policy accept;\n{counted} }}\n\
             chain raw {{\n  type filter hook prerouting priority raw; policy accept;\n{counted} }}\n\
             chain pre {{\n  type filter hook prerouting priority filter; policy accept;\n  ip daddr 10.71.2.2 tcp dport 21 ct helper set \"ftp\"\n }}\n\
             chain filter_fw {{\n  type filter hook forward priority filter; policy drop;\n  ct state established accept\n  ip daddr 10.71.2.2 tcp dport 21 ct state new accept\n  ct state related accept\n }}\n}}\n"
        ),
    );
    expect(
        &audit(&lab.router, true),
        &[(RelatedAcceptBlanket, Error, "ct state related accept")],
    );
    let data = related_ftp_data(&lab, 50041, "before conntrack");
    assert!(data.succeeded(), "data connection {data}");
    let counters = |chain: &str| {
        let text = lab
            .router
            .run("nft", &["list", "chain", "inet", "t", chain])
            .unwrap_or_else(|e| panic!("{e}"));
        let words: Vec<&str> = text.split_whitespace().collect();
        let packets: Vec<u64> = words
            .windows(2)
            .filter(|w| w[0] == "packets")
            .map(|w| w[1].parse().unwrap_or_else(|e| panic!("{e}: {text}")))
            .collect();
        assert_eq!(packets.len(), 2, "{text}");
        (packets[0], packets[1])
    };
    for chain in ["ing", "raw"] {
        let (related, invalid) = counters(chain);
        assert_eq!(related, 0, "{chain}: a packet was RELATED before conntrack");
        assert!(invalid > 0, "{chain}: no packet counted as invalid");
    }
    // netdev: the kernel refuses ct expressions.
    let netdev = run_with_input(
        &lab.router,
        "nft",
        &["-f", "-"],
        "table netdev d {\n chain ing {\n  type filter hook ingress device \"r-cli\" priority filter; policy accept;\n  ct state related accept\n }\n}\n",
    );
    let err = netdev.expect_err("a netdev table took a ct expression");
    assert!(err.to_string().contains("Protocol error"), "{err}");
}
