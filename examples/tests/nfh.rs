//! The `nfh` command line: output, exit codes and error messages.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn nfh(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nfh"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nfh runs");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(b) = stdin {
        // nfh may stop reading early (a usage error): a closed pipe is its right.
        if let Err(e) = input.write_all(b) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
    }
    drop(input);
    child.wait_with_output().expect("nfh finishes")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn helpers_table_follows_options() {
    let o = nfh(&["helpers"], None);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    let ftp = out
        .lines()
        .find(|l| l.starts_with("ftp "))
        .expect("ftp row");
    assert!(ftp.contains("loose = 0 (default)"), "{ftp}");
    assert!(!out.contains("warning:"));

    let o = nfh(&["helpers", "--set", "ftp.loose=1", "--precise"], None);
    let out = text(&o.stdout);
    let ftp = out
        .lines()
        .find(|l| l.starts_with("ftp "))
        .expect("ftp row");
    let cols: Vec<&str> = ftp.split_whitespace().collect();
    assert_eq!(
        &cols[..6],
        ["ftp", "M(peer)", "*", "P", "P", "tcp"],
        "{ftp}"
    );
    assert!(out.contains("warning: nf_conntrack_ftp.loose=1 is dangerous"));
}

#[test]
fn helpers_json_is_structured() {
    let o = nfh(&["helpers", "--json", "--set=sip.sip_direct_media=0"], None);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let rows = v["rows"].as_array().expect("rows");
    let audio = rows
        .iter()
        .find(|r| r["kind"] == "sip-audio")
        .expect("sip audio row");
    assert_eq!(audio["freedoms"]["dst_addr"]["kind"], "payload");
    assert_eq!(audio["freedoms"]["src_addr"]["kind"], "wildcard");
    assert_eq!(
        v["dangerous"][0]["param"],
        "nf_conntrack_sip.sip_direct_media"
    );
}

#[test]
fn bad_set_is_a_usage_error() {
    let o = nfh(
        &[
            "helpers",
            "--set",
            "ftp.lose=1",
            "--set",
            "irc.max_dcc_channels=0",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("nf_conntrack_ftp has no parameter \"lose\""),
        "{err}"
    );
    assert!(
        err.contains("max_dcc_channels=0: out of range, accepted 1..=255"),
        "{err}"
    );
}

#[test]
fn options_check_sample_reports_every_line() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/modprobe.conf");
    let o = nfh(&["options", "check", sample], None);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    for needle in [
        ":line 2: warning [removed-parameter]",
        ":line 3: warning [dangerous-option]: nf_conntrack_ftp loose=1",
        ":line 4: error [out-of-range]: nf_conntrack_irc max_dcc_channels=300: out of range, accepted 1..=255",
        ":line 5: warning [dangerous-option]: nf_conntrack_sip sip_direct_media=0",
        ":line 8: error [duplicate-port]",
        ":line 9: info [other-module]",
        "2 error(s), 3 warning(s)",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn options_check_clean_input_exits_zero() {
    let o = nfh(
        &["options", "check", "-"],
        Some(b"options nf_conntrack_ftp ports=21,2121\n"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = nfh(
        &["options", "check", "--json", "-"],
        Some(b"options nf_conntrack_ftp loose=1\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["findings"][0]["code"], "dangerous-option");
    assert_eq!(v["findings"][0]["line"], 1);
    assert_eq!(v["modprobe"], "options nf_conntrack_ftp loose=1\n");
}

#[test]
fn unreadable_input_exits_two() {
    let o = nfh(&["options", "check", "/nonexistent/modprobe.conf"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("cannot read /nonexistent/modprobe.conf"));
    let o = nfh(
        &["options", "check", "-"],
        Some(b"options nf_conntrack_ftp \xff\n"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not UTF-8"));
    let o = nfh(&["frobnicate"], None);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn kernel_versions() {
    let o = nfh(&["kernel", "4.4.0-210-generic"], None);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert!(out.contains("KnobDefaultOn"), "{out}");
    assert!(out.contains("[disable-auto-assignment]"), "{out}");
    let o = nfh(&["kernel", "--json", "6.18.44"], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["capabilities"]["auto_assignment"], "removed");
    let o = nfh(&["kernel", "six"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("invalid kernel version \"six\""));
}

fn sample(name: &str) -> String {
    format!("{}/samples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn validate_judges_each_line() {
    let o = nfh(&["validate", &sample("expectations.txt")], None);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("line ")).collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert!(lines[0].starts_with("line 1: ok ftp data"), "{out}");
    assert!(lines[1].starts_with("line 2: FAIL ftp data"), "{out}");
    assert!(out.contains("destination 10.71.2.3 differs from the master's initiator 10.71.1.2 (the command's sender) while ftp loose=0 (it would conform with loose=1)"), "{out}");
    assert!(lines[2].starts_with("line 3: FAIL sip audio"), "{out}");
    assert!(lines[3].starts_with("line 4: ok irc dcc"), "{out}");
    assert!(
        lines[5].starts_with("line 6: unparsable: invalid value for dport"),
        "{out}"
    );
    assert!(
        out.contains("6 expectation line(s), 2 with findings, 1 unparsable"),
        "{out}"
    );
}

#[test]
fn validate_with_options_and_policy() {
    // With loose=1 the bounce conforms to the kernel model ...
    let o = nfh(
        &[
            "validate",
            "--set",
            "ftp.loose=1",
            "--json",
            &sample("expectations.txt"),
        ],
        None,
    );
    let rows: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[1]["conforms"], true);
    assert_eq!(rows[2]["conforms"], false);
    assert_eq!(rows[5]["conforms"], false);
    assert!(rows[5]["error"].as_str().unwrap().contains("line 6"));
    // ... but not to the site's policy.
    let o = nfh(
        &[
            "validate",
            "--set",
            "ftp.loose=1",
            "--policy",
            &sample("policy.toml"),
            "--json",
            &sample("expectations.txt"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let rows: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows[1]["conforms"], false);
    let codes: Vec<&str> = rows[1]["policy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["policy-destination", "policy-third-party"]);
    assert_eq!(rows[0]["conforms"], true);
}

#[test]
fn validate_all_conforming_exits_zero_and_bad_input_two() {
    let good = b"299 l3proto = 2 proto=17 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=49902 tftp\n";
    let o = nfh(&["validate", "-"], Some(good));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = nfh(&["validate", "/nonexistent"], None);
    assert_eq!(o.status.code(), Some(2));
    let o = nfh(
        &["validate", "--policy", "/nonexistent.toml", "-"],
        Some(good),
    );
    assert_eq!(o.status.code(), Some(2));
    let o = nfh(
        &["validate", "--policy", "-", "/dev/null"],
        Some(b"[helpers.fpt]\n"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("unknown variant `fpt`"),
        "{}",
        text(&o.stderr)
    );
    let o = nfh(
        &["validate", "--set", "sip.sip_direct_media=2x", "-"],
        Some(good),
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn validate_streams_quiet_summary_and_survives_a_closed_pipe() {
    let good = "299 l3proto = 2 proto=17 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=49902 tftp\n";
    let bad = "299 l3proto = 2 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=49902 tftp\n";
    let mut input = String::new();
    for i in 0..1000 {
        input.push_str(if i == 500 { bad } else { good });
    }
    input.push_str("\u{1b}[31mnot a line\n");
    let o = nfh(
        &["validate", "--quiet", "--summary", "-"],
        Some(input.as_bytes()),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    // Only the findings, then the counts; terminal escapes never reach the terminal raw.
    assert!(out.starts_with("line 501: FAIL tftp data\n"), "{out}");
    assert!(out.contains("line 1001: unparsable"), "{out}");
    assert!(
        out.contains("\\u{1b}[31m") && !out.contains('\u{1b}'),
        "{out}"
    );
    assert!(
        out.contains("1001 expectation line(s): 999 conform, 1 with findings, 1 unparsable"),
        "{out}"
    );
    assert!(
        out.contains("helper \"tftp\": 999 conform, 1 with findings"),
        "{out}"
    );
    // A reader that goes away early ends nfh quietly, without a panic.
    let mut child = Command::new(env!("CARGO_BIN_EXE_nfh"))
        .args(["validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nfh runs");
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for _ in 0..200 {
            if stdin.write_all(input.as_bytes()).is_err() {
                break;
            }
        }
    });
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{:?}", o.status);
    assert!(!text(&o.stderr).contains("panicked"), "{}", text(&o.stderr));
}

/// `conntrack -E expect | nfh validate -`: each verdict is printed as its line arrives, while
/// the input stays open.
#[test]
fn validate_follows_a_live_stream() {
    use std::io::{BufRead, BufReader};
    use std::time::Duration;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nfh"))
        .args(["validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nfh runs");
    let mut stdin = child.stdin.take().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in out.lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let lines = [
        "    [NEW] 300 proto=17 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=36096 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=36096 dport=69 class=0 helper=tftp\n",
        "bogus\n",
    ];
    for (i, line) in lines.iter().enumerate() {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
        // The verdict comes back while stdin is still open.
        let got = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| {
                panic!("no verdict for line {} while the input is open: {e}", i + 1)
            });
        assert!(got.starts_with(&format!("line {}: ", i + 1)), "{got}");
    }
    drop(stdin);
    let rest: Vec<String> = rx.iter().collect();
    reader.join().unwrap();
    assert!(
        rest.iter().any(|l| l.contains("2 expectation line(s)")),
        "{rest:?}"
    );
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

#[test]
fn audit_of_a_fixture_tree() {
    let o = nfh(&["audit", "--root", &sample("host-old")], None);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(out.contains("kernel 4.4.0"), "{out}");
    assert!(
        out.contains("warning [dangerous-option] nf_conntrack_ftp.loose"),
        "{out}"
    );
    assert!(
        out.contains("error [auto-assignment] net.netfilter.nf_conntrack_helper"),
        "{out}"
    );
    assert!(
        out.contains("error [nonconforming] proc/net/nf_conntrack_expect line 2: source-address"),
        "{out}"
    );
    // loose=1 is in force, so the ftp bounce on line 1 conforms to the model; the policy
    // still rejects it.
    assert!(!out.contains("line 1:"), "{out}");
    let o = nfh(
        &[
            "audit",
            "--root",
            &sample("host-old"),
            "--policy",
            &sample("policy.toml"),
            "--json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"policy-violation"), "{codes:?}");
    assert_eq!(v["kernel"], "4.4.0");
    let o = nfh(&["audit", "--root", "/nonexistent"], None);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn render_the_sample_site() {
    let site = concat!(env!("CARGO_MANIFEST_DIR"), "/site.toml");
    for backend in [
        "iptables",
        "ip6tables",
        "iptables-hooks",
        "iptables-remove",
        "commands",
        "nft",
        "nft-json",
        "nft-remove",
        "sysctl",
        "modprobe",
    ] {
        let o = nfh(&["render", "--site", site, "--backend", backend], None);
        assert_eq!(o.status.code(), Some(0), "{backend}: {}", text(&o.stderr));
        // The sample site is written without risky choices: no warnings.
        assert_eq!(text(&o.stderr), "", "{backend}");
        let out = text(&o.stdout);
        assert!(
            out.starts_with("# Generated by netfilter-helpers")
                || out.starts_with("#!/bin/sh\n# Generated by netfilter-helpers")
                || backend == "nft-json",
            "{backend}: {out}"
        );
        // Nothing nfh renders accepts, sets a policy or touches a mark.
        // (Base chains keep nft's default `policy accept`: the site's own chains decide.)
        let rules: String = out
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("policy accept;", "")
            .replace("\"policy\":\"accept\"", "");
        for forbidden in [
            "ACCEPT",
            " accept",
            "\"accept\"",
            "ct mark",
            "meta mark",
            "-P ",
            ":INPUT",
            ":FORWARD",
        ] {
            assert!(
                !rules.contains(forbidden),
                "{backend} contains {forbidden:?}:\n{out}"
            );
        }
    }
    let o = nfh(&["render", "--site", site, "--backend", "nft"], None);
    let out = text(&o.stdout);
    assert!(out.contains("ct helper set \"ftp_tcp\""), "{out}");
    assert!(
        out.contains("ct helper \"sip\" ip saddr 198.18.0.0/24 ip daddr 10.81.1.0/24 udp dport 1024-65535 return comment \"voip/sip/audio,video,image\""),
        "{out}"
    );
    assert!(
        out.contains("type filter hook prerouting priority mangle;"),
        "{out}"
    );
    assert!(
        out.contains(
            "iifname \"wan0\" ip saddr { 10.81.1.0/24, 10.81.2.0/23 } counter drop comment \"antispoof\""
        ),
        "{out}"
    );
    assert!(
        out.contains("iifname \"lan0\" fib saddr . iif oif missing counter drop"),
        "{out}"
    );
    assert!(
        out.contains("counter drop comment \"unknown-interface\""),
        "{out}"
    );
    let o = nfh(&["render", "--site", site, "--backend", "iptables"], None);
    let out = text(&o.stdout);
    assert!(out.contains("-A nfh-helpers-in -d 10.81.2.10/32 -p tcp -m multiport --dports 21,2121 -m comment --comment ftp-dmz -j CT --helper ftp"), "{out}");
    // Published through DNAT on the uplink address: assigned there too, before DNAT.
    assert!(out.contains("-A nfh-helpers-in -d 198.51.100.2/32 -p tcp -m multiport --dports 21,2121 -m comment --comment ftp-dmz -j CT --helper ftp"), "{out}");
    assert!(
        out.contains("-A nfh-related-fwd -m comment --comment related-unmatched -j DROP"),
        "{out}"
    );
    let v: serde_json::Value = serde_json::from_slice(
        &nfh(&["render", "--site", site, "--backend", "nft-json"], None).stdout,
    )
    .expect("json");
    assert!(v["nftables"].as_array().unwrap().len() > 10);
}

#[test]
fn render_warns_about_risky_services() {
    let site = b"[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n[[services]]\nname = \"voip\"\nhelper = \"sip\"\ndirection = \"outbound\"\nrelated = [\"198.18.0.0/24\"]\n";
    let o = nfh(&["render", "--site", "-", "--backend", "nft"], Some(site));
    assert_eq!(o.status.code(), Some(0));
    let err = text(&o.stderr);
    assert!(
        err.contains("-: warning: services[0].servers: an outbound sip service without servers parses traffic to any host"),
        "{err}"
    );
    assert!(
        err.contains("-: warning: services[0].related: with sip_direct_media = 1"),
        "{err}"
    );
}

#[test]
fn render_reports_every_site_problem() {
    let bad = b"[[interfaces]]\nname = \"eth0 x\"\nnetworks = [\"10.0.0.0/8\"]\n[[interfaces]]\nname = \"eth1\"\nnetworks = [\"10.0.0.0/8\"]\n[[services]]\nname = \"chat\"\nhelper = \"irc\"\ndirection = \"inbound\"\nservers = [\"2001:db8::1\"]\n";
    let o = nfh(&["render", "--site", "-", "--backend", "nft"], Some(bad));
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    for needle in [
        "interfaces[0].name: interface name \"eth0 x\" contains ' '",
        "interfaces[0].networks[0]: 10.0.0.0/8 on",
        "interfaces: no interface has default_route = true",
        "services[0].servers[0]: 2001:db8::1/128 is ipv6 but the irc helper exists for IPv4 only",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in\n{err}");
    }
    let o = nfh(&["render", "--site", "-", "--backend", "pf"], Some(b""));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("unknown backend \"pf\""));
    let o = nfh(
        &["render", "--site", "-", "--backend", "nft"],
        Some(b"kernel = \"4.9\"\n[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("needs nftables ct helper objects (Linux 4.12)"));
}

/// A fresh fixture directory under the target directory.
fn fixture(name: &str) -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("fixture dir");
    d
}

fn put(root: &std::path::Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).expect("mkdir");
    std::fs::write(p, content).expect("write fixture");
}

const BLANKET: &str = "# Generated by iptables-save v1.8.9 (nf_tables)\n*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.0.0.2/32 -p udp -m udp --dport 5060 -j CT --helper sip\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n";

#[test]
fn audit_of_a_ruleset_with_hardened_reads() {
    let root = fixture("hardened");
    put(&root, "proc/sys/kernel/osrelease", "6.12.0\n");
    put(&root, "proc/net/nf_conntrack_expect", "");
    put(&root, "iptables-save.txt", BLANKET);
    put(
        &root,
        "sys/module/nf_conntrack_sip/parameters/sip_direct_media",
        "0\n",
    );
    put(&root, "proc/sys/net/ipv4/conf/eth0/rp_filter", "0\n");
    put(&root, "proc/sys/net/ipv4/conf/all/rp_filter", "0\n");
    put(
        &root,
        "ip-addr.json",
        r#"[{"ifname": "eth0", "addr_info": [{"local": "192.0.2.1", "prefixlen": 24}]}]"#,
    );
    // A FIFO where a module parameter should be, a symlink out of the root.
    let fifo = root.join("sys/module/nf_conntrack_ftp/parameters/loose");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    let st = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(st.success());
    std::os::unix::fs::symlink(
        "/etc/hostname",
        root.join("sys/module/nf_conntrack_sip/parameters/sip_direct_signalling"),
    )
    .unwrap();
    let o = nfh(&["audit", "--root", root.to_str().unwrap(), "--json"], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let found: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has =
        |code: &str, subject: &str| found.iter().any(|(c, s)| c == code && s.contains(subject));
    assert!(
        has("unreadable", "nf_conntrack_ftp/parameters/loose"),
        "{found:?}"
    );
    assert!(
        has(
            "unreadable",
            "nf_conntrack_sip/parameters/sip_direct_signalling"
        ),
        "{found:?}"
    );
    assert!(
        has("dangerous-option", "nf_conntrack_sip.sip_direct_media"),
        "{found:?}"
    );
    assert!(
        has("dangerous-option-in-use", "raw chain PREROUTING rule 1"),
        "{found:?}"
    );
    assert!(
        has("related-accept-blanket", "filter chain FORWARD rule 1"),
        "{found:?}"
    );
    assert!(has("no-antispoofing", "interface eth0"), "{found:?}");
    let msgs = text(&o.stdout);
    assert!(msgs.contains("not a regular file"), "{msgs}");
    assert!(msgs.contains("a symlink leads out of the root"), "{msgs}");
    assert_eq!(v["ruleset"]["rules"], 2);
    let blanket = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "related-accept-blanket")
        .unwrap();
    assert_eq!(
        blanket["rule"]["text"],
        "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    );
    // The text form names the rule too.
    let o = nfh(&["audit", "--root", root.to_str().unwrap()], None);
    assert!(
        text(&o.stdout)
            .contains("    rule: -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
        "{}",
        text(&o.stdout)
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn audit_ruleset_files_and_exit_codes() {
    let root = fixture("files");
    put(&root, "proc/sys/kernel/osrelease", "6.12.0\n");
    put(&root, "proc/net/nf_conntrack_expect", "");
    let clean = root.join("clean.json");
    std::fs::write(
        &clean,
        r#"{"nftables": [{"metainfo": {"json_schema_version": 1}}]}"#,
    )
    .unwrap();
    let bad = root.join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let ipt = root.join("rules.txt");
    std::fs::write(&ipt, BLANKET).unwrap();
    let r = root.to_str().unwrap();
    let o = nfh(
        &["audit", "--root", r, "--ruleset", clean.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = nfh(
        &["audit", "--root", r, "--ruleset", ipt.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let o = nfh(
        &["audit", "--root", r, "--ruleset", bad.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not an `nft -j list ruleset` document"));
    // Drift against the sample site: everything it renders is missing from this ruleset.
    let o = nfh(
        &[
            "audit",
            "--root",
            r,
            "--ruleset",
            clean.to_str().unwrap(),
            "--site",
            &format!("{}/site.toml", env!("CARGO_MANIFEST_DIR")),
            "--json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(
        findings.iter().all(|f| f["code"] == "drift-missing"),
        "{findings:?}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// The README's example: the sample host with the article's "before" rules.
#[test]
fn audit_of_the_sample_ruleset_host() {
    let o = nfh(&["audit", "--root", &sample("host-ruleset")], None);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    let codes: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once(" [")?.1.split_once(']').map(|(c, _)| c))
        .collect();
    assert_eq!(
        codes,
        [
            "dangerous-option",
            "helper-unrestricted",
            "dangerous-option-in-use",
            "related-accept-no-address",
            "related-accept-blanket",
            "no-antispoofing",
            "no-antispoofing"
        ],
        "{out}"
    );
    assert!(out.ends_with("7 finding(s)\n"), "{out}");
    let readme = include_str!("../../README.md");
    for line in out.lines() {
        assert!(
            readme.contains(line),
            "README's example is out of date: {line}"
        );
    }
}
