//! The bodies of the fuzz targets, one function per target.
//!
//! Each `fuzz_targets/<name>.rs` calls the function `<name>` with libFuzzer's input, and
//! `tests/replay.rs` calls the same functions with every file of `corpus/<name>/`, so a plain
//! `cargo test --manifest-path fuzz/Cargo.toml` checks the saved corpus without libFuzzer.
//!
//! Every function must return normally for any input: a panic (a failed assertion included) is
//! a finding. Besides "no panic", each checks what the core promises about the input when the
//! API offers a way to check it: a parsed expectation line renders back to a line that parses to
//! the same expectation, the validator's fast path agrees with its full verdict, rendered module
//! options and policies read back equal, a kernel version prints and reads back equal.

use std::sync::OnceLock;

use netfilter_helpers_core::conform::Validator;
use netfilter_helpers_core::ctnetlink::{ExpectMessage, Message, messages};
use netfilter_helpers_core::kernel::KernelVersion;
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_core::parse::{Format, ParsedLine, parse_line, parse_lines};
use netfilter_helpers_core::policy::SitePolicy;
use netfilter_helpers_core::render::{Backend, render};
use netfilter_helpers_core::report::Severity;
use netfilter_helpers_core::site::Site;
use netfilter_helpers_core::synth::synthesize;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target, by name, for the replay test.
pub const TARGETS: &[(&str, Target)] = &[
    ("expect_line", expect_line),
    ("expect_buffer", expect_buffer),
    ("site_toml", site_toml),
    ("site_json", site_json),
    ("policy_toml", policy_toml),
    ("policy_json", policy_json),
    ("modprobe", modprobe),
    ("kernel_version", kernel_version),
    ("ctnetlink", ctnetlink),
    ("ruleset_nft", ruleset_nft),
    ("ruleset_iptables", ruleset_iptables),
];

/// One validator under the kernel's default options, built once per process.
fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| Validator::new(&ModuleOptions::new()))
}

/// Parses `text`, which a renderer produced from `from`, and panics with both texts if it does
/// not parse.
fn reparse(text: &str, from: &ParsedLine) -> ParsedLine {
    parse_line(text.as_bytes()).unwrap_or_else(|e| {
        panic!("rendered line does not parse: {e}\n  line: {text}\n  from: {from:?}")
    })
}

/// `parse::parse_line` on arbitrary bytes (both formats are detected there). A line that parses
/// is rendered back in its own format and must parse to the same expectation (and timeout,
/// policy name, master-protocol knowledge); every parsed expectation also renders in the
/// `conntrack` format, which carries all of an expectation, and must read back equal.
///
/// Not compared, because the renderers take no such argument: the `conntrack -E` event, the
/// zone, and the `mask-dst` the kernel always prints as all ones.
pub fn expect_line(data: &[u8]) {
    let Ok(line) = parse_line(data) else {
        return;
    };
    let exp = &line.expectation;
    if line.format == Format::Proc {
        let text = exp.to_proc_line(line.timeout, line.policy_name.as_deref());
        let again = reparse(&text, &line);
        assert_eq!(
            again, line,
            "/proc round trip changed the line\n  rendered: {text}"
        );
    }
    let text = exp.to_conntrack_line(line.timeout);
    let again = reparse(&text, &line);
    assert_eq!(again.format, Format::Conntrack, "rendered: {text}");
    assert_eq!(
        again.expectation, line.expectation,
        "conntrack round trip changed the expectation\n  rendered: {text}"
    );
    assert_eq!(again.timeout, line.timeout, "rendered: {text}");
    if line.format == Format::Conntrack {
        assert_eq!(
            again.master_l4_known, line.master_l4_known,
            "rendered: {text}"
        );
    }
}

/// `parse::parse_lines` on arbitrary bytes: every line is either parsed or an error, numbered as
/// a plain split at `\n` numbers it, and parsed as `parse_line` parses it alone; the validator's
/// allocation-free `conforms` agrees with `check_line(..).conforms()` on every parsed line.
pub fn expect_buffer(data: &[u8]) {
    let (ok, bad) = parse_lines(data);
    let raw: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let mut numbers: Vec<usize> = ok
        .iter()
        .map(|(n, _)| *n)
        .chain(bad.iter().map(|e| e.line))
        .collect();
    numbers.sort_unstable();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "a line number reported twice: {numbers:?}"
    );
    assert!(
        numbers.iter().all(|n| (1..=raw.len()).contains(n)),
        "line number outside 1..={}: {numbers:?}",
        raw.len()
    );
    for (n, line) in &ok {
        let alone = parse_line(raw[n - 1]);
        assert_eq!(
            alone.as_ref(),
            Ok(line),
            "line {n} parses differently alone"
        );
    }
    for e in &bad {
        let alone = parse_line(raw[e.line - 1]).expect_err("a bad line parses alone");
        assert_eq!(
            alone.kind, e.kind,
            "line {} fails differently alone",
            e.line
        );
    }
    let v = validator();
    for (n, line) in &ok {
        let verdict = v.check_line(line);
        assert_eq!(
            v.conforms(line),
            verdict.conforms(),
            "line {n}: conforms() and check_line() disagree\n  line: {line:?}\n  verdict: {verdict:?}"
        );
    }
}

/// A site read by `read`: validated, and when valid synthesized and rendered for every backend
/// (a backend may refuse the site's kernel, but never panic).
fn site(data: &[u8], read: fn(&str) -> Result<Site, netfilter_helpers_core::site::SiteError>) {
    let text = String::from_utf8_lossy(data);
    let Ok(site) = read(&text) else {
        return;
    };
    let Ok(valid) = site.validate() else {
        return;
    };
    let rules = synthesize(&valid);
    for backend in Backend::ALL {
        let _ = render(&rules, backend);
    }
}

/// `site::Site::from_toml` on arbitrary text (lossily decoded), then `validate`, `synthesize`
/// and `render` for every backend.
pub fn site_toml(data: &[u8]) {
    site(data, Site::from_toml);
}

/// `site::Site::from_json` on arbitrary text (lossily decoded), then `validate`, `synthesize`
/// and `render` for every backend.
pub fn site_json(data: &[u8]) {
    site(data, Site::from_json);
}

/// A policy read by `read` (which validates): validating it again passes, and its TOML
/// rendering reads back equal.
fn policy(
    data: &[u8],
    read: fn(&str) -> Result<SitePolicy, netfilter_helpers_core::policy::PolicyError>,
) {
    let text = String::from_utf8_lossy(data);
    let Ok(p) = read(&text) else {
        return;
    };
    if let Err(e) = p.validate() {
        panic!("a policy that was read does not validate: {e}\n  policy: {p:?}");
    }
    let toml = p.to_toml();
    match SitePolicy::from_toml(&toml) {
        Ok(again) => assert_eq!(
            again, p,
            "TOML round trip changed the policy\n  toml: {toml}"
        ),
        Err(e) => panic!("rendered policy does not read back: {e}\n  toml: {toml}"),
    }
}

/// `policy::SitePolicy::from_toml` on arbitrary text (lossily decoded), then `validate`.
pub fn policy_toml(data: &[u8]) {
    policy(data, SitePolicy::from_toml);
}

/// `policy::SitePolicy::from_json` on arbitrary text (lossily decoded), then `validate`.
pub fn policy_json(data: &[u8]) {
    policy(data, SitePolicy::from_json);
}

/// `options::ModuleOptions::from_modprobe` on arbitrary text (lossily decoded): the options it
/// kept render with `render_modprobe` to text that reads back to equal options, without errors.
pub fn modprobe(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let report = ModuleOptions::from_modprobe(&text);
    let _ = report.has_errors();
    let _ = report.options.dangerous();
    let _ = report.options.sysfs_writes();
    let rendered = report.options.render_modprobe();
    let again = ModuleOptions::from_modprobe(&rendered);
    assert_eq!(
        again.options, report.options,
        "modprobe.d round trip changed the options\n  rendered: {rendered}"
    );
    let errors: Vec<_> = again
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(
        errors.is_empty(),
        "rendered options have errors: {errors:?}\n  rendered: {rendered}"
    );
}

/// `kernel::KernelVersion::from_proc_version` on arbitrary text (lossily decoded), then
/// `capabilities` and `recommendations`; a version prints and reads back equal.
pub fn kernel_version(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(v) = KernelVersion::from_proc_version(&text) else {
        return;
    };
    let caps = v.capabilities();
    let _ = caps.recommendations();
    let printed = v.to_string();
    assert_eq!(
        printed.parse::<KernelVersion>().ok(),
        Some(v),
        "printed: {printed}"
    );
    assert_eq!(
        KernelVersion::from_proc_version(&format!("Linux version {printed} (fuzz) #1")).ok(),
        Some(v),
        "printed: {printed}"
    );
}

/// `ctnetlink::messages` on arbitrary bytes (a netlink datagram from the kernel). Every decoded
/// expectation message encodes back to bytes that decode to the same message (its count of
/// skipped unknown attributes aside), and the validator's fast path agrees with its full verdict
/// on it; every error names a structure or attribute.
pub fn ctnetlink(data: &[u8]) {
    for m in messages(data) {
        match m {
            Err(e) => assert!(!e.attribute.is_empty(), "{e:?}"),
            Ok(Message::Expect(x)) => {
                let bytes = x.encode();
                let again = ExpectMessage::decode(&bytes).unwrap_or_else(|e| {
                    panic!("re-encoded message does not decode: {e}\n  from: {x:?}")
                });
                let mut want = x.clone();
                want.unknown_attributes = 0;
                assert_eq!(again, want, "round trip changed the message");
                let v = validator();
                assert_eq!(
                    v.conforms(&x.line),
                    v.check_line(&x.line).conforms(),
                    "fast path and verdict disagree on {x:?}"
                );
            }
            Ok(_) => {}
        }
    }
}

/// `ruleset::nft_json::read` on arbitrary text (lossily decoded), then the hazard walk: a
/// document read never fails the audit, every finding's message is free of control
/// characters.
pub fn ruleset_nft(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(rs) = netfilter_helpers_core::ruleset::nft_json::read(&text) {
        judge_ruleset(&rs);
    }
}

/// `ruleset::iptables_save::read` on arbitrary text, then the hazard walk: every line is a
/// rule or a note, nothing is dropped.
pub fn ruleset_iptables(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let rs = netfilter_helpers_core::ruleset::iptables_save::read(&text, None);
    // The note on the whole text (read as IPv6 for want of a header) belongs to no line.
    let placed = rs.rule_count() + rs.notes.iter().filter(|n| n.place != "text").count();
    // Command lines: everything but blank lines, comments, table headers, COMMIT, and chain
    // declarations inside a table (a declaration outside any table is noted, like a rule
    // there).
    let mut in_table = false;
    let mut commands = 0;
    for l in text.lines().map(str::trim) {
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if l.starts_with('*') {
            in_table = true;
        } else if l == "COMMIT" {
            in_table = false;
        } else if !(in_table && l.starts_with(':')) {
            commands += 1;
        }
    }
    assert_eq!(placed, commands, "every command line is a rule or a note");
    judge_ruleset(&rs);
}

fn judge_ruleset(rs: &netfilter_helpers_core::ruleset::Ruleset) {
    use netfilter_helpers_core::audit::hazards::{Facts, hazards};
    let options = ModuleOptions::new();
    for f in hazards(rs, &Facts::new(&options)) {
        assert!(
            !f.message.chars().any(char::is_control) && !f.subject.chars().any(char::is_control),
            "control character in a finding: {f:?}"
        );
    }
}
