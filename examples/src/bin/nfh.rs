//! `nfh`: the netfilter-helpers command-line example.
//!
//! ```text
//! nfh helpers [--set MODULE.PARAM=VALUE ...] [--precise] [--explain] [--json]
//! nfh options check [--json] FILE|-
//! nfh kernel [--json] VERSION
//! nfh validate [--set MODULE.PARAM=VALUE ...] [--policy FILE] [--json] [--quiet] [--summary] [FILE|-]
//! nfh audit [--root DIR] [--ruleset FILE ...] [--site FILE] [--policy FILE] [--no-ruleset] [--json]
//! nfh watch [--set MODULE.PARAM=VALUE ...] [--policy FILE] [--json] [--enforce] [--once] [--netns NAME]
//! nfh render --site FILE --backend iptables|ip6tables|iptables-hooks|iptables-remove|commands|nft|nft-json|nft-remove|sysctl|modprobe
//! ```
//!
//! Exit codes: 0 success / nothing found, 1 findings, 2 unusable input or usage error.

use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;

use netfilter_helpers_core::dof::Table;
use netfilter_helpers_core::kernel::KernelVersion;
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_core::policy::SitePolicy;
use netfilter_helpers_core::report::Severity;

#[path = "nfh/watch.rs"]
mod watch;

const USAGE: &str = "usage:
  nfh helpers [--set MODULE.PARAM=VALUE ...] [--precise] [--explain] [--json]
      print the degree-of-freedom table of every helper under the given module options
  nfh options check [--json] FILE|-
      validate modprobe.d text (exit 1 with findings, 2 on unreadable input)
  nfh kernel [--json] VERSION
      mechanisms and recommendations for a kernel version (e.g. 6.1.0-18-amd64)
  nfh validate [--set MODULE.PARAM=VALUE ...] [--policy FILE] [--json] [--quiet] [--summary] [FILE|-]
      judge expectation lines (/proc/net/nf_conntrack_expect or conntrack -L/-E expect) as
      they arrive, in constant memory; --quiet prints only findings, --summary counts per
      helper and finding code: exit 0 when all conform, 1 when anything is found, 2 on
      unusable input (no line parses)
  nfh audit [--root DIR] [--ruleset FILE ...] [--site FILE] [--policy FILE] [--no-ruleset] [--json]
      audit a host: options, kernel, expectation table, and the loaded ruleset (live:
      nft -j list ruleset, iptables-save, ip6tables-save; --root DIR: a fixture tree with
      nft-ruleset.json, iptables-save.txt, ip6tables-save.txt, ip-addr.json; --ruleset FILE:
      nft JSON or iptables-save text) for helper hazards; --site FILE also lists rules the
      site renders that are not loaded, and loaded rules of its table it does not render
  nfh watch [--set MODULE.PARAM=VALUE ...] [--policy FILE] [--json] [--enforce] [--once] [--netns NAME]
      judge the kernel's expectations live over ctnetlink (existing ones, then each new one),
      one verdict line each (JSON lines with --json); --enforce deletes every one that breaks
      the model or the policy and reports why; --once judges the current table and exits;
      --netns watches the namespace /run/netns/NAME. Needs CAP_NET_ADMIN. SIGINT/SIGTERM
      stop it: exit 0 when all conformed, 1 when anything was found, 2 when it cannot run
  nfh render --site FILE --backend iptables|ip6tables|iptables-hooks|iptables-remove|commands|nft|nft-json|nft-remove|sysctl|modprobe
      render a site description (TOML or JSON) as rules for one backend";

/// Why a command stopped early.
#[derive(Debug)]
enum Fail {
    /// Unusable input or usage: the message, and exit code 2.
    Msg(String),
    /// The reader of the output went away (`| head`): stop quietly with this code.
    Pipe(u8),
}

impl From<String> for Fail {
    fn from(s: String) -> Fail {
        Fail::Msg(s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Fail {
        Fail::Msg(s.to_string())
    }
}

impl Fail {
    /// An output error: a closed pipe ends the command quietly, anything else (a full disk)
    /// is reported.
    fn output(e: std::io::Error) -> Fail {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Fail::Pipe(0)
        } else {
            Fail::Msg(format!("cannot write the output: {e}"))
        }
    }
}

/// `print!` that ends the command on an output error instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {{

        if let Err(e) = write!(std::io::stdout().lock(), $($t)*) {
            return Err(Fail::output(e));
        }
    }};
}

/// `println!` that ends the command on an output error instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{

        if let Err(e) = writeln!(std::io::stdout().lock(), $($t)*) {
            return Err(Fail::output(e));
        }
    }};
}

#[path = "nfh/audit.rs"]
mod audit;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = run(&args);
    // Whatever was printed last must reach the reader; a closed pipe is not an error.
    let flushed = { std::io::stdout().flush() };
    match (r, flushed) {
        (Err(Fail::Msg(msg)), _) => {
            eprintln!("nfh: {msg}");
            ExitCode::from(2)
        }
        (Err(Fail::Pipe(code)), _) => ExitCode::from(code),
        (Ok(_), Err(e)) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("nfh: cannot write the output: {e}");
            ExitCode::from(2)
        }
        (Ok(code), _) => code,
    }
}

fn run(args: &[String]) -> Result<ExitCode, Fail> {
    match args.first().map(String::as_str) {
        Some("helpers") => helpers(&args[1..]),
        Some("options") => match args.get(1).map(String::as_str) {
            Some("check") => options_check(&args[2..]),
            _ => Err(format!("expected `options check`\n{USAGE}").into()),
        },
        Some("kernel") => kernel(&args[1..]),
        Some("validate") => validate(&args[1..]),
        Some("audit") => audit::run(&args[1..]),
        Some("render") => render_cmd(&args[1..]),
        Some("watch") => watch::watch(&args[1..]),
        Some("-h" | "--help" | "help") => {
            outln!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!("unknown command {other:?}\n{USAGE}").into()),
        None => Err(USAGE.into()),
    }
}

fn helpers(args: &[String]) -> Result<ExitCode, Fail> {
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
        return Err(errors.join("\nnfh: ").into());
    }
    let table = Table::build(&options);
    if json {
        let out = serde_json::json!({
            "options": options,
            "dangerous": options.dangerous().iter().map(|(p, why)| serde_json::json!({"param": p.to_string(), "why": why})).collect::<Vec<_>>(),
            "rows": table.rows,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if precise {
        out!("{}", table.to_precise_text());
    } else {
        out!("{}", table.to_article_text());
    }
    outln!();
    outln!(
        "Fixed/M: copied from the master connection. In CMD/P: taken from the payload (forgeable)."
    );
    outln!(
        "P=M: read from the payload but must equal the master's value. Full/*: wildcard. Iface Network/NET: any host of the interface's network."
    );
    for (p, why) in options.dangerous() {
        outln!("warning: {p}={} is dangerous: {why}", options.get(p));
    }
    if explain {
        for r in &table.rows {
            outln!();
            outln!("{} {} ({}):", r.helper, r.kind.label(), r.trigger);
            for line in r.explain() {
                outln!("  - {line}");
            }
            for n in &r.notes {
                outln!("  - note: {n}");
            }
        }
    } else {
        for r in table.rows.iter().filter(|r| r.risk.is_some()) {
            outln!(
                "risk: {} {}: {}",
                r.helper,
                r.kind.label(),
                r.risk.as_deref().unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The largest document (`options check`, `--site`, `--policy`) read by default: 16 MiB;
/// the environment variable `NFH_MAX_DOCUMENT_BYTES` changes it.
const MAX_DOCUMENT: u64 = 16 << 20;

fn max_document() -> Result<u64, String> {
    match std::env::var("NFH_MAX_DOCUMENT_BYTES") {
        Err(_) => Ok(MAX_DOCUMENT),
        Ok(v) => v
            .parse()
            .map_err(|_| format!("NFH_MAX_DOCUMENT_BYTES={v:?} is not a number of bytes")),
    }
}

/// Reads a whole document, at most [`max_document`] bytes of UTF-8 text.
fn read_input(path: &str) -> Result<String, String> {
    let limit = max_document()?;
    let mut bytes = Vec::new();
    let name = if path == "-" { "standard input" } else { path };
    let r = if path == "-" {
        std::io::stdin().take(limit + 1).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
    };
    r.map_err(|e| format!("cannot read {name}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{name} is larger than {limit} bytes, the limit for a document (set NFH_MAX_DOCUMENT_BYTES to change it)"
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{name}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn options_check(args: &[String]) -> Result<ExitCode, Fail> {
    let mut json = false;
    let mut file = None;
    for a in args {
        match a.as_str() {
            "--json" => json = true,
            s if file.is_none() && (s == "-" || !s.starts_with('-')) => file = Some(s.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
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
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        for f in &report.findings {
            outln!("{file}:{f}");
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
        outln!("{file}: {errors} error(s), {warnings} warning(s)");
    }
    Ok(if report.has_problems() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn kernel(args: &[String]) -> Result<ExitCode, Fail> {
    let mut json = false;
    let mut version = None;
    for a in args {
        match a.as_str() {
            "--json" => json = true,
            s if version.is_none() => version = Some(s.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
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
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        outln!("kernel {v}");
        outln!("  CT target (2.6.34):        {}", yes(caps.ct_target));
        outln!("  rpfilter match (3.3):      {}", yes(caps.rpfilter_match));
        outln!("  nft fib (4.10):            {}", yes(caps.nft_fib));
        outln!("  nft ct helper (4.12):      {}", yes(caps.nft_ct_helper));
        outln!(
            "  sip_external_media (5.1):  {}",
            yes(caps.sip_external_media)
        );
        outln!("  automatic assignment:      {:?}", caps.auto_assignment);
        outln!("  ports= effect:             {:?}", caps.ports_effect);
        for r in recs {
            outln!("recommend [{}]: {}", r.code, r.text);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn load_policy(path: &str) -> Result<SitePolicy, String> {
    let text = read_input(path)?;
    let parsed = SitePolicy::from_text(Some(path), &text);
    parsed.map_err(|e| {
        let mut msg = format!("{path}: invalid policy");
        for p in e.problems {
            msg.push_str(&format!("\n  {p}"));
        }
        msg
    })
}

/// `--set MODULE.PARAM=VALUE` and `--policy FILE`, the arguments of every command that judges
/// expectations (`validate`, `watch`); whether `arg` was one of them (its value taken from
/// `it`, a problem added to `errors`).
fn judge_arg<'a>(
    arg: &str,
    it: &mut impl Iterator<Item = &'a String>,
    options: &mut ModuleOptions,
    policy: &mut Option<String>,
    errors: &mut Vec<String>,
) -> bool {
    match arg {
        "--set" => match it.next() {
            Some(v) => {
                if let Err(e) = options.set_assignment(v) {
                    errors.push(format!("--set {v}: {e}"));
                }
            }
            None => errors.push("--set needs MODULE.PARAM=VALUE".into()),
        },
        "--policy" => match it.next() {
            Some(p) => *policy = Some(p.clone()),
            None => errors.push("--policy needs a FILE".into()),
        },
        _ => return false,
    }
    true
}

fn validate(args: &[String]) -> Result<ExitCode, Fail> {
    use netfilter_helpers_core::judge::{Detail, Judge, Summary};
    // Judged on every core, in input order, a block at a time: constant memory.
    let mut options = ModuleOptions::new();
    let (mut json, mut quiet, mut summary) = (false, false, false);
    let mut policy = None;
    let mut file = None;
    let mut errors = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--quiet" => quiet = true,
            "--summary" => summary = true,
            a if judge_arg(a, &mut it, &mut options, &mut policy, &mut errors) => {}
            s if file.is_none() && (s == "-" || !s.starts_with('-')) => file = Some(s.to_string()),
            other => errors.push(format!("unknown argument {other:?}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\nnfh: ").into());
    }
    let policy = policy.as_deref().map(load_policy).transpose()?;
    let file = file.unwrap_or_else(|| "-".to_string());
    let source: Box<dyn Read + Send> = if file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(&file).map_err(|e| format!("cannot read {file}: {e}"))?)
    };
    // Reading runs ahead on a thread of its own while this one judges and prints. Output is
    // flushed whenever every verdict so far is written and the input has nothing more at
    // hand, so a live `conntrack -E expect | nfh validate` prints each verdict as its line
    // arrives.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
    let judge = Judge::new(&options, policy);
    let detail = if quiet {
        Detail::Findings
    } else {
        Detail::Full
    };
    let mut totals = Summary::default();
    let mut write_failed: Option<std::io::Error> = None;
    {
        let write_failed = std::cell::RefCell::new(&mut write_failed);
        let out = std::cell::RefCell::new(&mut out);
        judge
            .judge_read_ahead(
                source,
                0,
                detail,
                |r| {
                    if write_failed.borrow().is_some() {
                        return ControlFlow::Break(());
                    }
                    totals.add(&r);
                    if quiet && r.conforms {
                        return ControlFlow::Continue(());
                    }
                    let row = if json { json_row(&r) } else { text_row(&r) };
                    match out.borrow_mut().write_all(row.as_bytes()) {
                        Ok(()) => ControlFlow::Continue(()),
                        Err(e) => {
                            **write_failed.borrow_mut() = Some(e);
                            // Nothing more to read once the output is gone.
                            ControlFlow::Break(())
                        }
                    }
                },
                || {
                    if write_failed.borrow().is_none()
                        && let Err(e) = out.borrow_mut().flush()
                    {
                        **write_failed.borrow_mut() = Some(e);
                    }
                },
            )
            .map_err(|e| format!("cannot read {file}: {e}"))?;
    }
    let failing = totals.lines - totals.conforming;
    let code = if totals.lines > 0 && totals.unparsable == totals.lines {
        2
    } else {
        u8::from(failing > 0)
    };
    {
        let o = &mut out;
        if write_failed.is_none() {
            let tail = if summary {
                if json {
                    format!(
                        "{}\n",
                        serde_json::to_string(&serde_json::json!({"summary": totals}))
                            .map_err(|e| e.to_string())?
                    )
                } else {
                    summary_text(&totals)
                }
            } else if json {
                String::new()
            } else {
                format!(
                    "{} expectation line(s), {} with findings, {} unparsable\n",
                    totals.lines,
                    failing - totals.unparsable,
                    totals.unparsable
                )
            };
            if let Err(e) = o.write_all(tail.as_bytes()).and_then(|()| o.flush()) {
                write_failed = Some(e);
            }
        }
    }
    if let Some(e) = write_failed {
        return match Fail::output(e) {
            Fail::Pipe(_) => Err(Fail::Pipe(code)),
            other => Err(other),
        };
    }
    if code == 2 {
        eprintln!("nfh: {file}: no line could be parsed as an expectation");
    }
    Ok(ExitCode::from(code))
}

fn json_row(r: &netfilter_helpers_core::judge::Judged) -> String {
    let v = match &r.outcome {
        Err(e) => serde_json::json!({"line": r.line, "conforms": false, "error": e.to_string()}),
        Ok((p, j)) => serde_json::json!({
            "line": r.line,
            "conforms": r.conforms,
            "helper": j.as_ref().and_then(|j| j.verdict.helper.map(|h| h.to_string()))
                .or_else(|| p.expectation.helper.as_deref().map(str::to_string)),
            "kind": j.as_ref().and_then(|j| j.verdict.kind),
            "findings": j.as_ref().map(|j| &j.verdict.findings[..]).unwrap_or(&[]),
            "policy": j.as_ref().map(|j| &j.policy[..]).unwrap_or(&[]),
        }),
    };
    format!("{v}\n")
}

fn text_row(r: &netfilter_helpers_core::judge::Judged) -> String {
    match &r.outcome {
        Err(e) => format!(
            "line {}: unparsable: {} (near {:?})\n",
            r.line, e.kind, e.near
        ),
        Ok((p, j)) => {
            let what = match j.as_ref().map(|j| (j.verdict.helper, j.verdict.kind)) {
                Some((Some(h), Some(k))) => format!("{h} {}", k.label()),
                Some((Some(h), None)) => h.to_string(),
                _ => p
                    .expectation
                    .helper
                    .as_deref()
                    .map_or_else(|| "(no helper)".to_string(), |h| format!("{h:?}")),
            };
            let mut row = format!(
                "line {}: {} {what}\n",
                r.line,
                if r.conforms { "ok" } else { "FAIL" }
            );
            for f in j.iter().flat_map(|j| j.findings()) {
                row.push_str(&format!("  {f}\n"));
            }
            row
        }
    }
}

fn summary_text(s: &netfilter_helpers_core::judge::Summary) -> String {
    let mut t = format!(
        "{} expectation line(s): {} conform, {} with findings, {} unparsable\n",
        s.lines,
        s.conforming,
        s.lines - s.conforming - s.unparsable,
        s.unparsable
    );
    for (h, c) in &s.by_helper {
        t.push_str(&format!(
            "  helper {h:?}: {} conform, {} with findings\n",
            c.conforming, c.failing
        ));
    }
    for (code, n) in &s.by_code {
        t.push_str(&format!("  finding {code}: {n}\n"));
    }
    t
}

fn render_cmd(args: &[String]) -> Result<ExitCode, Fail> {
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
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    let path = site.ok_or_else(|| format!("render needs --site FILE\n{USAGE}"))?;
    let backend = backend.ok_or_else(|| format!("render needs --backend NAME\n{USAGE}"))?;
    let text = read_input(&path)?;
    let parsed = Site::from_text(Some(&path), &text);
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
    out!("{out}");
    Ok(ExitCode::SUCCESS)
}
