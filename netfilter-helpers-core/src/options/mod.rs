//! Module options: a typed model of every parameter of every `nf_conntrack_*` helper module.
//!
//! Values are parsed the way the kernel parses them (`kstrtobool`, `kstrtoint` with base 0,
//! comma-separated `ushort` arrays of at most 8 entries), so a value accepted here is one the
//! kernel accepts, and a value refused here is one that makes the module refuse to load or the
//! write to `/sys/module/<module>/parameters/<param>` fail.
//!
//! ```
//! use netfilter_helpers_core::options::{ModuleOptions, Param};
//!
//! let report = ModuleOptions::from_modprobe("options nf_conntrack_ftp loose=1 ports=21,2121\n");
//! assert!(!report.has_errors());
//! assert!(report.options.ftp_loose());
//! assert_eq!(report.options.ports(Param::FtpPorts.spec().module), vec![21, 2121]);
//! // loose=1 is dangerous: it is reported as a warning.
//! assert_eq!(report.findings[0].code.as_str(), "dangerous-option");
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalogue::Module;
use crate::report::Severity;

mod findings;
mod modprobe;
mod params;
mod values;

pub use findings::*;
use modprobe::*;
pub use params::*;
use values::*;

/// The module options in force: explicitly set values over the kernel defaults.
///
/// ```
/// use netfilter_helpers_core::options::{ModuleOptions, Param, Value};
///
/// let mut o = ModuleOptions::new();
/// assert!(!o.ftp_loose());
/// o.set(Param::FtpLoose, Value::Bool(true)).unwrap();
/// assert!(o.ftp_loose());
/// assert_eq!(o.render_modprobe(), "options nf_conntrack_ftp loose=1\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModuleOptions {
    values: BTreeMap<Param, Value>,
}

impl ModuleOptions {
    /// Options with every parameter at its kernel default.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, Param, Value};
    /// let o = ModuleOptions::new();
    /// assert_eq!(o.explicit().count(), 0);
    /// assert_eq!(o.get(Param::SipTimeout), Value::Uint(3600));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a parameter to a typed value after checking it.
    ///
    /// ```
    /// use netfilter_helpers_core::{catalogue::Module, options::{ModuleOptions, Param, Value}};
    /// let mut o = ModuleOptions::new();
    /// o.set(Param::SipPorts, Value::Ports(vec![5060, 5070])).unwrap();
    /// assert_eq!(o.ports(Module::Sip), vec![5060, 5070]);
    /// assert!(o.set(Param::SipPorts, Value::Bool(true)).is_err());
    /// ```
    pub fn set(&mut self, param: Param, value: Value) -> Result<(), OptionError> {
        param.check(&value)?;
        self.values.insert(param, value);
        Ok(())
    }

    /// Parses and sets a parameter given as module, parameter and value text (`modprobe` or
    /// `/sys` spelling).
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_text("nf_conntrack_sip", "sip_direct_media", "0").unwrap();
    /// assert!(!o.sip_direct_media());
    /// let e = o.set_text("nf_conntrack_irc", "max_dcc_channels", "0").unwrap_err();
    /// assert_eq!(e.to_string(), "nf_conntrack_irc max_dcc_channels=0: out of range, accepted 1..=255");
    /// ```
    pub fn set_text(&mut self, module: &str, param: &str, value: &str) -> Result<(), OptionError> {
        let p = Param::lookup(module, param)?;
        let v = p.parse_value(value)?;
        self.values.insert(p, v);
        Ok(())
    }

    /// Parses and sets a `MODULE.PARAM=VALUE` assignment (as `nfh --set` takes it).
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("ftp.loose=1").unwrap();
    /// o.set_assignment("nf_conntrack_h323.gkrouted_only=0").unwrap();
    /// assert!(o.ftp_loose() && !o.h323_gkrouted_only());
    /// assert!(o.set_assignment("ftp.loose").is_err());
    /// ```
    pub fn set_assignment(&mut self, text: &str) -> Result<(), OptionError> {
        let (lhs, value) = text.split_once('=').ok_or_else(|| OptionError::Malformed {
            text: text.to_string(),
            reason: "expected MODULE.PARAM=VALUE".into(),
        })?;
        let (module, param) = lhs.rsplit_once('.').ok_or_else(|| OptionError::Malformed {
            text: text.to_string(),
            reason: "expected MODULE.PARAM=VALUE".into(),
        })?;
        self.set_text(module, param, value)
    }

    /// Reads a value as `/sys/module/<module>/parameters/<param>` shows it (`Y`/`N` for
    /// booleans, a trailing newline allowed).
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_sysfs("nf_conntrack_ftp", "loose", "Y\n").unwrap();
    /// assert!(o.ftp_loose());
    /// ```
    pub fn set_sysfs(&mut self, module: &str, param: &str, raw: &str) -> Result<(), OptionError> {
        let v = raw.strip_suffix('\n').unwrap_or(raw);
        self.set_text(module, param, v)
    }

    /// Removes an explicit setting (the parameter returns to its default).
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, Param};
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("ftp.loose=1").unwrap();
    /// o.unset(Param::FtpLoose);
    /// assert!(!o.ftp_loose() && o.explicit().next().is_none());
    /// ```
    pub fn unset(&mut self, param: Param) {
        self.values.remove(&param);
    }

    /// The value in force (explicit or default).
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, Param, Value};
    /// let mut o = ModuleOptions::new();
    /// assert_eq!(o.get(Param::FtpPorts), Value::Ports(vec![21]));
    /// o.set_assignment("ftp.ports=2121").unwrap();
    /// assert_eq!(o.get(Param::FtpPorts), Value::Ports(vec![2121]));
    /// ```
    pub fn get(&self, param: Param) -> Value {
        self.values
            .get(&param)
            .cloned()
            .unwrap_or_else(|| param.default_value())
    }

    /// The explicitly set values.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, Param, Value};
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("irc.dcc_timeout=60").unwrap();
    /// assert_eq!(o.explicit().collect::<Vec<_>>(), [(Param::IrcDccTimeout, &Value::Uint(60))]);
    /// ```
    pub fn explicit(&self) -> impl Iterator<Item = (Param, &Value)> {
        self.values.iter().map(|(p, v)| (*p, v))
    }

    pub(super) fn flag(&self, param: Param) -> bool {
        match self.get(param) {
            Value::Bool(b) => b,
            Value::Int(n) => n != 0,
            Value::Uint(n) => n != 0,
            Value::Ports(_) | Value::Text(_) => false,
        }
    }

    pub(super) fn uint(&self, param: Param) -> u32 {
        match self.get(param) {
            Value::Uint(n) => n,
            _ => 0,
        }
    }

    /// `nf_conntrack_ftp loose`.
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(!o.ftp_loose());
    /// o.set_assignment("ftp.loose=y").unwrap();
    /// assert!(o.ftp_loose());
    /// ```
    pub fn ftp_loose(&self) -> bool {
        self.flag(Param::FtpLoose)
    }
    /// `nf_conntrack_sip sip_direct_signalling` (non-zero).
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(o.sip_direct_signalling());
    /// o.set_assignment("sip.sip_direct_signalling=0").unwrap();
    /// assert!(!o.sip_direct_signalling());
    /// ```
    pub fn sip_direct_signalling(&self) -> bool {
        self.flag(Param::SipDirectSignalling)
    }
    /// `nf_conntrack_sip sip_direct_media` (non-zero).
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(o.sip_direct_media());
    /// o.set_assignment("sip.sip_direct_media=2").unwrap();
    /// assert!(o.sip_direct_media()); // any non-zero value
    /// ```
    pub fn sip_direct_media(&self) -> bool {
        self.flag(Param::SipDirectMedia)
    }
    /// `nf_conntrack_sip sip_external_media` (non-zero).
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(!o.sip_external_media());
    /// o.set_assignment("sip.sip_external_media=1").unwrap();
    /// assert!(o.sip_external_media());
    /// ```
    pub fn sip_external_media(&self) -> bool {
        self.flag(Param::SipExternalMedia)
    }
    /// `nf_conntrack_h323 gkrouted_only` (non-zero).
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(o.h323_gkrouted_only());
    /// o.set_assignment("h323.gkrouted_only=0").unwrap();
    /// assert!(!o.h323_gkrouted_only());
    /// ```
    pub fn h323_gkrouted_only(&self) -> bool {
        self.flag(Param::H323GkroutedOnly)
    }
    /// `nf_conntrack_h323 callforward_filter`.
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert!(o.h323_callforward_filter());
    /// o.set_assignment("h323.callforward_filter=N").unwrap();
    /// assert!(!o.h323_callforward_filter());
    /// ```
    pub fn h323_callforward_filter(&self) -> bool {
        self.flag(Param::H323CallforwardFilter)
    }
    /// `nf_conntrack_irc max_dcc_channels`.
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert_eq!(o.irc_max_dcc_channels(), 8);
    /// o.set_assignment("irc.max_dcc_channels=2").unwrap();
    /// assert_eq!(o.irc_max_dcc_channels(), 2);
    /// ```
    pub fn irc_max_dcc_channels(&self) -> u32 {
        self.uint(Param::IrcMaxDccChannels)
    }
    /// `nf_conntrack_irc dcc_timeout`.
    ///
    /// ```
    /// let mut o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert_eq!(o.irc_dcc_timeout(), 300);
    /// o.set_assignment("irc.dcc_timeout=0x3c").unwrap();
    /// assert_eq!(o.irc_dcc_timeout(), 60);
    /// ```
    pub fn irc_dcc_timeout(&self) -> u32 {
        self.uint(Param::IrcDccTimeout)
    }
    /// `nf_conntrack_netbios_ns timeout`.
    ///
    /// ```
    /// let o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert_eq!(o.netbios_ns_timeout(), 3);
    /// ```
    pub fn netbios_ns_timeout(&self) -> u32 {
        self.uint(Param::NetbiosNsTimeout)
    }
    /// `nf_conntrack_snmp timeout`.
    ///
    /// ```
    /// let o = netfilter_helpers_core::options::ModuleOptions::new();
    /// assert_eq!(o.snmp_timeout(), 30);
    /// ```
    pub fn snmp_timeout(&self) -> u32 {
        self.uint(Param::SnmpTimeout)
    }

    /// The `ports=` in force for a module (its default port when unset, empty for modules
    /// without `ports=`).
    ///
    /// ```
    /// use netfilter_helpers_core::{catalogue::Module, options::ModuleOptions};
    /// let o = ModuleOptions::new();
    /// assert_eq!(o.ports(Module::Tftp), vec![69]);
    /// assert!(o.ports(Module::Pptp).is_empty());
    /// ```
    pub fn ports(&self, module: Module) -> Vec<u16> {
        PARAMS
            .iter()
            .find(|s| s.module == module && s.kind == ParamKind::Ports)
            .map(|s| match self.get(s.param) {
                Value::Ports(p) => p,
                _ => Vec::new(),
            })
            .unwrap_or_default()
    }

    /// Every setting in force that enables a dangerous feature, with the reason.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, Param};
    /// let mut o = ModuleOptions::new();
    /// assert!(o.dangerous().is_empty());
    /// o.set_assignment("sip.sip_direct_media=0").unwrap();
    /// assert_eq!(o.dangerous()[0].0, Param::SipDirectMedia);
    /// ```
    pub fn dangerous(&self) -> Vec<(Param, &'static str)> {
        Param::all()
            .filter(|p| p.spec().removed_in.is_none())
            .filter_map(|p| p.danger_of(&self.get(p)).map(|why| (p, why)))
            .collect()
    }

    /// Renders the explicit settings as `modprobe.d` text: one `options` line per module, in
    /// a stable order. Parsing the result gives back equal options.
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("sip.sip_direct_media=0").unwrap();
    /// o.set_assignment("ftp.ports=21,2121").unwrap();
    /// assert_eq!(o.render_modprobe(), "options nf_conntrack_ftp ports=21,2121\noptions nf_conntrack_sip sip_direct_media=0\n");
    /// assert_eq!(ModuleOptions::from_modprobe(&o.render_modprobe()).options, o);
    /// ```
    pub fn render_modprobe(&self) -> String {
        let mut out = String::new();
        for module in Module::ALL {
            let items: Vec<String> = self
                .values
                .iter()
                .filter(|(p, _)| p.spec().module == module)
                .map(|(p, v)| format!("{}={}", p.spec().name, v))
                .collect();
            if !items.is_empty() {
                out.push_str("options ");
                out.push_str(module.name());
                for i in items {
                    out.push(' ');
                    out.push_str(&i);
                }
                out.push('\n');
            }
        }
        out
    }

    /// The writes that apply the explicit, run-time writable settings through `/sys`:
    /// `(path, value)` pairs. Load-time-only settings need `modprobe.d` and a module reload.
    ///
    /// ```
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("ftp.loose=0").unwrap();
    /// o.set_assignment("ftp.ports=21,2121").unwrap();
    /// assert_eq!(o.sysfs_writes(), vec![("/sys/module/nf_conntrack_ftp/parameters/loose".to_string(), "0".to_string())]);
    /// ```
    pub fn sysfs_writes(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .filter(|(p, _)| p.spec().writable && p.spec().removed_in.is_none())
            .map(|(p, v)| {
                let s = p.spec();
                (
                    format!("/sys/module/{}/parameters/{}", s.module.name(), s.name),
                    v.to_string(),
                )
            })
            .collect()
    }

    /// Parses `modprobe.d` text and validates every setting for conntrack modules.
    ///
    /// Comments (`#` at the start of a line), blank lines and `\` continuations are handled;
    /// values may be double-quoted. Every problem is reported, each with its line; invalid
    /// settings are skipped, valid ones are kept.
    ///
    /// ```
    /// use netfilter_helpers_core::options::{ModuleOptions, OptionCode};
    /// let text = "# site\noptions nf_conntrack_irc max_dcc_channels=300\noptions nf_conntrack_ftp lose=1\n";
    /// let r = ModuleOptions::from_modprobe(text);
    /// let codes: Vec<_> = r.findings.iter().map(|f| (f.line, f.code)).collect();
    /// assert_eq!(codes, [(Some(2), OptionCode::OutOfRange), (Some(3), OptionCode::UnknownParameter)]);
    /// assert!(r.findings[0].message.contains("accepted 1..=255"));
    /// ```
    pub fn from_modprobe(text: &str) -> OptionsReport {
        let mut report = OptionsReport::default();
        let mut seen: BTreeMap<Param, usize> = BTreeMap::new();
        for (line_no, logical) in logical_lines(text) {
            let words = match split_words(&logical) {
                Ok(w) => w,
                Err(reason) => {
                    report.findings.push(OptionFinding {
                        severity: Severity::Error,
                        code: OptionCode::MalformedLine,
                        line: Some(line_no),
                        module: None,
                        param: None,
                        value: None,
                        message: format!("{reason}: {}", truncate(&logical)),
                    });
                    continue;
                }
            };
            let Some(directive) = words.first() else {
                continue;
            };
            // Helper modules (and nf_conntrack itself) are ours; other nf_conntrack* modules
            // (nf_conntrack_netlink, the old per-family and protocol modules) are not, and any
            // other nf_conntrack_* name is most likely a misspelt helper module.
            let is_ours = |m: &str| {
                let m = m.replace('-', "_");
                m.starts_with("nf_conntrack") && !NOT_HELPER_MODULES.contains(&m.as_str())
            };
            match directive.as_str() {
                "options" => {
                    let Some(module_name) = words.get(1) else {
                        report.push_error(
                            line_no,
                            OptionError::Malformed {
                                text: truncate(&logical),
                                reason: "options needs a module name".into(),
                            },
                        );
                        continue;
                    };
                    if !is_ours(module_name) {
                        report.findings.push(OptionFinding {
                            severity: Severity::Info,
                            code: OptionCode::OtherModule,
                            line: Some(line_no),
                            module: Some(module_name.clone()),
                            param: None,
                            value: None,
                            message: format!(
                                "options for {module_name} not examined: not a conntrack helper module"
                            ),
                        });
                        continue;
                    }
                    let module: Module = match module_name.parse() {
                        Ok(m) => m,
                        Err(_) => {
                            report.push_error(
                                line_no,
                                OptionError::UnknownModule {
                                    module: module_name.clone(),
                                },
                            );
                            continue;
                        }
                    };
                    for word in &words[2..] {
                        report.apply_word(module, word, line_no, &mut seen);
                    }
                }
                "install" | "remove" | "blacklist" | "softdep" | "alias" | "softdeps" => {
                    let subject = words.get(1).cloned().unwrap_or_default();
                    let concerns_us = words[1..].iter().any(|w| is_ours(w));
                    if concerns_us {
                        report.findings.push(OptionFinding {
                            severity: Severity::Info,
                            code: OptionCode::OtherDirective,
                            line: Some(line_no),
                            module: Some(subject.clone()),
                            param: None,
                            value: None,
                            message: format!(
                                "{directive} {subject}: noted; only options lines change helper behaviour"
                            ),
                        });
                    }
                }
                other => {
                    report.findings.push(OptionFinding {
                        severity: Severity::Error,
                        code: OptionCode::MalformedLine,
                        line: Some(line_no),
                        module: None,
                        param: None,
                        value: None,
                        message: format!(
                            "unknown directive {other:?}: expected options, install, remove, blacklist, softdep or alias"
                        ),
                    });
                }
            }
        }
        report
    }
}

crate::spelling::spelling! {
    OptionCode {
        MalformedLine => "malformed-line",
        UnknownModule => "unknown-module",
        UnknownParameter => "unknown-parameter",
        InvalidValue => "invalid-value",
        OutOfRange => "out-of-range",
        TooManyValues => "too-many-values",
        DuplicatePort => "duplicate-port",
        MissingValue => "missing-value",
        DuplicateSetting => "duplicate-setting",
        DangerousOption => "dangerous-option",
        RemovedParameter => "removed-parameter",
        PortsRenameOnly => "ports-rename-only",
        OtherModule => "other-module",
        OtherDirective => "other-directive",
    }
}

crate::spelling::spelling! {
    Param {
        ConntrackHelper => "nf_conntrack.nf_conntrack_helper",
        AmandaMasterTimeout => "nf_conntrack_amanda.master_timeout",
        AmandaTsAlgo => "nf_conntrack_amanda.ts_algo",
        FtpPorts => "nf_conntrack_ftp.ports",
        FtpLoose => "nf_conntrack_ftp.loose",
        H323DefaultRrqTtl => "nf_conntrack_h323.default_rrq_ttl",
        H323GkroutedOnly => "nf_conntrack_h323.gkrouted_only",
        H323CallforwardFilter => "nf_conntrack_h323.callforward_filter",
        IrcPorts => "nf_conntrack_irc.ports",
        IrcMaxDccChannels => "nf_conntrack_irc.max_dcc_channels",
        IrcDccTimeout => "nf_conntrack_irc.dcc_timeout",
        NetbiosNsTimeout => "nf_conntrack_netbios_ns.timeout",
        SanePorts => "nf_conntrack_sane.ports",
        SipPorts => "nf_conntrack_sip.ports",
        SipTimeout => "nf_conntrack_sip.sip_timeout",
        SipDirectSignalling => "nf_conntrack_sip.sip_direct_signalling",
        SipDirectMedia => "nf_conntrack_sip.sip_direct_media",
        SipExternalMedia => "nf_conntrack_sip.sip_external_media",
        SnmpTimeout => "nf_conntrack_snmp.timeout",
        TftpPorts => "nf_conntrack_tftp.ports",
    }
}

crate::spelling::spelling! {
    ParamKind {
        Bool => "bool",
        Int => "int",
        Uint => "uint",
        Ports => "ports",
        Text => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_not_dangerous() {
        let o = ModuleOptions::new();
        for p in Param::all() {
            p.check(&p.default_value()).unwrap();
        }
        assert!(o.dangerous().is_empty());
        assert!(!o.ftp_loose());
        assert!(o.sip_direct_media() && o.sip_direct_signalling() && !o.sip_external_media());
        assert!(o.h323_gkrouted_only() && o.h323_callforward_filter());
        assert_eq!(o.irc_max_dcc_channels(), 8);
        assert_eq!(o.ports(Module::Pptp), Vec::<u16>::new());
    }

    #[test]
    fn kernel_number_syntax() {
        assert_eq!(kstrtoull("0x1f"), Some(31));
        assert_eq!(kstrtoull("017"), Some(15));
        assert_eq!(kstrtoull("0"), Some(0));
        assert_eq!(kstrtoull("+5"), Some(5));
        assert_eq!(kstrtoull("5\n"), Some(5));
        assert_eq!(kstrtoull("08"), None);
        assert_eq!(kstrtoull(""), None);
        assert_eq!(kstrtoull("-1"), None);
        assert_eq!(kstrtoll("-0x10"), Some(-16));
        assert_eq!(kstrtobool("off"), Some(false));
        assert_eq!(kstrtobool("on"), Some(true));
        assert_eq!(kstrtobool("o"), None);
        assert_eq!(kstrtobool("x"), None);
    }

    #[test]
    fn modprobe_reports_every_problem() {
        let text = "options nf_conntrack_ftp ports=21,21 loose=maybe\n\
                    options nf-conntrack-sip sip_direct_media=0 \\\n  ports=\"5060,5070\"\n\
                    options nf_conntrack_bogus x=1\n\
                    options nf_conntrack nf_conntrack_helper=1\n\
                    options snd_hda_intel power_save=1\n\
                    blacklist nf_conntrack_irc\n\
                    frobnicate\n\
                    options nf_conntrack_tftp ports\n\
                    options nf_conntrack_ftp loose=1 loose=0\n";
        let r = ModuleOptions::from_modprobe(text);
        let got: Vec<(Option<usize>, &str)> = r
            .findings
            .iter()
            .map(|f| (f.line, f.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Some(1), "duplicate-port"),
                (Some(1), "invalid-value"),
                (Some(2), "dangerous-option"),
                (Some(2), "ports-rename-only"),
                (Some(4), "unknown-module"),
                (Some(5), "removed-parameter"),
                (Some(6), "other-module"),
                (Some(7), "other-directive"),
                (Some(8), "malformed-line"),
                (Some(9), "missing-value"),
                (Some(10), "dangerous-option"),
                (Some(10), "duplicate-setting"),
            ]
        );
        assert!(!r.options.sip_direct_media());
        assert_eq!(r.options.ports(Module::Sip), vec![5060, 5070]);
        assert!(!r.options.ftp_loose(), "the last setting wins");
    }

    #[test]
    fn render_round_trips() {
        let mut o = ModuleOptions::new();
        o.set_assignment("ftp.loose=1").unwrap();
        o.set_assignment("sip.ports=5060,5061").unwrap();
        o.set_assignment("amanda.ts_algo=bm").unwrap();
        o.set_assignment("h323.callforward_filter=N").unwrap();
        let text = o.render_modprobe();
        let r = ModuleOptions::from_modprobe(&text);
        assert!(!r.has_errors(), "{:?}", r.findings);
        assert_eq!(r.options, o);
    }

    #[test]
    fn review_findings() {
        assert_eq!(kstrtoll("-+5"), None);
        assert_eq!(kstrtoll("+5"), Some(5));
        let e = Param::lookup_in(Module::Pptp, "ports")
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("(its parameters: it has none)"), "{e}");
        let r = ModuleOptions::from_modprobe(
            "options nf_conntrack_ipv4 x=1\noptions nf_conntrack_fpt loose=1\n",
        );
        let codes: Vec<_> = r.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, [OptionCode::OtherModule, OptionCode::UnknownModule]);
    }

    #[test]
    fn range_message_names_everything() {
        let e = Param::FtpPorts.parse_value("21,70000").unwrap_err();
        assert_eq!(
            e.to_string(),
            "nf_conntrack_ftp ports=70000: out of range, accepted 0..=65535"
        );
        let e = Param::lookup("nf_conntrack_ftp", "lose")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "nf_conntrack_ftp has no parameter \"lose\" (its parameters: ports, loose)"
        );
    }
}
