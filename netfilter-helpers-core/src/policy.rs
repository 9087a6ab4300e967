//! Site policy for RELATED flows: per helper, which destination and source networks the
//! expected connections may use, a port floor, whether third parties are allowed, and which
//! expectation classes. Written in TOML or JSON.
//!
//! ```
//! use netfilter_helpers_core::policy::SitePolicy;
//! use netfilter_helpers_core::parse::parse_line;
//!
//! let policy = SitePolicy::from_toml(r#"
//!     default = "deny"
//!     [helpers.ftp]
//!     destinations = ["10.71.1.0/24"]
//!     min_port = 1024
//!     [helpers.sip]
//!     destinations = ["203.0.113.0/24"]
//!     classes = ["audio"]
//! "#).unwrap();
//! let line = parse_line(b"299 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=55446 dport=21 class=0 helper=ftp").unwrap();
//! assert!(policy.check(&line.expectation).is_empty());
//! let low = parse_line(b"299 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=80 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=55446 dport=21 class=0 helper=ftp").unwrap();
//! assert_eq!(policy.check(&low.expectation)[0].code.as_str(), "policy-port");
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalogue::{ExpectClass, Helper, HelperName};
use crate::conform::{Code, Finding, Sink, is_master_endpoint};
use crate::expect::Expectation;
use crate::net::Cidr;
use crate::net::{apply_mask, full_mask, zero_addr};
use crate::report::Problem;

/// What the policy does with helpers it does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultRule {
    /// Expectations of unlisted helpers are findings.
    #[default]
    Deny,
    /// Expectations of unlisted helpers are not judged by the policy.
    Allow,
}

/// The policy for one helper's RELATED flows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HelperPolicy {
    /// Networks the expected connection may go to (the FTP servers, the phones); `None`: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<Cidr>>,
    /// Networks the expected connection may come from (the provider's RTP farm); `None`: any.
    /// A wildcard source only passes a list that contains `0.0.0.0/0` or `::/0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<Cidr>>,
    /// Lowest destination port allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_port: Option<u16>,
    /// Whether the destination may be a host that is neither end of the master connection.
    #[serde(default)]
    pub allow_third_party: bool,
    /// Expectation classes allowed (SIP: signalling, audio, video, image); `None`: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<ExpectClass>>,
}

/// A site policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SitePolicy {
    /// What to do with helpers not listed.
    #[serde(default)]
    pub default: DefaultRule,
    /// Per-helper policies, keyed by base helper name (`ftp`, `sip`, `RAS`); they apply to
    /// every registration of the helper (`ftp-2121`, `sip-1`).
    #[serde(default)]
    pub helpers: BTreeMap<Helper, HelperPolicy>,
}

/// Every problem found in a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("invalid policy: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct PolicyError {
    /// Whether the text did not parse (TOML/JSON syntax or types), rather than parsed into
    /// a policy that is invalid.
    pub syntax: bool,
    /// The problems, in document order.
    pub problems: Vec<Problem>,
}

impl SitePolicy {
    /// Reads a policy from TOML text and validates it.
    pub fn from_toml(text: &str) -> Result<SitePolicy, PolicyError> {
        let p: SitePolicy = toml::from_str(text).map_err(|e| PolicyError {
            syntax: true,
            problems: vec![crate::doc::toml_problem(text, &e, "policy")],
        })?;
        p.validate()?;
        Ok(p)
    }

    /// Reads a policy from JSON text and validates it.
    ///
    /// ```
    /// use netfilter_helpers_core::policy::SitePolicy;
    /// let p = SitePolicy::from_json(r#"{"helpers": {"ftp": {"destinations": ["192.0.2.10"]}}}"#).unwrap();
    /// assert_eq!(p.helpers.len(), 1);
    /// let e = SitePolicy::from_json(r#"{"helpers": {"fpt": {}}}"#).unwrap_err();
    /// assert!(e.to_string().contains("fpt"));
    /// ```
    pub fn from_json(text: &str) -> Result<SitePolicy, PolicyError> {
        let p: SitePolicy = serde_json::from_str(text).map_err(|e| PolicyError {
            syntax: true,
            problems: vec![Problem {
                path: format!("line {}, column {}", e.line(), e.column()),
                message: e.to_string(),
            }],
        })?;
        p.validate()?;
        Ok(p)
    }

    /// Checks what serde cannot: every problem, each with its path.
    ///
    /// ```
    /// use netfilter_helpers_core::policy::{HelperPolicy, SitePolicy};
    /// use netfilter_helpers_core::catalogue::{ExpectClass, Helper};
    /// let mut p = SitePolicy::default();
    /// let mut ftp = HelperPolicy::default();
    /// ftp.classes = Some(vec![ExpectClass::Audio]);
    /// ftp.destinations = Some(vec![]);
    /// p.helpers.insert(Helper::Ftp, ftp);
    /// let e = p.validate().unwrap_err();
    /// assert_eq!(e.problems.len(), 2);
    /// assert_eq!(e.problems[0].path, "helpers.ftp.destinations");
    /// ```
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.validate_inner()
    }

    /// Reads a policy in either format ([`crate::doc::detect_format`]).
    ///
    /// ```
    /// use netfilter_helpers_core::policy::SitePolicy;
    /// let p = SitePolicy::from_text(Some("p.json"), r#"{"helpers": {"irc": {"min_port": 6000}}}"#).unwrap();
    /// assert!(SitePolicy::from_text(None, "[helpers.irc]\nmin_port = 6000\n").unwrap() == p);
    /// ```
    pub fn from_text(name: Option<&str>, text: &str) -> Result<SitePolicy, PolicyError> {
        match crate::doc::detect_format(name, text) {
            crate::doc::DocFormat::Json => SitePolicy::from_json(text),
            crate::doc::DocFormat::Toml => SitePolicy::from_toml(text),
        }
    }

    fn validate_inner(&self) -> Result<(), PolicyError> {
        let mut problems = Vec::new();
        for (helper, hp) in &self.helpers {
            let base = format!("helpers.{helper}");
            for (field, list) in [("destinations", &hp.destinations), ("sources", &hp.sources)] {
                if let Some(list) = list {
                    if list.is_empty() {
                        problems.push(Problem {
                            path: format!("{base}.{field}"),
                            message:
                                "an empty list allows nothing: remove the helper or list networks"
                                    .into(),
                        });
                    }
                    for (i, c) in list.iter().enumerate() {
                        if !helper.info().supports(c.family()) && *helper != Helper::H245 {
                            problems.push(Problem {
                                path: format!("{base}.{field}[{i}]"),
                                message: format!("{c} is {} but {helper} is IPv4 only", c.family()),
                            });
                        }
                        if list[..i].contains(c) {
                            problems.push(Problem {
                                path: format!("{base}.{field}[{i}]"),
                                message: format!("{c} is listed twice"),
                            });
                        }
                    }
                }
            }
            if let Some(classes) = &hp.classes {
                for (i, c) in classes.iter().enumerate() {
                    if helper.info().class(*c).is_none() {
                        problems.push(Problem {
                            path: format!("{base}.classes[{i}]"),
                            message: format!(
                                "{helper} has no class {c} (its classes: {})",
                                helper
                                    .info()
                                    .classes
                                    .iter()
                                    .map(|p| p.class.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        });
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(PolicyError {
                syntax: false,
                problems,
            })
        }
    }

    /// Renders the policy as TOML.
    ///
    /// ```
    /// use netfilter_helpers_core::policy::SitePolicy;
    /// let p = SitePolicy::from_toml("[helpers.ftp]\nmin_port = 1024\n").unwrap();
    /// assert_eq!(SitePolicy::from_toml(&p.to_toml()).unwrap(), p);
    /// ```
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// The policy findings for one expectation (empty when the policy allows it).
    pub fn check(&self, exp: &Expectation) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.judge(
            exp,
            &mut Sink {
                findings: Some(&mut findings),
                failures: 0,
            },
        );
        findings
    }

    /// Whether the policy allows an expectation (what `check(..).is_empty()` says), without
    /// building findings: no allocation.
    ///
    /// ```
    /// use netfilter_helpers_core::policy::SitePolicy;
    /// use netfilter_helpers_core::parse::parse_line;
    /// let p = SitePolicy::from_toml("[helpers.irc]\nmin_port = 6000\n").unwrap();
    /// let l = parse_line(b"299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc").unwrap();
    /// assert!(!p.allows(&l.expectation));
    /// ```
    pub fn allows(&self, exp: &Expectation) -> bool {
        let mut sink = Sink {
            findings: None,
            failures: 0,
        };
        self.judge(exp, &mut sink);
        sink.failures == 0
    }

    fn judge(&self, exp: &Expectation, out: &mut Sink<'_>) {
        let Some(name) = exp.helper.as_deref() else {
            if self.default == DefaultRule::Deny {
                out.fail(Code::PolicyHelper, None, || {
                    "an expectation without a helper is not allowed by the policy".into()
                });
            }
            return;
        };
        let helper = name.parse::<HelperName>().ok().map(|n| n.helper);
        let Some(hp) = helper.and_then(|h| self.helpers.get(&h)) else {
            if self.default == DefaultRule::Deny {
                out.fail(Code::PolicyHelper, None, || {
                    format!("the policy allows no RELATED flows for helper {name}")
                });
            }
            return;
        };
        let helper = helper.expect("policy found by helper");
        if let Some(classes) = &hp.classes {
            let class = ExpectClass::from_number(helper, exp.class).ok();
            if !class.is_some_and(|c| classes.contains(&c)) {
                out.fail(Code::PolicyClass, None, || {
                    format!(
                        "class {} of {name} is not among the allowed classes {}",
                        class.map_or_else(|| exp.class.to_string(), |c| c.to_string()),
                        classes
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            }
        }
        if let Some(dsts) = &hp.destinations
            && !dsts.iter().any(|c| c.contains(exp.dst))
        {
            out.fail(Code::PolicyDestination, None, || {
                format!(
                    "destination {} is outside the networks allowed for {name}: {}",
                    exp.dst,
                    list(dsts)
                )
            });
        }
        if let Some(srcs) = &hp.sources {
            let family = exp.family();
            let ok = if exp.src_mask == full_mask(family) {
                srcs.iter().any(|c| c.contains(exp.src))
            } else {
                srcs.iter()
                    .any(|c| c.contains_masked(exp.src, exp.src_mask))
            };
            if !ok {
                let what = if exp.src_mask == zero_addr(family) {
                    "any source (wildcard)".to_string()
                } else if exp.src_mask == full_mask(family) {
                    format!("source {}", exp.src)
                } else {
                    format!(
                        "sources {}/{}",
                        apply_mask(exp.src, exp.src_mask),
                        exp.src_mask
                    )
                };
                out.fail(Code::PolicySource, None, || {
                    format!(
                        "{what} is outside the networks allowed for {name}: {}",
                        list(srcs)
                    )
                });
            }
        }
        if let Some(floor) = hp.min_port
            && exp.dport < floor
        {
            out.fail(Code::PolicyPort, None, || {
                format!(
                    "destination port {} is below the floor {floor} set for {name}",
                    exp.dport
                )
            });
        }
        if !hp.allow_third_party
            && let Some(m) = &exp.master
            && !is_master_endpoint(m, exp.dst)
        {
            out.fail(
                Code::PolicyThirdParty, None, || format!(
                    "destination {} is neither end of the master connection ({} and {}) and third parties are not allowed for {name}",
                    exp.dst, m.src, m.dst
                ));
        }
    }
}

fn list(c: &[Cidr]) -> String {
    c.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

crate::spelling::spelling! {
    DefaultRule {
        Deny => "deny",
        Allow => "allow",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_line;

    fn exp(line: &str) -> Expectation {
        parse_line(line.as_bytes()).unwrap().expectation
    }

    #[test]
    fn toml_errors_name_the_place() {
        let e = SitePolicy::from_toml("[helpers.ftp]\ndestinations = [\"10.0.0.300/8\"]\n")
            .unwrap_err();
        assert_eq!(e.problems[0].path, "line 2, column 16");
        assert!(e.problems[0].message.contains("10.0.0.300/8"), "{e}");
        let e = SitePolicy::from_toml("[helpers.ftp]\ndestination = []\n").unwrap_err();
        assert!(
            e.problems[0]
                .message
                .contains("unknown field `destination`"),
            "{e}"
        );
        let e = SitePolicy::from_toml("[helpers.irc]\ndestinations = [\"2001:db8::/32\", \"10.0.0.0/8\", \"10.0.0.0/8\"]\nsources = [\"10.1.1.1/8\"]\n").unwrap_err();
        let paths: Vec<_> = e.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["line 3, column 11"], "{e}");
        assert!(
            e.problems[0]
                .message
                .contains("did you mean 10.0.0.0/8 or 10.1.1.1/32"),
            "{e}"
        );
        let e = SitePolicy::from_toml("[helpers.irc]\ndestinations = [\"2001:db8::/32\", \"10.0.0.0/8\", \"10.0.0.0/8\"]\nclasses = [\"audio\"]\n").unwrap_err();
        let paths: Vec<_> = e.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "helpers.irc.destinations[0]",
                "helpers.irc.destinations[2]",
                "helpers.irc.classes[0]"
            ],
            "{e}"
        );
    }

    #[test]
    fn findings() {
        let p = SitePolicy::from_toml(
            "[helpers.sip]\nsources = [\"203.0.113.0/24\"]\ndestinations = [\"10.71.0.0/16\"]\n[helpers.irc]\n",
        )
        .unwrap();
        let wild = exp(
            "179 proto=17 src=0.0.0.0 dst=10.71.2.3 sport=0 dport=49200 mask-src=0.0.0.0 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=5060 dport=5060 class=1 helper=sip",
        );
        let codes: Vec<_> = p.check(&wild).iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::PolicySource, Code::PolicyThirdParty]);
        let ftp = exp(
            "299 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=55446 dport=21 class=0 helper=ftp-2121",
        );
        assert_eq!(p.check(&ftp)[0].code, Code::PolicyHelper);
        let irc = exp(
            "299 proto=6 src=0.0.0.0 dst=10.71.1.2 sport=0 dport=50010 mask-src=0.0.0.0 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=44340 dport=6667 class=0 helper=irc",
        );
        assert!(p.check(&irc).is_empty());
        let allow = SitePolicy {
            default: DefaultRule::Allow,
            ..SitePolicy::default()
        };
        assert!(allow.check(&ftp).is_empty());
    }
}
