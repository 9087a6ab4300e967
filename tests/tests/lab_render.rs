//! Every backend's output is accepted by the real tools: arbitrary valid sites (proptest
//! strategy from the core) render to files that `iptables-restore --test` (nft and legacy),
//! `ip6tables-restore --test`, `nft -c -f` and `nft -j -c -f` accept, in a scratch namespace;
//! and the nft script and the nft JSON load into identical rulesets.

use netfilter_helpers_core::render::{Backend, render};
use netfilter_helpers_core::strategies::valid_site;
use netfilter_helpers_core::synth::synthesize;
use netfilter_helpers_tests::netns::Netns;
use netfilter_helpers_tests::require_lab;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};

/// Runs `program args` in `ns` with `input` on stdin; panics with the input on failure.
fn accepts(ns: &Netns, program: &str, args: &[&str], input: &str, what: &str) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = ns
        .command(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{program} {args:?} refused {what}:\n{}\n--- input ---\n{input}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn arbitrary_sites_pass_the_tools_checks() {
    let _lock = require_lab!();
    let ns = Netns::new("render").expect("netns");
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let strategy = valid_site();
    for case in 0..24 {
        let site = strategy.new_tree(&mut runner).expect("a site").current();
        let valid = site.validate().expect("the strategy makes valid sites");
        let rs = synthesize(&valid);
        let what = format!("case {case}: {}", toml_of(&site));
        let v4 = render(&rs, Backend::Iptables).unwrap();
        let v6 = render(&rs, Backend::Ip6tables).unwrap();
        accepts(&ns, "iptables-nft-restore", &["--test"], &v4, &what);
        accepts(&ns, "ip6tables-nft-restore", &["--test"], &v6, &what);
        accepts(&ns, "iptables-legacy-restore", &["--test"], &v4, &what);
        accepts(&ns, "ip6tables-legacy-restore", &["--test"], &v6, &what);
        accepts(
            &ns,
            "nft",
            &["-c", "-f", "-"],
            &render(&rs, Backend::Nft).unwrap(),
            &what,
        );
        accepts(
            &ns,
            "nft",
            &["-j", "-c", "-f", "-"],
            &render(&rs, Backend::NftJson).unwrap(),
            &what,
        );
        // The command form is a shell script of iptables/ip6tables invocations.
        accepts(
            &ns,
            "sh",
            &["-e"],
            &render(&rs, Backend::Commands).unwrap(),
            &what,
        );
        for table in ["raw", "filter"] {
            for tool in ["iptables", "ip6tables"] {
                ns.run(tool, &["-t", table, "-F"]).unwrap();
                ns.run(tool, &["-t", table, "-X"]).unwrap();
            }
        }
    }
}

fn toml_of(site: &netfilter_helpers_core::site::Site) -> String {
    serde_json::to_string(site).unwrap_or_default()
}

#[test]
fn nft_script_and_json_load_the_same_ruleset() {
    let _lock = require_lab!();
    let site = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/site.toml"
    ))
    .expect("sample site");
    let valid = netfilter_helpers_core::site::Site::from_toml(&site)
        .unwrap()
        .validate()
        .unwrap();
    let rs = synthesize(&valid);
    let a = Netns::new("nfta").expect("netns");
    let b = Netns::new("nftb").expect("netns");
    accepts(
        &a,
        "nft",
        &["-f", "-"],
        &render(&rs, Backend::Nft).unwrap(),
        "nft script",
    );
    accepts(
        &b,
        "nft",
        &["-j", "-f", "-"],
        &render(&rs, Backend::NftJson).unwrap(),
        "nft json",
    );
    let la = a.run("nft", &["list", "ruleset"]).unwrap();
    let lb = b.run("nft", &["list", "ruleset"]).unwrap();
    assert!(la.contains("ct helper set \"ftp_tcp\""), "{la}");
    assert_eq!(
        la, lb,
        "the JSON backend loads a different ruleset than the script"
    );
    // Loading twice replaces the table rather than failing or duplicating it.
    accepts(
        &a,
        "nft",
        &["-f", "-"],
        &render(&rs, Backend::Nft).unwrap(),
        "nft script again",
    );
    assert_eq!(a.run("nft", &["list", "ruleset"]).unwrap(), la);
}
