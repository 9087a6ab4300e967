//! Golden files: every render backend's output for a set of sites, compared byte for byte.
//!
//! The sites are `examples/site.toml` (named `sample`) and every `tests/golden/sites/*.toml`;
//! together they exercise every feature synthesis knows. The expected output of backend `B`
//! for site `S` is `tests/golden/S/B.txt`: the rendered text, or `render error: ...` when the
//! backend refuses the site (an nft backend on a kernel before 4.12, say). The version in the
//! generated header line is written as `VERSION`, so a release does not touch every file.
//!
//! After an intended change of output, regenerate the files and review the diff:
//!
//! ```text
//! NFH_BLESS=1 cargo test -p netfilter-helpers-tests --test golden
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use netfilter_helpers_core::render::{Backend, render};
use netfilter_helpers_core::site::Site;
use netfilter_helpers_core::synth::synthesize;

const BLESS: &str = "NFH_BLESS=1 cargo test -p netfilter-helpers-tests --test golden";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

/// Every site: its name and its file, in name order.
fn sites() -> Vec<(String, PathBuf)> {
    let mut out = vec![(
        "sample".to_string(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/site.toml"),
    )];
    let dir = golden_dir().join("sites");
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let name = path.file_stem().expect("file name").to_string_lossy();
            assert_ne!(
                name, "sample",
                "sites/sample.toml would shadow examples/site.toml"
            );
            out.push((name.into_owned(), path));
        }
    }
    out.sort();
    out
}

/// What every backend renders for one site, with the version in the header line replaced.
fn outputs(site: &Path) -> Vec<(Backend, String)> {
    let text = std::fs::read_to_string(site).unwrap_or_else(|e| panic!("{}: {e}", site.display()));
    let valid = Site::from_toml(&text)
        .and_then(|s| s.validate())
        .unwrap_or_else(|e| panic!("{}: {e}", site.display()));
    let rs = synthesize(&valid);
    let version = concat!("netfilter-helpers ", env!("CARGO_PKG_VERSION"), ";");
    Backend::ALL
        .iter()
        .map(|&b| {
            let out = match render(&rs, b) {
                Ok(text) => text.replace(version, "netfilter-helpers VERSION;"),
                Err(e) => format!("render error: {e}\n"),
            };
            (b, out)
        })
        .collect()
}

fn golden_path(site: &str, backend: Backend) -> PathBuf {
    golden_dir().join(site).join(format!("{backend}.txt"))
}

/// Under `NFH_BLESS`, writes every golden file and removes those of sites or backends that no
/// longer exist; once per test run, whichever test asks first.
fn bless_if_asked() {
    static DONE: OnceLock<()> = OnceLock::new();
    if std::env::var_os("NFH_BLESS").is_none() {
        return;
    }
    DONE.get_or_init(|| {
        let sites = sites();
        let names: BTreeSet<&str> = sites.iter().map(|(n, _)| n.as_str()).collect();
        for entry in std::fs::read_dir(golden_dir()).expect("tests/golden") {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if path.is_dir() && name != "sites" && !names.contains(name.as_str()) {
                std::fs::remove_dir_all(&path).expect("remove a stale site's goldens");
            }
        }
        for (name, path) in &sites {
            let dir = golden_dir().join(name);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).expect("remove old goldens");
            }
            std::fs::create_dir_all(&dir).expect("create the site's golden folder");
            for (backend, out) in outputs(path) {
                std::fs::write(golden_path(name, backend), out).expect("write a golden file");
            }
        }
    });
}

#[test]
fn every_backend_matches_its_golden_file_on_every_site() {
    bless_if_asked();
    let mut failures = String::new();
    let mut count = 0;
    for (name, path) in sites() {
        for (backend, actual) in outputs(&path) {
            count += 1;
            let golden = golden_path(&name, backend);
            match std::fs::read_to_string(&golden) {
                Ok(expected) if expected == actual => {}
                Ok(expected) => {
                    let _ = writeln!(
                        failures,
                        "--- {} (expected)\n+++ {backend} output for {} (actual)\n{}",
                        golden.display(),
                        path.display(),
                        diff(&expected, &actual)
                    );
                }
                Err(e) => {
                    let _ = writeln!(failures, "{}: {e}", golden.display());
                }
            }
        }
    }
    assert!(
        count >= 7 * Backend::ALL.len(),
        "only {count} outputs compared"
    );
    assert!(
        failures.is_empty(),
        "rendered output differs from the golden files:\n\n{failures}\nIf the change is intended, regenerate them and review the diff:\n  {BLESS}\n"
    );
}

#[test]
fn every_backend_has_a_golden_file_for_every_site_and_nothing_else() {
    bless_if_asked();
    let wanted: BTreeSet<String> = Backend::ALL.iter().map(|b| format!("{b}.txt")).collect();
    let sites = sites();
    let mut problems = Vec::new();
    for (name, _) in &sites {
        let dir = golden_dir().join(name);
        let present: BTreeSet<String> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        for missing in wanted.difference(&present) {
            problems.push(format!("missing {}", dir.join(missing).display()));
        }
        for stray in present.difference(&wanted) {
            problems.push(format!("no backend writes {}", dir.join(stray).display()));
        }
    }
    let names: BTreeSet<&str> = sites.iter().map(|(n, _)| n.as_str()).collect();
    for entry in std::fs::read_dir(golden_dir()).expect("tests/golden") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name != "sites" && !names.contains(name.as_str()) {
            problems.push(format!("no site for {}", path.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\nregenerate the golden files with:\n  {BLESS}\n",
        problems.join("\n")
    );
}

/// The sites exercise what the issue asks of them: every helper a site can name, both
/// families, each anti-spoofing mode, old kernels; a new feature should get a site here too.
#[test]
fn the_sites_cover_every_feature() {
    let texts: Vec<String> = sites()
        .iter()
        .map(|(_, p)| std::fs::read_to_string(p).expect("site"))
        .collect();
    let all = texts.join("\n");
    for helper in netfilter_helpers_core::catalogue::Helper::ALL {
        if helper == netfilter_helpers_core::catalogue::Helper::H245 {
            continue; // attached only through Q.931/RAS expectations; sites cannot name it
        }
        assert!(
            all.contains(&format!("helper = \"{helper}\"")),
            "no golden site uses the {helper} helper"
        );
    }
    for needle in [
        "public = [",
        "public_ports = [",
        "direction = \"local\"",
        "direction = \"inbound\"",
        "direction = \"outbound\"",
        "local_addresses = [",
        "related = [",
        "\"sip.sip_direct_media\" = 0",
        "rp_filter = \"strict\"",
        "rp_filter = \"loose\"",
        "rp_filter = \"off\"",
        "rp_filter_mark = true",
        "mode = \"log-only\"",
        "bogons = true",
        "bogon_exceptions = [",
        "match = \"prefix\"",
        "unknown_interfaces = \"rpfilter\"",
        "unknown_interfaces = \"allow\"",
        "rpfilter = false",
        "dhcp = true",
        "kernel = \"3.2.0\"",
        "kernel = \"4.4.0\"",
        "table = ",
        "::",
    ] {
        assert!(all.contains(needle), "no golden site has {needle:?}");
    }
    // unknown_interfaces = "drop" is the default: some site must leave it out.
    assert!(texts.iter().any(|t| !t.contains("unknown_interfaces")));
}

/// A line diff of two texts (longest common subsequence), with two lines of context around
/// each change, in the `-`/`+` style of `diff -u`.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        ops[k.saturating_sub(2)..(k + 3).min(ops.len())]
            .iter()
            .any(|(op, _)| *op != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (op, line)) in ops.iter().enumerate() {
        if near_change(k) {
            if skipped {
                out.push_str("@@\n");
                skipped = false;
            }
            let _ = writeln!(out, "{op}{line}");
        } else {
            skipped = true;
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str("(the texts differ in their final newline)\n");
    }
    out
}

#[test]
fn the_diff_shows_changed_lines_with_context() {
    let d = diff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\n");
    assert_eq!(d, "@@\n b\n c\n-d\n+D\n e\n f\n");
}
