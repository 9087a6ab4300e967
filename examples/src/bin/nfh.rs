//! `nfh`: the netfilter-helpers command-line example.
//!
//! ```text
//! nfh helpers [--set MODULE.PARAM=VALUE ...] [--precise] [--explain] [--json]
//! nfh options check [--json] FILE|-
//! nfh kernel [--json] VERSION
//! nfh validate [--set MODULE.PARAM=VALUE ...] [--policy FILE] [--json] [FILE|-]
//! nfh audit [--root DIR] [--policy FILE] [--json]
//! nfh render --site FILE --backend iptables|ip6tables|iptables-hooks|iptables-remove|commands|nft|nft-json|nft-remove|sysctl|modprobe
//! ```
//!
//! Exit codes: 0 success / nothing found, 1 findings, 2 unusable input or usage error.

use std::io::Read;
use std::process::ExitCode;

use netfilter_helpers_core::audit::{HostSnapshot, audit as audit_host};
use netfilter_helpers_core::conform::Validator;
use netfilter_helpers_core::dof::Table;
use netfilter_helpers_core::kernel::KernelVersion;
use netfilter_helpers_core::options::{ModuleOptions, Severity};
use netfilter_helpers_core::parse::parse_lines;
use netfilter_helpers_core::policy::SitePolicy;

const USAGE: &str = "usage:
  nfh helpers [--set MODULE.PARAM=VALUE ...] [--precise] [--explain] [--json]
      print the degree-of-freedom table of every helper under the given module options
  nfh options check [--json] FILE|-
      validate modprobe.d text (exit 1 with findings, 2 on unreadable input)
  nfh kernel [--json] VERSION
      mechanisms and recommendations for a kernel version (e.g. 6.1.0-18-amd64)
  nfh validate [--set MODULE.PARAM=VALUE ...] [--policy FILE] [--json] [FILE|-]
      judge expectation lines (/proc/net/nf_conntrack_expect or conntrack -L/-E expect):
      exit 0 when all conform, 1 when anything is found, 2 on unusable input
  nfh audit [--root DIR] [--policy FILE] [--json]
      audit a host (default root /): options, kernel, expectation table
  nfh render --site FILE --backend iptables|ip6tables|iptables-hooks|iptables-remove|commands|nft|nft-json|nft-remove|sysctl|modprobe
      render a site description (TOML or JSON) as rules for one backend";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("nfh: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    match args.first().map(String::as_str) {
        Some("helpers") => helpers(&args[1..]),
        Some("options") => match args.get(1).map(String::as_str) {
            Some("check") => options_check(&args[2..]),
            _ => Err(format!("expected `options check`\n{USAGE}")),
        },
        Some("kernel") => kernel(&args[1..]),
        Some("validate") => validate(&args[1..]),
        Some("audit") => audit(&args[1..]),
        Some("render") => render_cmd(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!("unknown command {other:?}\n{USAGE}")),
        None => Err(USAGE.to_string()),
    }
}

fn helpers(args: &[String]) -> Result<ExitCode, String> {
    let mut options = ModuleOptions::new();
    let (mut json, mut precise, mut explain) = (false, false, false);
    let mut errors = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--precise" => precise = true,
            "--explain" => explain = true,
            "--set" => match it.next() {
                Some(v) => {
                    if let Err(e) = options.set_assignment(v) {
                        errors.push(format!("--set {v}: {e}"));
                    }
                }
                None => errors.push("--set needs MODULE.PARAM=VALUE".to_string()),
            },
            s if s.starts_with("--set=") => {
                let v = &s["--set=".len()..];
                if let Err(e) = options.set_assignment(v) {
                    errors.push(format!("--set {v}: {e}"));
                }
            }
            other => errors.push(format!("unknown argument {other:?}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\nnfh: "));
    }
    let table = Table::build(&options);
    if json {
        let out = serde_json::json!({
            "options": options,
            "dangerous": options.dangerous().iter().map(|(p, why)| serde_json::json!({"param": p.to_string(), "why": why})).collect::<Vec<_>>(),
            "rows": table.rows,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if precise {
        print!("{}", table.to_precise_text());
    } else {
        print!("{}", table.to_article_text());
    }
    println!();
    println!(
        "Fixed/M: copied from the master connection. In CMD/P: taken from the payload (forgeable)."
    );
    println!(
        "P=M: read from the payload but must equal the master's value. Full/*: wildcard. Iface Network/NET: any host of the interface's network."
    );
    for (p, why) in options.dangerous() {
        println!("warning: {p}={} is dangerous: {why}", options.get(p));
    }
    if explain {
        for r in &table.rows {
            println!();
            println!("{} {} ({}):", r.helper, r.kind.label(), r.trigger);
            for line in r.explain() {
                println!("  - {line}");
            }
            for n in &r.notes {
                println!("  - note: {n}");
            }
        }
    } else {
        for r in table.rows.iter().filter(|r| r.risk.is_some()) {
            println!(
                "risk: {} {}: {}",
                r.helper,
                r.kind.label(),
                r.risk.as_deref().unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_input(path: &str) -> Result<String, String> {
    let bytes = if path == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        b
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?
    };
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{path}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn options_check(args: &[String]) -> Result<ExitCode, String> {
    let mut json = false;
    let mut file = None;
    for a in args {
        match a.as_str() {
            "--json" => json = true,
            s if file.is_none() && (s == "-" || !s.starts_with('-')) => file = Some(s.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let file =
        file.ok_or_else(|| format!("options check needs a FILE (or - for stdin)\n{USAGE}"))?;
    let text = read_input(&file)?;
    let report = ModuleOptions::from_modprobe(&text);
    if json {
        let out = serde_json::json!({
            "file": file,
            "findings": report.findings,
            "options": report.options,
            "modprobe": report.options.render_modprobe(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        for f in &report.findings {
            println!("{file}:{f}");
        }
        let errors = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let warnings = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count();
        println!("{file}: {errors} error(s), {warnings} warning(s)");
    }
    Ok(if report.has_problems() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn kernel(args: &[String]) -> Result<ExitCode, String> {
    let mut json = false;
    let mut version = None;
    for a in args {
        match a.as_str() {
            "--json" => json = true,
            s if version.is_none() => version = Some(s.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let v: KernelVersion = version
        .ok_or_else(|| format!("kernel needs a VERSION\n{USAGE}"))?
        .parse()
        .map_err(|e| format!("{e}"))?;
    let caps = v.capabilities();
    let recs = caps.recommendations();
    if json {
        let out = serde_json::json!({"capabilities": caps, "recommendations": recs});
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        println!("kernel {v}");
        println!("  CT target (2.6.34):        {}", yes(caps.ct_target));
        println!("  rpfilter match (3.3):      {}", yes(caps.rpfilter_match));
        println!("  nft fib (4.10):            {}", yes(caps.nft_fib));
        println!("  nft ct helper (4.12):      {}", yes(caps.nft_ct_helper));
        println!(
            "  sip_external_media (5.1):  {}",
            yes(caps.sip_external_media)
        );
        println!("  automatic assignment:      {:?}", caps.auto_assignment);
        println!("  ports= effect:             {:?}", caps.ports_effect);
        for r in recs {
            println!("recommend [{}]: {}", r.code, r.text);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn load_policy(path: &str) -> Result<SitePolicy, String> {
    let text = read_input(path)?;
    let parsed = if path.ends_with(".json") || text.trim_start().starts_with('{') {
        SitePolicy::from_json(&text)
    } else {
        SitePolicy::from_toml(&text)
    };
    parsed.map_err(|e| {
        let mut msg = format!("{path}: invalid policy");
        for p in e.problems {
            msg.push_str(&format!("\n  {p}"));
        }
        msg
    })
}

fn validate(args: &[String]) -> Result<ExitCode, String> {
    let mut options = ModuleOptions::new();
    let mut json = false;
    let mut policy = None;
    let mut file = None;
    let mut errors = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--set" => match it.next() {
                Some(v) => {
                    if let Err(e) = options.set_assignment(v) {
                        errors.push(format!("--set {v}: {e}"));
                    }
                }
                None => errors.push("--set needs MODULE.PARAM=VALUE".into()),
            },
            "--policy" => match it.next() {
                Some(p) => policy = Some(p.clone()),
                None => errors.push("--policy needs a FILE".into()),
            },
            s if file.is_none() && (s == "-" || !s.starts_with('-')) => file = Some(s.to_string()),
            other => errors.push(format!("unknown argument {other:?}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\nnfh: "));
    }
    let policy = policy.as_deref().map(load_policy).transpose()?;
    let file = file.unwrap_or_else(|| "-".to_string());
    let bytes = if file == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        b
    } else {
        std::fs::read(&file).map_err(|e| format!("cannot read {file}: {e}"))?
    };
    let validator = Validator::new(&options);
    let (ok, bad) = parse_lines(&bytes);
    let mut problems = bad.len();
    let mut out = String::new();
    let mut rows: Vec<(usize, String)> = Vec::with_capacity(ok.len() + bad.len());
    for e in &bad {
        let row = if json {
            serde_json::json!({"line": e.line, "conforms": false, "error": e.to_string()})
                .to_string()
        } else {
            format!("line {}: unparsable: {}", e.line, e.kind)
        };
        rows.push((e.line, row));
    }
    for (line, parsed) in &ok {
        let verdict = validator.check_line(parsed);
        let pol = policy
            .as_ref()
            .map(|p| p.check(&parsed.expectation))
            .unwrap_or_default();
        let conforms = verdict.conforms() && pol.is_empty();
        if !conforms {
            problems += 1;
        }
        let row = if json {
            serde_json::json!({
                "line": line,
                "conforms": conforms,
                "helper": verdict.helper.map(|h| h.to_string()),
                "kind": verdict.kind,
                "findings": verdict.findings,
                "policy": pol,
            })
            .to_string()
        } else {
            let what = match (verdict.helper, verdict.kind) {
                (Some(h), Some(k)) => format!("{h} {}", k.label()),
                (Some(h), None) => h.to_string(),
                _ => parsed
                    .expectation
                    .helper
                    .clone()
                    .unwrap_or_else(|| "(no helper)".into()),
            };
            let mut r = format!(
                "line {line}: {} {what}",
                if conforms { "ok" } else { "FAIL" }
            );
            for f in verdict.findings.iter().chain(pol.iter()) {
                r.push_str(&format!("\n  {f}"));
            }
            r
        };
        rows.push((*line, row));
    }
    rows.sort_by_key(|(l, _)| *l);
    for (_, r) in rows {
        out.push_str(&r);
        out.push('\n');
    }
    if !json {
        out.push_str(&format!(
            "{} expectation line(s), {} with findings, {} unparsable\n",
            ok.len() + bad.len(),
            problems - bad.len(),
            bad.len()
        ));
    }
    print!("{out}");
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn audit(args: &[String]) -> Result<ExitCode, String> {
    let mut root = "/".to_string();
    let mut json = false;
    let mut policy = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--root" => root = it.next().ok_or("--root needs a DIR")?.clone(),
            "--policy" => policy = Some(it.next().ok_or("--policy needs a FILE")?.clone()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let root_path = std::path::Path::new(&root);
    if !root_path.is_dir() {
        return Err(format!("--root {root}: not a directory"));
    }
    let policy = policy.as_deref().map(load_policy).transpose()?;
    let snap =
        HostSnapshot::collect(|p| std::fs::read(root_path.join(p)).map_err(|e| e.to_string()));
    let report = audit_host(&snap, policy.as_ref());
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        match report.kernel {
            Some(k) => println!("kernel {k}"),
            None => println!("kernel unknown"),
        }
        println!("{} expectation(s) examined", report.expectations.len());
        for f in &report.findings {
            println!("{f}");
        }
        let n = report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .count();
        println!("{n} finding(s)");
    }
    Ok(if report.has_problems() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn render_cmd(args: &[String]) -> Result<ExitCode, String> {
    use netfilter_helpers_core::render::{Backend, render};
    use netfilter_helpers_core::site::Site;
    use netfilter_helpers_core::synth::synthesize;
    let mut site = None;
    let mut backend = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--site" => site = Some(it.next().ok_or("--site needs a FILE")?.clone()),
            "--backend" => {
                let b = it.next().ok_or("--backend needs a name")?;
                backend = Some(b.parse::<Backend>().map_err(|e| e.to_string())?);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let path = site.ok_or_else(|| format!("render needs --site FILE\n{USAGE}"))?;
    let backend = backend.ok_or_else(|| format!("render needs --backend NAME\n{USAGE}"))?;
    let text = read_input(&path)?;
    let parsed = if path.ends_with(".json") || text.trim_start().starts_with('{') {
        Site::from_json(&text)
    } else {
        Site::from_toml(&text)
    };
    let valid = parsed.and_then(|s| s.validate()).map_err(|e| {
        let mut msg = format!("{path}: invalid site");
        for p in e.problems {
            msg.push_str(&format!("\n  {p}"));
        }
        msg
    })?;
    for w in &valid.warnings {
        eprintln!("{path}: warning: {w}");
    }
    let out = render(&synthesize(&valid), backend).map_err(|e| format!("{path}: {e}"))?;
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
