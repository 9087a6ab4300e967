//! `nfh watch`: judge the kernel's expectations as it creates them (ctnetlink events), and with
//! `--enforce` delete those that break the model or the site policy.
//!
//! ```text
//! nfh watch [--set MODULE.PARAM=VALUE ...] [--policy FILE] [--json] [--enforce] [--once] [--netns NAME|PATH]
//! ```
//!
//! One line per expectation (existing ones first, then new ones), a line per destroyed one and,
//! with `--enforce`, a line per deletion with its reason. Lines are JSON objects with `--json`;
//! each carries `time`, the wall-clock time (seconds since the epoch, microseconds) at which it
//! was written. SIGINT and SIGTERM stop the watch; the exit code is then 0 when everything seen
//! conformed, 1 otherwise, 2 when the watch could not run (no CAP_NET_ADMIN, no conntrack).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{SystemTime, UNIX_EPOCH};

use netfilter_helpers_core::ctnetlink::ExpectMessage;
use netfilter_helpers_core::judge::{Judge, Judgement};
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_netlink::{Deletion, Event, WatchOptions, Watcher};

use crate::{Fail, USAGE, judge_arg, load_policy};

/// `/run/netns/NAME` for a bare name, the path itself otherwise.
fn netns_path(name: &str) -> PathBuf {
    if name.contains('/') {
        PathBuf::from(name)
    } else {
        Path::new("/run/netns").join(name)
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

struct Out {
    json: bool,
    stdout: std::io::Stdout,
}

impl Out {
    fn line(&mut self, text: &str) -> Result<(), Fail> {
        // JSON escapes by itself; text lines get control characters escaped (a helper name
        // comes from the kernel's bytes), each line but its own line breaks.
        let text = if self.json {
            text.to_string()
        } else {
            text.split('\n')
                .map(escape_controls)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut lock = self.stdout.lock();
        writeln!(lock, "{text}")
            .and_then(|()| lock.flush())
            .map_err(Fail::output)
    }

    fn verdict(&mut self, event: &str, m: &ExpectMessage, j: &Judgement) -> Result<(), Fail> {
        let e = m.expectation();
        let conforms = j.conforms();
        if self.json {
            let v = serde_json::json!({
                "time": now(),
                "event": event,
                "id": m.id,
                "conforms": conforms,
                "helper": j.verdict.helper.map(|h| h.to_string()).or_else(|| e.helper.as_deref().map(str::to_string)),
                "kind": j.verdict.kind,
                "timeout": m.line.timeout,
                "zone": m.line.zone,
                "expectation": e.to_conntrack_line(m.line.timeout),
                "expectation_fields": e,
                "findings": &j.verdict.findings,
                "policy": &j.policy,
                "unknown_attributes": m.unknown_attributes,
            });
            self.line(&v.to_string())
        } else {
            let what = match (j.verdict.helper, j.verdict.kind) {
                (Some(h), Some(k)) => format!("{h} {}", k.label()),
                (Some(h), None) => h.to_string(),
                _ => e
                    .helper
                    .as_deref()
                    .map_or_else(|| "(no helper)".to_string(), |h| format!("{h:?}")),
            };
            let mut text = format!(
                "{event} {}: {} {what}: {}",
                id_text(m),
                if conforms { "ok" } else { "FAIL" },
                e.to_conntrack_line(m.line.timeout)
            );
            for f in j.findings() {
                text.push_str(&format!("\n  {f}"));
            }
            self.line(&text)
        }
    }

    fn destroyed(&mut self, m: &ExpectMessage) -> Result<(), Fail> {
        let e = m.expectation();
        if self.json {
            let v = serde_json::json!({
                "time": now(),
                "event": "destroyed",
                "id": m.id,
                "expectation": e.to_conntrack_line(None),
                "expectation_fields": e,
            });
            self.line(&v.to_string())
        } else {
            self.line(&format!(
                "destroyed {}: {}",
                id_text(m),
                e.to_conntrack_line(None)
            ))
        }
    }

    fn action(
        &mut self,
        m: &ExpectMessage,
        outcome: &Result<Deletion, String>,
        reason: &str,
    ) -> Result<(), Fail> {
        let (event, error) = match outcome {
            Ok(Deletion::Deleted) => ("deleted", None),
            Ok(Deletion::Gone) => ("delete-gone", None),
            Err(e) => ("delete-failed", Some(e.as_str())),
        };
        if self.json {
            let v = serde_json::json!({
                "time": now(),
                "event": event,
                "id": m.id,
                "reason": reason,
                "error": error,
                "expectation": m.expectation().to_conntrack_line(None),
                "expectation_fields": m.expectation(),
            });
            self.line(&v.to_string())
        } else {
            let tail = match outcome {
                Ok(Deletion::Deleted) => String::new(),
                Ok(Deletion::Gone) => {
                    " (already gone: matched by a connection, expired or deleted)".into()
                }
                Err(e) => format!(" (failed: {e})"),
            };
            self.line(&format!("{event} {}{tail}: {reason}", id_text(m)))
        }
    }

    fn note(&mut self, event: &str, text: &str) -> Result<(), Fail> {
        if self.json {
            let v = serde_json::json!({"time": now(), "event": event, "message": text});
            self.line(&v.to_string())
        } else {
            self.line(&format!("{event}: {text}"))
        }
    }
}

/// `text` with control characters written as `\u{..}` escapes.
fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn id_text(m: &ExpectMessage) -> String {
    m.id.map_or_else(|| "id=?".to_string(), |id| format!("id={id:#010x}"))
}

/// The first finding worse than info, as the deletion's reason.
fn reason(j: &Judgement) -> String {
    j.findings()
        .find(|f| f.severity > netfilter_helpers_core::report::Severity::Info)
        .map_or_else(|| "does not conform".to_string(), ToString::to_string)
}

/// `nfh watch`.
pub(crate) fn watch(args: &[String]) -> Result<ExitCode, Fail> {
    let mut options = ModuleOptions::new();
    let (mut json, mut enforce, mut once) = (false, false, false);
    let mut policy = None;
    let mut netns = None;
    let mut errors = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--enforce" => enforce = true,
            "--once" => once = true,
            a if judge_arg(a, &mut it, &mut options, &mut policy, &mut errors) => {}
            "--netns" => match it.next() {
                Some(n) if !n.is_empty() => netns = Some(netns_path(n)),
                _ => errors.push("--netns needs a NAME or a PATH".into()),
            },
            other => errors.push(format!("unknown argument {other:?}")),
        }
    }
    if !errors.is_empty() {
        return Err(format!("{}\n{USAGE}", errors.join("\nnfh: ")).into());
    }
    let policy = policy.as_deref().map(load_policy).transpose()?;
    let judge = Judge::new(&options, policy);
    let mut out = Out {
        json,
        stdout: std::io::stdout(),
    };
    let mut findings = false;

    if once {
        let (messages, mut requests) = netfilter_helpers_host::live_messages(netns.as_deref())?;
        for m in messages {
            let j = m.judge(&judge);
            findings |= !j.conforms();
            out.verdict("existing", &m, &j)?;
            if enforce && !j.conforms() {
                let outcome = requests.delete(&m.key()).map_err(|e| e.to_string());
                out.action(&m, &outcome, &reason(&j))?;
            }
        }
        return Ok(exit(findings));
    }

    // Signals only set the flag; the watcher looks at it between receives.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| format!("cannot handle signal {sig}: {e}"))?;
    }
    let watch_options = match &netns {
        Some(path) => WatchOptions::in_netns(path),
        None => WatchOptions::default(),
    };
    let mut watcher = Watcher::open(&watch_options)
        .map_err(|e| e.to_string())?
        .with_stop_flag(stop);
    let place = netns.as_deref().map_or_else(
        || "this network namespace".to_string(),
        |p| p.display().to_string(),
    );
    out.note(
        "watching",
        &format!("subscribed to new and destroyed expectations in {place}"),
    )?;
    while let Some(judged) = watcher
        .next_judged(&judge, enforce)
        .map_err(|e| e.to_string())?
    {
        let (name, m) = match &judged.event {
            Event::Existing(m) => ("existing", m),
            Event::New(m) => ("new", m),
            Event::Destroyed(m) => {
                out.destroyed(m)?;
                continue;
            }
            Event::Lost => {
                out.note(
                    "lost",
                    "the kernel dropped expectation events (socket buffer full); the table was read again",
                )?;
                continue;
            }
            Event::Malformed(e) => {
                findings = true;
                out.note("malformed", &e.to_string())?;
                continue;
            }
            _ => continue,
        };
        let Some(j) = &judged.judgement else {
            continue;
        };
        findings |= !j.conforms();
        out.verdict(name, m, j)?;
        if let Some(outcome) = &judged.deletion {
            let outcome = outcome.as_ref().copied().map_err(ToString::to_string);
            out.action(m, &outcome, &reason(j))?;
        }
    }
    Ok(exit(findings))
}

fn exit(findings: bool) -> ExitCode {
    if findings {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_in_text_lines() {
        assert_eq!(
            escape_controls("helper=ftp\u{1b}[2J\r"),
            "helper=ftp\\u{1b}[2J\\u{d}"
        );
        assert_eq!(escape_controls("plain é"), "plain é");
    }

    #[test]
    fn netns_names_and_paths() {
        assert_eq!(netns_path("fw"), Path::new("/run/netns/fw"));
        assert_eq!(netns_path("/proc/1/ns/net"), Path::new("/proc/1/ns/net"));
    }
}
