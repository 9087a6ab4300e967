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
//! Reading is hardened: no symlink leads out of the root, only regular files are read
//! (FIFOs and devices are refused without opening them blocking), every file has a size
//! limit, and unreadable module parameters are findings.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use netfilter_helpers_core::audit::drift;
use netfilter_helpers_core::audit::{
    AuditFinding, HostSnapshot, ReadOutcome, audit_with_ruleset, interfaces_from_ip_json,
    rp_filter_path,
};
use netfilter_helpers_core::report::Severity;
use netfilter_helpers_core::ruleset::{Ruleset, escape, iptables_save, nft_json};
use netfilter_helpers_core::site::Site;

use super::{Fail, USAGE, load_policy, max_document, read_input};

/// Largest file read under the root or from a command: 256 MiB (a 100 k-rule ruleset in
/// nft JSON is about 60 MiB).
const MAX_FILE: u64 = 256 << 20;

/// `O_NONBLOCK` on Linux: opening a FIFO must not wait for a writer.
const O_NONBLOCK: i32 = 0o4000;

/// Reads `rel` under `root`: no symlink out of the root, regular files only, size-limited.
fn read_under(root: &Path, rel: &str) -> ReadOutcome {
    let path = root.join(rel);
    let real = match path.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ReadOutcome::Missing,
        Err(e) => return ReadOutcome::Failed(e.to_string()),
    };
    let root_real = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if !real.starts_with(&root_real) {
        return ReadOutcome::Failed(format!(
            "a symlink leads out of the root (to {}): refused",
            escape(&real.display().to_string())
        ));
    }
    read_regular(&real)
}

fn read_regular(path: &Path) -> ReadOutcome {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            return ReadOutcome::Failed(
                "not a regular file (a FIFO, device, socket or directory): refused".into(),
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ReadOutcome::Missing,
        Err(e) => return ReadOutcome::Failed(e.to_string()),
        Ok(_) => {}
    }
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ReadOutcome::Missing,
        Err(e) => return ReadOutcome::Failed(e.to_string()),
    };
    // Checked again on the open file: the path may have been swapped.
    match f.metadata() {
        Ok(m) if m.is_file() => {}
        _ => return ReadOutcome::Failed("not a regular file: refused".into()),
    }
    let mut bytes = Vec::new();
    if let Err(e) = f.take(MAX_FILE + 1).read_to_end(&mut bytes) {
        return ReadOutcome::Failed(e.to_string());
    }
    if bytes.len() as u64 > MAX_FILE {
        return ReadOutcome::Failed(format!("larger than {MAX_FILE} bytes: refused"));
    }
    ReadOutcome::Bytes(bytes)
}

/// Interface names under `proc/sys/net/ipv4/conf` of the root (not following symlinks).
fn conf_interfaces(root: &Path) -> Vec<String> {
    let dir = root.join("proc/sys/net/ipv4/conf");
    // Not listed when a symlink leads the directory out of the root.
    let inside = match (dir.canonicalize(), root.canonicalize()) {
        (Ok(d), Ok(r)) => d.starts_with(r),
        _ => false,
    };
    let Ok(rd) = std::fs::read_dir(&dir)
        .map_err(drop)
        .and_then(|rd| if inside { Ok(rd) } else { Err(()) })
    else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n != "all" && n != "default" && !n.contains('/'))
        .collect();
    v.sort();
    v
}

/// Runs a command, its standard output as text when it succeeds.
fn run_cmd(prog: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {prog}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{prog} {} failed ({}): {}",
            args.join(" "),
            out.status,
            escape(String::from_utf8_lossy(&out.stderr).trim())
        ));
    }
    if out.stdout.len() as u64 > MAX_FILE {
        return Err(format!("{prog}: output larger than {MAX_FILE} bytes"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn exists(prog: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
        || ["/usr/sbin", "/sbin"]
            .iter()
            .any(|d| Path::new(d).join(prog).is_file())
}

/// One ruleset source read, or why not.
struct Sources {
    nft: Option<Ruleset>,
    iptables: Vec<Ruleset>,
    problems: Vec<(String, String)>,
}

fn read_ruleset_text(name: &str, text: &str, s: &mut Sources) -> Result<(), String> {
    if text.trim_start().starts_with('{') {
        let rs = nft_json::read(text).map_err(|e| format!("{}: {e}", escape(name)))?;
        match &mut s.nft {
            Some(n) => {
                n.chains.extend(rs.chains);
                n.helper_objects.extend(rs.helper_objects);
                n.notes.extend(rs.notes);
            }
            None => s.nft = Some(rs),
        }
    } else {
        s.iptables.push(iptables_save::read(text, None));
    }
    Ok(())
}

fn live_sources() -> Sources {
    let mut s = Sources {
        nft: None,
        iptables: Vec::new(),
        problems: Vec::new(),
    };
    if exists("nft") {
        match run_cmd("nft", &["-j", "list", "ruleset"]) {
            Ok(t) if t.trim().is_empty() => {}
            Ok(t) => {
                if let Err(e) = read_ruleset_text("nft -j list ruleset", &t, &mut s) {
                    s.problems.push(("nft -j list ruleset".into(), e));
                }
            }
            Err(e) => s.problems.push(("nft -j list ruleset".into(), e)),
        }
    }
    let legacy_tables = |f: &str| {
        std::fs::read_to_string(f)
            .map(|t| !t.trim().is_empty())
            .unwrap_or(false)
    };
    let mut cmds = vec![("iptables-save", "ip"), ("ip6tables-save", "ip6")];
    if legacy_tables("/proc/net/ip_tables_names") {
        cmds.push(("iptables-legacy-save", "ip"));
    }
    if legacy_tables("/proc/net/ip6_tables_names") {
        cmds.push(("ip6tables-legacy-save", "ip6"));
    }
    for (cmd, fam) in cmds {
        if !exists(cmd) {
            continue;
        }
        match run_cmd(cmd, &[]) {
            Ok(t) => {
                let rs = iptables_save::read(&t, Some(fam));
                // iptables-legacy-save run through the default (nft) variant prints the
                // same tables twice otherwise.
                if !rs.chains.is_empty() {
                    s.iptables.push(rs);
                }
            }
            Err(e) => s.problems.push((cmd.to_string(), e)),
        }
    }
    s
}

/// Rulesets saved in a fixture tree; `None` when the tree holds none.
fn root_sources(root: &Path) -> Result<Option<Sources>, String> {
    let mut s = Sources {
        nft: None,
        iptables: Vec::new(),
        problems: Vec::new(),
    };
    for (file, fam) in [
        ("nft-ruleset.json", None),
        ("iptables-save.txt", Some("ip")),
        ("ip6tables-save.txt", Some("ip6")),
    ] {
        match read_under(root, file) {
            ReadOutcome::Missing => {}
            ReadOutcome::Failed(e) => s.problems.push((file.to_string(), e)),
            ReadOutcome::Bytes(b) => {
                let t = String::from_utf8_lossy(&b);
                match fam {
                    None => read_ruleset_text(file, &t, &mut s)?,
                    Some(f) => s.iptables.push(iptables_save::read(&t, Some(f))),
                }
            }
        }
    }
    let empty = s.nft.is_none() && s.iptables.is_empty() && s.problems.is_empty();
    Ok(if empty { None } else { Some(s) })
}

/// Drift of the site in `path` against the loaded ruleset: the comparison is the core's
/// (`drift::against_site`); this reads and validates the file.
fn site_drift(path: &str, loaded: &Ruleset) -> Result<Vec<AuditFinding>, String> {
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
    drift::against_site(&valid, loaded).map_err(|e| format!("{path}: {e}"))
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
    let live = root.is_none();
    let root_path = PathBuf::from(root.as_deref().unwrap_or("/"));
    if !root_path.is_dir() {
        return Err(format!("--root {}: not a directory", root_path.display()).into());
    }
    let _ = max_document()?;
    let policy = policy.as_deref().map(load_policy).transpose()?;
    let mut snap = HostSnapshot::collect_from(|p| read_under(&root_path, p));
    // On a live host the expectation table comes from ctnetlink when it can: it carries the
    // master, the class and the helper, which /proc leaves out. Without CAP_NET_ADMIN (or
    // ctnetlink) the /proc table stays, and why is reported.
    if live {
        match crate::watch::live_expectations(None) {
            Ok(lines) => {
                let mut text = String::new();
                for l in &lines {
                    text.push_str(&l.expectation.to_conntrack_line(l.timeout));
                    text.push('\n');
                }
                snap.expectations = Some(text.into_bytes());
            }
            Err(e) => snap.unreadable.push((
                "ctnetlink expectation dump (read /proc/net/nf_conntrack_expect instead)".into(),
                e,
            )),
        }
    }
    // Interfaces: rp_filter from the root, addresses from `ip` (live) or ip-addr.json.
    let mut interfaces = if live && !no_ruleset && exists("ip") {
        match run_cmd("ip", &["-j", "addr", "show"]).and_then(|t| interfaces_from_ip_json(&t)) {
            Ok(i) => i,
            Err(e) => {
                snap.unreadable.push(("ip -j addr show".into(), e));
                Vec::new()
            }
        }
    } else {
        match read_under(&root_path, "ip-addr.json") {
            ReadOutcome::Bytes(b) => interfaces_from_ip_json(&String::from_utf8_lossy(&b))
                .map_err(|e| format!("{}/ip-addr.json: {e}", root_path.display()))?,
            ReadOutcome::Missing => Vec::new(),
            ReadOutcome::Failed(e) => {
                snap.unreadable.push(("ip-addr.json".into(), e));
                Vec::new()
            }
        }
    };
    for name in conf_interfaces(&root_path) {
        if !interfaces.iter().any(|i| i.name == name) {
            interfaces.push(netfilter_helpers_core::audit::Interface {
                name: name.clone(),
                ..Default::default()
            });
        }
    }
    for i in &mut interfaces {
        if let ReadOutcome::Bytes(b) = read_under(&root_path, &rp_filter_path(&i.name)) {
            i.rp_filter = Some(String::from_utf8_lossy(&b).trim().to_string());
        }
    }
    snap.interfaces = interfaces;

    // Rulesets.
    let ruleset = if no_ruleset {
        None
    } else {
        let sources = if !rulesets.is_empty() {
            let mut s = Sources {
                nft: None,
                iptables: Vec::new(),
                problems: Vec::new(),
            };
            for f in &rulesets {
                let text = read_input(f)?;
                read_ruleset_text(f, &text, &mut s)?;
            }
            Some(s)
        } else if live {
            Some(live_sources())
        } else {
            root_sources(&root_path)?
        };
        sources.map(|mut s| {
            snap.unreadable.append(&mut s.problems);
            Ruleset::combine(s.nft, s.iptables)
        })
    };
    let mut report = audit_with_ruleset(&snap, policy.as_ref(), ruleset.as_ref());
    if let Some(site) = &site {
        let loaded = ruleset.clone().unwrap_or_default();
        report.findings.extend(site_drift(site, &loaded)?);
    }
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
