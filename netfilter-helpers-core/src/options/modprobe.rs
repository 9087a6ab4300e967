//! Reading `modprobe.d` text: logical lines, words, quoting, and every finding on the way.

use std::collections::BTreeMap;

use super::*;
use crate::catalogue::Module;
use crate::report::Severity;

impl OptionsReport {
    pub(super) fn push_error(&mut self, line: usize, e: OptionError) {
        let (module, param, value) = match &e {
            OptionError::UnknownModule { module } => (Some(module.clone()), None, None),
            OptionError::UnknownParameter { module, param, .. }
            | OptionError::TooManyValues { module, param, .. }
            | OptionError::DuplicatePort { module, param, .. }
            | OptionError::MissingValue { module, param } => {
                (Some(module.clone()), Some(param.clone()), None)
            }
            OptionError::InvalidValue {
                module,
                param,
                value,
                ..
            }
            | OptionError::OutOfRange {
                module,
                param,
                value,
                ..
            } => (
                Some(module.clone()),
                Some(param.clone()),
                Some(value.clone()),
            ),
            OptionError::Malformed { .. } => (None, None, None),
        };
        self.findings.push(OptionFinding {
            severity: Severity::Error,
            code: OptionCode::from(&e),
            line: Some(line),
            module,
            param,
            value,
            message: e.to_string(),
        });
    }

    pub(super) fn apply_word(
        &mut self,
        module: Module,
        word: &str,
        line: usize,
        seen: &mut BTreeMap<Param, usize>,
    ) {
        let (name, value) = match word.split_once('=') {
            Some((n, v)) => (n, Some(unquote(v))),
            None => (word, None),
        };
        let param = match Param::lookup_in(module, name) {
            Ok(p) => p,
            Err(e) => return self.push_error(line, e),
        };
        let spec = param.spec();
        let value = match (value, spec.kind) {
            (Some(v), _) => v,
            (None, ParamKind::Bool) => "1".to_string(),
            (None, _) => {
                return self.push_error(
                    line,
                    OptionError::MissingValue {
                        module: module.name().into(),
                        param: name.into(),
                    },
                );
            }
        };
        let parsed = match param.parse_value(&value) {
            Ok(v) => v,
            Err(e) => return self.push_error(line, e),
        };
        let mut finding = |severity, code, message: String| {
            self.findings.push(OptionFinding {
                severity,
                code,
                line: Some(line),
                module: Some(module.name().into()),
                param: Some(spec.name.into()),
                value: Some(value.clone()),
                message,
            })
        };
        if let Some(prev) = seen.insert(param, line) {
            finding(
                Severity::Warning,
                OptionCode::DuplicateSetting,
                format!(
                    "{} {} set again (first on line {prev}); the last setting wins",
                    module.name(),
                    spec.name
                ),
            );
        }
        if let Some((maj, min)) = spec.removed_in {
            finding(
                Severity::Warning,
                OptionCode::RemovedParameter,
                format!(
                    "{} {} was removed in Linux {maj}.{min}: the kernel ignores it; assign helpers with the CT target or nft ct helper",
                    module.name(),
                    spec.name
                ),
            );
        } else if let Some(why) = param.danger_of(&parsed) {
            finding(
                Severity::Warning,
                OptionCode::DangerousOption,
                format!(
                    "{} {}={value} is dangerous: {why}",
                    module.name(),
                    spec.name
                ),
            );
        }
        if spec.kind == ParamKind::Ports {
            finding(
                Severity::Info,
                OptionCode::PortsRenameOnly,
                format!(
                    "{} ports={value}: since Linux 6.0 ports= only decides helper names; traffic gets a helper only from a CT rule",
                    module.name()
                ),
            );
        }
        self.options.values.insert(param, parsed);
    }
}

pub(super) fn truncate(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

pub(super) fn unquote(v: &str) -> String {
    v.replace('"', "")
}

/// Joins `\` continuations and drops comments and blank lines; yields (first line number, text).
pub(super) fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let (start, mut acc) = match pending.take() {
            Some(p) => p,
            None => {
                let t = raw.trim_start();
                if t.starts_with('#') || t.trim().is_empty() {
                    continue;
                }
                (line_no, String::new())
            }
        };
        if let Some(stripped) = raw.strip_suffix('\\') {
            acc.push_str(stripped);
            acc.push(' ');
            pending = Some((start, acc));
        } else {
            acc.push_str(raw);
            out.push((start, acc));
        }
    }
    if let Some(p) = pending {
        out.push(p);
    }
    out
}

/// Splits on whitespace, keeping double-quoted runs together (as modprobe does).
pub(super) fn split_words(line: &str) -> Result<Vec<String>, String> {
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err("control character in line".into());
    }
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated double quote".into());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    Ok(words)
}
