//! Tolerant reader of `nft -j list ruleset` (libnftables JSON schema version 1).
//!
//! Tables, chains (hook, priority, policy), rules (conditions and verdicts, with their text
//! rebuilt in nft syntax), and `ct helper` objects are decoded. Everything else, known
//! (`set`, `map`, `ct timeout`, `counter`, `flowtable`, ...) or not, is kept out of the way:
//! unknown items become a [`ReadNote`], never a failure. Rules made by iptables-nft carry
//! `xt` expressions, whose matches nft cannot show: they are flagged, to be read with
//! `iptables-nft-save` instead.
//!
//! ```
//! use netfilter_helpers_core::ruleset::{nft_json, Action, Cond, Hook};
//!
//! let rs = nft_json::read(r#"{"nftables": [
//!   {"table": {"family": "inet", "name": "fw", "handle": 1}},
//!   {"chain": {"family": "inet", "table": "fw", "name": "fwd", "handle": 1, "type": "filter",
//!              "hook": "forward", "prio": 0, "policy": "drop"}},
//!   {"rule": {"family": "inet", "table": "fw", "chain": "fwd", "handle": 2, "expr": [
//!     {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}},
//!     {"accept": null}]}},
//!   {"frobnicator": {"family": "inet"}}
//! ]}"#).unwrap();
//! let c = &rs.chains[0];
//! assert_eq!((c.hook, c.priority, c.policy.clone()), (Some(Hook::Forward), Some(0), Some(Action::Drop)));
//! assert_eq!(c.rules[0].text, "ct state { established, related } accept");
//! assert_eq!(rs.notes.len(), 1);
//! ```

use std::fmt;

use serde_json::Value;

use super::{
    Action, Chain, Cond, CtHelperObject, Hook, Location, Origin, ReadNote, Rule, Ruleset, escape,
};

/// Why a text is not an nft JSON ruleset at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftJsonError {
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for NftJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an `nft -j list ruleset` document: {}", self.message)
    }
}

impl std::error::Error for NftJsonError {}

/// Items nft prints that the audit does not need; they are skipped without a note.
const KNOWN_SKIPPED: &[&str] = &[
    "metainfo",
    "set",
    "map",
    "element",
    "ct timeout",
    "ct expectation",
    "counter",
    "quota",
    "limit",
    "secmark",
    "synproxy",
    "flowtable",
    "tunnel",
];

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Reads `nft -j list ruleset` output.
///
/// # Errors
/// Only when the text is not JSON or has no `nftables` array; anything inside that array
/// the reader does not know is a note.
pub fn read(text: &str) -> Result<Ruleset, NftJsonError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| NftJsonError {
        message: e.to_string(),
    })?;
    let items = doc
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or_else(|| NftJsonError {
            message: "no top-level \"nftables\" array".into(),
        })?;
    let mut rs = Ruleset::default();
    // (family, table, chain) -> index in rs.chains.
    let mut index: std::collections::HashMap<(String, String, String), usize> =
        std::collections::HashMap::new();
    for (n, item) in items.iter().enumerate() {
        // The command form (`nft -j -f`, what `nfh render --backend nft-json` prints):
        // `{"add": {"rule": ...}}` is read as the item it adds; deletions are skipped.
        let item = match item.as_object().and_then(|o| o.iter().next()) {
            Some((k, inner)) if matches!(k.as_str(), "add" | "create" | "insert") => inner,
            Some((k, _)) if matches!(k.as_str(), "delete" | "flush" | "destroy") => continue,
            _ => item,
        };
        let Some((kind, body)) = item.as_object().and_then(|o| o.iter().next()) else {
            rs.notes.push(ReadNote {
                place: format!("item {n}"),
                message: "not an object, ignored".into(),
                xt: false,
            });
            continue;
        };
        match kind.as_str() {
            "table" => {}
            "chain" => {
                let key = (
                    s(body, "family").to_string(),
                    s(body, "table").to_string(),
                    s(body, "name").to_string(),
                );
                let hook = body
                    .get("hook")
                    .and_then(Value::as_str)
                    .and_then(Hook::parse);
                let chain = Chain {
                    origin: Origin::Nft,
                    family: key.0.clone(),
                    table: key.1.clone(),
                    name: key.2.clone(),
                    hook,
                    priority: body
                        .get("prio")
                        .and_then(Value::as_i64)
                        .and_then(|p| i32::try_from(p).ok()),
                    policy: match body.get("policy").and_then(Value::as_str) {
                        Some("accept") => Some(Action::Accept),
                        Some("drop") => Some(Action::Drop),
                        _ if hook.is_some() => Some(Action::Accept),
                        _ => None,
                    },
                    rules: Vec::new(),
                };
                match index.get(&key) {
                    Some(&i) => {
                        let rules = std::mem::take(&mut rs.chains[i].rules);
                        rs.chains[i] = Chain { rules, ..chain };
                    }
                    None => {
                        index.insert(key, rs.chains.len());
                        rs.chains.push(chain);
                    }
                }
            }
            "rule" => {
                let key = (
                    s(body, "family").to_string(),
                    s(body, "table").to_string(),
                    s(body, "chain").to_string(),
                );
                let i = *index.entry(key.clone()).or_insert_with(|| {
                    rs.chains.push(Chain {
                        origin: Origin::Nft,
                        family: key.0.clone(),
                        table: key.1.clone(),
                        name: key.2.clone(),
                        hook: None,
                        priority: None,
                        policy: None,
                        rules: Vec::new(),
                    });
                    rs.chains.len() - 1
                });
                let c = &mut rs.chains[i];
                let location = Location {
                    origin: Origin::Nft,
                    family: key.0.clone(),
                    table: key.1.clone(),
                    chain: key.2.clone(),
                    index: c.rules.len() + 1,
                    handle: body.get("handle").and_then(Value::as_u64),
                    line: None,
                };
                let rule = decode_rule(body, location);
                if rule.xt {
                    rs.notes.push(ReadNote {
                        place: rule.location.to_string(),
                        message: format!(
                            "iptables-nft rule shown as opaque xt expressions ({}): read it with iptables-nft-save",
                            escape(&rule.text)
                        ),
                        xt: true,
                    });
                }
                c.rules.push(rule);
            }
            "ct helper" => rs.helper_objects.push(CtHelperObject {
                family: s(body, "family").into(),
                table: s(body, "table").into(),
                name: s(body, "name").into(),
                helper: s(body, "type").into(),
                protocol: s(body, "protocol").into(),
                l3proto: s(body, "l3proto").into(),
            }),
            k if KNOWN_SKIPPED.contains(&k) => {}
            k => rs.notes.push(ReadNote {
                place: format!("item {n}"),
                message: format!("unknown item {:?} kept opaque", escape(k)),
                xt: false,
            }),
        }
    }
    Ok(rs)
}

fn decode_rule(body: &Value, location: Location) -> Rule {
    let mut conds = Vec::new();
    let mut action = Action::Continue;
    let mut xt = false;
    let mut text = Vec::new();
    let exprs = body
        .get("expr")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for e in exprs {
        let Some((k, v)) = e.as_object().and_then(|o| o.iter().next()) else {
            text.push(format!("{e}"));
            continue;
        };
        match k.as_str() {
            "match" => {
                let t = match_text(v);
                decode_match(v, &t, &mut conds);
                text.push(t);
            }
            "accept" => set(&mut action, Action::Accept, &mut text, "accept"),
            "drop" => set(&mut action, Action::Drop, &mut text, "drop"),
            "return" => set(&mut action, Action::Return, &mut text, "return"),
            "reject" => set(&mut action, Action::Reject, &mut text, "reject"),
            "jump" | "goto" => {
                let t = s(v, "target").to_string();
                let a = if k == "jump" {
                    Action::Jump(t.clone())
                } else {
                    Action::Goto(t.clone())
                };
                set(&mut action, a, &mut text, &format!("{k} {t}"));
            }
            "ct helper" => {
                let name = v.as_str().unwrap_or("").to_string();
                text.push(format!("ct helper set {name:?}"));
                action = Action::SetHelper(name);
            }
            "notrack" => set(&mut action, Action::Notrack, &mut text, "notrack"),
            "vmap" => {
                let is_state = v
                    .get("key")
                    .and_then(|k| k.get("ct"))
                    .map(|c| s(c, "key") == "state")
                    .unwrap_or(false);
                let entries: Vec<(String, Action)> = v
                    .get("data")
                    .and_then(|d| d.get("set"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|pair| {
                                let p = pair.as_array()?;
                                let key = value_text(p.first()?);
                                let verdict = verdict_of(p.get(1)?);
                                Some((key, verdict))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let t = format!(
                    "{} vmap {{ {} }}",
                    v.get("key").map(value_text).unwrap_or_default(),
                    entries
                        .iter()
                        .map(|(k, a)| format!("{k} : {}", action_text(a)))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                action = if is_state {
                    Action::StateMap(entries)
                } else {
                    Action::Opaque(t.clone())
                };
                text.push(t);
            }
            "xt" => {
                xt = true;
                let kind = s(v, "type");
                let name = s(v, "name");
                text.push(format!("xt {kind} {name:?}"));
                if kind == "target" {
                    action = Action::Opaque(format!("xt target {name}"));
                } else {
                    conds.push(Cond::Opaque {
                        text: format!("xt match {name}"),
                    });
                }
            }
            "counter" => text.push("counter".into()),
            "log" | "limit" | "mangle" | "meta" | "ct timeout" | "ct expectation" | "quota"
            | "set" | "nat" | "snat" | "dnat" | "masquerade" | "redirect" => {
                text.push(k.clone());
            }
            other => {
                text.push(other.to_string());
                if matches!(other, "queue" | "fwd" | "dup") {
                    action = Action::Opaque(other.to_string());
                }
            }
        }
    }
    let mut text = text.join(" ");
    if let Some(c) = body.get("comment").and_then(Value::as_str) {
        text.push_str(&format!(" comment {c:?}"));
    }
    Rule {
        location,
        text,
        conds,
        action,
        xt,
    }
}

fn set(action: &mut Action, a: Action, text: &mut Vec<String>, t: &str) {
    *action = a;
    text.push(t.to_string());
}

fn verdict_of(v: &Value) -> Action {
    let Some((k, body)) = v.as_object().and_then(|o| o.iter().next()) else {
        return Action::Opaque(value_text(v));
    };
    match k.as_str() {
        "accept" => Action::Accept,
        "drop" => Action::Drop,
        "return" => Action::Return,
        "jump" => Action::Jump(s(body, "target").into()),
        "goto" => Action::Goto(s(body, "target").into()),
        _ => Action::Opaque(value_text(v)),
    }
}

fn action_text(a: &Action) -> String {
    match a {
        Action::Accept => "accept".into(),
        Action::Drop => "drop".into(),
        Action::Return => "return".into(),
        Action::Jump(t) => format!("jump {t}"),
        Action::Goto(t) => format!("goto {t}"),
        Action::Opaque(t) => t.clone(),
        other => format!("{other:?}"),
    }
}

/// The nft text of an expression (left or right side of a match).
fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => (if *b { "exists" } else { "missing" }).into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:/@".contains(c))
            {
                s.clone()
            } else {
                format!("{s:?}")
            }
        }
        Value::Array(a) => format!(
            "{{ {} }}",
            a.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => {
            let Some((k, b)) = o.iter().next() else {
                return "{}".into();
            };
            match k.as_str() {
                "payload" => {
                    let p = s(b, "protocol");
                    if p.is_empty() {
                        format!("@{},{},{}", s(b, "base"), b["offset"], b["len"])
                    } else {
                        format!("{p} {}", s(b, "field"))
                    }
                }
                "meta" => format!("meta {}", s(b, "key")),
                "ct" => {
                    let mut t = "ct".to_string();
                    if let Some(d) = b.get("dir").and_then(Value::as_str) {
                        t.push_str(&format!(" {d}"));
                    }
                    t.push_str(&format!(" {}", s(b, "key")));
                    t
                }
                "fib" => format!(
                    "fib {} {}",
                    b.get("flags")
                        .and_then(Value::as_array)
                        .map(|f| f.iter().map(value_text).collect::<Vec<_>>().join(" . "))
                        .unwrap_or_default(),
                    s(b, "result")
                ),
                "set" => match b {
                    Value::Array(a) => format!(
                        "{{ {} }}",
                        a.iter().map(value_text).collect::<Vec<_>>().join(", ")
                    ),
                    other => value_text(other),
                },
                "prefix" => format!("{}/{}", value_text(&b["addr"]), b["len"]),
                "range" => match b.as_array().map(Vec::as_slice) {
                    Some([a, z]) => format!("{}-{}", value_text(a), value_text(z)),
                    _ => format!("range {b}"),
                },
                "concat" => b
                    .as_array()
                    .map(|a| a.iter().map(value_text).collect::<Vec<_>>().join(" . "))
                    .unwrap_or_default(),
                other => format!("{other} {b}"),
            }
        }
    }
}

fn match_text(m: &Value) -> String {
    let left = m.get("left").map(value_text).unwrap_or_default();
    let right = m.get("right").map(value_text).unwrap_or_default();
    let op = s(m, "op");
    // nft's shorthands: `meta iifname` is `iifname`, `meta l4proto` stays.
    let left = match left.as_str() {
        "meta iifname" | "meta oifname" | "meta iif" | "meta oif" => left[5..].to_string(),
        _ => left,
    };
    match op {
        "==" | "in" | "" => format!("{left} {right}"),
        op => format!("{left} {op} {right}"),
    }
}

/// Strings of a right-hand side: a string, an array or `{"set": [...]}`.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(o) => o.get("set").map(strings).unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn ports(v: &Value) -> Vec<(u16, u16)> {
    let one = |n: &Value| n.as_u64().and_then(|n| u16::try_from(n).ok());
    match v {
        Value::Number(_) => one(v).map(|p| vec![(p, p)]).unwrap_or_default(),
        Value::Array(a) => a.iter().flat_map(ports).collect(),
        Value::Object(o) => {
            if let Some(s) = o.get("set") {
                ports(s)
            } else if let Some(Value::Array(r)) = o.get("range") {
                match (r.first().and_then(one), r.get(1).and_then(one)) {
                    (Some(a), Some(b)) => vec![(a, b)],
                    _ => Vec::new(),
                }
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

fn decode_match(m: &Value, text: &str, conds: &mut Vec<Cond>) {
    let op = s(m, "op");
    let negated = op == "!=";
    let left = m.get("left").unwrap_or(&Value::Null);
    let right = m.get("right").unwrap_or(&Value::Null);
    let opaque = || Cond::Opaque { text: text.into() };
    if let Some(ct) = left.get("ct") {
        match s(ct, "key") {
            "state" => conds.push(Cond::CtState {
                states: strings(right),
                negated,
            }),
            "helper" => {
                let names = strings(right);
                conds.push(Cond::CtHelper {
                    name: names.join(","),
                    negated,
                })
            }
            "saddr" | "ip saddr" | "ip6 saddr" => conds.push(Cond::Saddr { negated }),
            "daddr" | "ip daddr" | "ip6 daddr" => conds.push(Cond::Daddr { negated }),
            _ => conds.push(opaque()),
        }
    } else if let Some(meta) = left.get("meta") {
        match s(meta, "key") {
            "iifname" | "iif" => conds.push(Cond::Iif {
                names: strings(right),
                negated,
            }),
            "oifname" | "oif" => conds.push(Cond::Oif {
                names: strings(right),
                negated,
            }),
            "l4proto" => {
                let p = strings(right);
                if p.len() == 1 {
                    conds.push(Cond::Proto {
                        proto: p[0].clone(),
                        negated,
                    })
                } else {
                    conds.push(opaque())
                }
            }
            "nfproto" => match (strings(right).as_slice(), negated) {
                ([f], false) => conds.push(Cond::NfProto { family: f.clone() }),
                _ => conds.push(opaque()),
            },
            _ => conds.push(opaque()),
        }
    } else if let Some(p) = left.get("payload") {
        let proto = s(p, "protocol");
        match (proto, s(p, "field")) {
            ("ip" | "ip6", "saddr") => conds.push(Cond::Saddr { negated }),
            ("ip" | "ip6", "daddr") => conds.push(Cond::Daddr { negated }),
            ("ip", "protocol") | ("ip6", "nexthdr") => match strings(right).as_slice() {
                [p] => conds.push(Cond::Proto {
                    proto: p.clone(),
                    negated,
                }),
                _ => conds.push(opaque()),
            },
            ("tcp" | "udp" | "sctp" | "dccp" | "udplite", field) => {
                conds.push(Cond::Proto {
                    proto: proto.into(),
                    negated: false,
                });
                match field {
                    "dport" => conds.push(Cond::Dport {
                        ports: ports(right),
                        negated,
                    }),
                    "sport" => conds.push(Cond::Sport { negated }),
                    _ => conds.push(opaque()),
                }
            }
            _ => conds.push(opaque()),
        }
    } else if let Some(fib) = left.get("fib") {
        let flags = strings(fib.get("flags").unwrap_or(&Value::Null));
        if s(fib, "result") == "oif" && flags.iter().any(|f| f == "saddr") {
            // `oif missing` (false) matches packets failing the check.
            let missing = right == &Value::Bool(false) || right.as_u64() == Some(0);
            conds.push(Cond::RpFilter {
                fails: missing != negated,
            });
        } else {
            conds.push(opaque());
        }
    } else {
        conds.push(opaque());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_json_is_an_error_items_are_not() {
        assert!(read("nope").is_err());
        assert!(read("{}").is_err());
        let rs =
            read(r#"{"nftables": [1, {"rule": {"expr": [{"weird": 1}, 7]}}, {"ct timeout": {}}]}"#)
                .unwrap();
        assert_eq!(rs.notes.len(), 1);
        assert_eq!(rs.chains[0].rules[0].conds, []);
        assert_eq!(rs.chains[0].rules[0].action, Action::Continue);
    }

    #[test]
    fn xt_rules_are_flagged() {
        let rs = read(r#"{"nftables": [{"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 5,
            "expr": [{"xt": {"type": "match", "name": "conntrack"}}, {"counter": {"packets": 0, "bytes": 0}}, {"accept": null}]}}]}"#).unwrap();
        assert!(rs.chains[0].rules[0].xt);
        assert_eq!(rs.notes.len(), 1);
        assert!(
            rs.notes[0].message.contains("iptables-nft-save"),
            "{}",
            rs.notes[0].message
        );
        assert!(rs.notes[0].place.starts_with("nft ip filter "));
    }
}
