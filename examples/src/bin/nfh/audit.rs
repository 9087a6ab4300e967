//! `nfh audit`: the host (options, kernel, expectation table) and its ruleset.
//!
//! On a live host (no `--root`, no `--ruleset`) it runs `nft -j list ruleset`,
//! `iptables-save`, `ip6tables-save` (and the legacy variants when legacy tables exist) and
//! `ip -j addr show`. With `--root DIR` it reads a fixture tree instead: the files of
//! `HostSnapshot::paths()`, `proc/sys/net/ipv4/conf/*/rp_filter`, and, when present,
//! `nft-ruleset.json`, `iptables-save.txt`, `ip6tables-save.txt` and `ip-addr.json` at the
//! top of the tree. `--ruleset FILE` (repeatable) reads rulesets from files: nft JSON when
//! the file starts with `{`, else `iptables-save` text.
//!
//! The reading is `netfilter_helpers_host::read_host` (shared with the C and Python
//! bindings), hardened: no symlink leads out of the root, only regular files are read (FIFOs
//! and devices are refused without opening them blocking), every file has a size limit (256
//! MiB; `--ruleset` files are documents, under `NFH_MAX_DOCUMENT_BYTES`), and unreadable
//! module parameters are findings. The drift against `--site` is the core's
//! (`audit_with_site`).

use std::io::Write;
use std::process::ExitCode;

use netfilter_helpers_core::audit::audit_with_site;
use netfilter_helpers_core::report::Severity;
use netfilter_helpers_core::site::Site;
use netfilter_helpers_core::synth::synthesize;
use netfilter_helpers_host::{HostOptions, read_host};

use super::{Fail, USAGE, load_policy, max_document, read_input};

/// The rules the site in `path` synthesises, for the drift the core computes
/// (`audit_with_site`); this reads and validates the file.
fn site_rules(path: &str) -> Result<netfilter_helpers_core::ir::Ruleset, String> {
    let text = read_input(path)?;
    let valid = Site::from_text(Some(path), &text)
        .and_then(|s| s.validate())
        .map_err(|e| {
            let mut msg = format!("{path}: invalid site");
            for p in e.problems {
                msg.push_str(&format!("\n  {p}"));
            }
            msg
        })?;
    Ok(synthesize(&valid))
}

/// `nfh audit`.
pub(crate) fn run(args: &[String]) -> Result<ExitCode, Fail> {
    let mut root: Option<String> = None;
    let mut json = false;
    let mut policy = None;
    let mut rulesets: Vec<String> = Vec::new();
    let mut site = None;
    let mut no_ruleset = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--root" => root = Some(it.next().ok_or("--root needs a DIR")?.clone()),
            "--policy" => policy = Some(it.next().ok_or("--policy needs a FILE")?.clone()),
            "--ruleset" => rulesets.push(it.next().ok_or("--ruleset needs a FILE")?.clone()),
            "--site" => site = Some(it.next().ok_or("--site needs a FILE")?.clone()),
            "--no-ruleset" => no_ruleset = true,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    let mut options = match &root {
        Some(r) => HostOptions::under(r),
        None => HostOptions::live(),
    };
    if !options.root.is_dir() {
        return Err(format!("--root {}: not a directory", options.root.display()).into());
    }
    let _ = max_document()?;
    let policy = policy.as_deref().map(load_policy).transpose()?;
    options.read_rulesets = !no_ruleset;
    if !no_ruleset {
        for f in &rulesets {
            options.ruleset_texts.push((f.clone(), read_input(f)?));
        }
    }
    let site = site
        .as_deref()
        .map(|p| Ok::<_, String>((p, site_rules(p)?)))
        .transpose()?;
    let host = read_host(&options).map_err(|e| e.to_string())?;
    let report = audit_with_site(
        &host.snapshot,
        policy.as_ref(),
        host.ruleset.as_ref(),
        site.as_ref().map(|(_, rules)| rules),
    )
    .map_err(|e| format!("{}: {e}", site.as_ref().map_or("--site", |(p, _)| p)))?;
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        match report.kernel {
            Some(k) => outln!("kernel {k}"),
            None => outln!("kernel unknown"),
        }
        outln!("{} expectation(s) examined", report.expectations.len());
        if let Some(s) = &report.ruleset {
            outln!(
                "{} rule(s) in {} chain(s), {} attached to hooks, {} ct helper object(s)",
                s.rules,
                s.chains,
                s.base_chains,
                s.helper_objects
            );
        }
        for f in &report.findings {
            outln!("{f}");
        }
        let n = report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .count();
        outln!("{n} finding(s)");
    }
    Ok(if report.has_problems() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
