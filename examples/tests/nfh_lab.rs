//! `nfh audit` on a live host: a namespace with a blanket RELATED accept (nft) and an
//! unrestricted helper assignment (iptables-nft), audited by the command run inside it.
//! Needs the kernel lab (root); without it the test prints `KERNEL LAB NOT RUN` and passes,
//! unless `CI=true`.

use netfilter_helpers_tests::firewall::run_with_input;
use netfilter_helpers_tests::netns::Netns;
use netfilter_helpers_tests::require_lab;

#[test]
fn live_audit_reports_the_blanket_related_accept_with_its_rule() {
    let _lock = require_lab!();
    let ns = Netns::new("aud-cli").unwrap_or_else(|e| panic!("{e}"));
    run_with_input(
        &ns,
        "nft",
        &["-f", "-"],
        "table inet fw {\n chain forward {\n  type filter hook forward priority filter; policy drop;\n  ct state established,related accept\n }\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    run_with_input(
        &ns,
        "iptables-restore",
        &[],
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 21 -j CT --helper ftp\nCOMMIT\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = ns
        .exec(env!("CARGO_BIN_EXE_nfh"), &["audit", "--json"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status, Some(1), "{}\n{}", out.stdout, out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let rules: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| Some((f["code"].as_str()?, f["rule"]["text"].as_str()?)))
        .collect();
    assert_eq!(
        rules,
        [
            (
                "related-accept-blanket",
                "ct state { established, related } accept"
            ),
            (
                "helper-unrestricted",
                "-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp"
            ),
        ],
        "{}",
        out.stdout
    );
    // The expectation table came over ctnetlink (no finding says it could not)...
    let netlink_findings = |v: &serde_json::Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("ctnetlink"))
            })
            .map(|f| format!("{}: {}", f["subject"], f["message"]))
            .collect()
    };
    assert_eq!(netlink_findings(&v), Vec::<String>::new(), "{}", out.stdout);
    // ...and without CAP_NET_ADMIN the audit falls back to /proc and says why.
    let out = ns
        .exec(
            "setpriv",
            &[
                "--bounding-set",
                "-net_admin",
                env!("CARGO_BIN_EXE_nfh"),
                "audit",
                "--json",
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let found = netlink_findings(&v);
    assert!(
        found.len() == 1
            && found[0].contains("/proc/net/nf_conntrack_expect")
            && found[0].contains("permission denied"),
        "{found:?}"
    );
    // The text form prints the rule under its finding.
    let out = ns
        .exec(env!("CARGO_BIN_EXE_nfh"), &["audit"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.stdout
            .contains("    rule: ct state { established, related } accept"),
        "{}",
        out.stdout
    );
}
