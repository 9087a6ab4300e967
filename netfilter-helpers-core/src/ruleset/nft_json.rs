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
//! use netfilter_helpers_core::ruleset::{nft_json, Action, ChainType, Cond, Hook};
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
//! assert_eq!(c.chain_type, Some(ChainType::Filter));
//! assert_eq!(c.rules[0].text, "ct state { established, related } accept");
//! assert_eq!(rs.notes.len(), 1);
//! ```

use std::fmt;

use super::json::{J, NULL};

use super::{
    Action, Chain, ChainType, Cond, CtHelperObject, Hook, Location, Origin, ReadNote, Rule,
    Ruleset, escape,
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

fn s<'a>(v: &'a J<'_>, k: &str) -> &'a str {
    v.get(k).and_then(J::as_str).unwrap_or("")
}

/// Reads `nft -j list ruleset` output.
///
/// # Errors
/// Only when the text is not JSON or has no `nftables` array; anything inside that array
/// the reader does not know is a note.
pub fn read(text: &str) -> Result<Ruleset, NftJsonError> {
    let doc: J<'_> = serde_json::from_str(text).map_err(|e| NftJsonError {
        message: e.to_string(),
    })?;
    let items = doc
        .get("nftables")
        .and_then(J::as_array)
        .ok_or_else(|| NftJsonError {
            message: "no top-level \"nftables\" array".into(),
        })?;
    let mut rs = Ruleset::default();
    // (family, table, chain) -> index in rs.chains.
    let mut index: std::collections::HashMap<(String, String, String), usize> =
        std::collections::HashMap::new();
    let mut last: Option<usize> = None;
    // Named verdict maps (nft lists them before the rules that use them): (family, table,
    // name) -> elements.
    let mut maps: Maps = std::collections::HashMap::new();
    // Named address sets, listed before the rules too: (family, table, name) -> elements,
    // normalised as an address match's.
    let mut sets: Sets = std::collections::HashMap::new();
    for (n, item) in items.iter().enumerate() {
        // The command form (`nft -j -f`, what `nfh render --backend nft-json` prints):
        // `{"add": {"rule": ...}}` is read as the item it adds; deletions are skipped.
        let item = match item.entry() {
            Some(("add" | "create" | "insert", inner)) => inner,
            Some(("delete" | "flush" | "destroy", _)) => continue,
            _ => item,
        };
        let Some((kind, body)) = item.entry() else {
            rs.notes.push(ReadNote {
                place: format!("item {n}"),
                message: "not an object, ignored".into(),
                xt: false,
            });
            continue;
        };
        match kind {
            "table" => {}
            "chain" => {
                let key = (
                    s(body, "family").to_string(),
                    s(body, "table").to_string(),
                    s(body, "name").to_string(),
                );
                let hook = body.get("hook").and_then(J::as_str).and_then(Hook::parse);
                let chain = Chain {
                    origin: Origin::Nft,
                    family: key.0.clone(),
                    table: key.1.clone(),
                    name: key.2.clone(),
                    hook,
                    chain_type: body
                        .get("type")
                        .and_then(J::as_str)
                        .and_then(ChainType::parse)
                        .filter(|_| hook.is_some()),
                    priority: body
                        .get("prio")
                        .and_then(J::as_i64)
                        .and_then(|p| i32::try_from(p).ok()),
                    policy: match body.get("policy").and_then(J::as_str) {
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
                let (fam, table, chain) = (s(body, "family"), s(body, "table"), s(body, "chain"));
                let same = |c: &Chain| c.family == fam && c.table == table && c.name == chain;
                let key = (fam.to_string(), table.to_string(), chain.to_string());
                // Rules come chain by chain: most need no lookup.
                let i = match last {
                    Some(i) if same(&rs.chains[i]) => i,
                    _ => *index.entry(key.clone()).or_insert_with(|| {
                        rs.chains.push(Chain {
                            origin: Origin::Nft,
                            family: key.0.clone(),
                            table: key.1.clone(),
                            name: key.2.clone(),
                            hook: None,
                            chain_type: None,
                            priority: None,
                            policy: None,
                            rules: Vec::new(),
                        });
                        rs.chains.len() - 1
                    }),
                };
                last = Some(i);
                let c = &mut rs.chains[i];
                let location = Location {
                    origin: Origin::Nft,
                    family: key.0.clone(),
                    table: key.1.clone(),
                    chain: key.2.clone(),
                    index: c.rules.len() + 1,
                    handle: body.get("handle").and_then(J::as_u64),
                    line: None,
                };
                let rule = decode_rule(body, location, &maps, &sets);
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
            "map" if s(body, "map") == "verdict" => {
                let elems = body
                    .get("elem")
                    .and_then(J::as_array)
                    .map(|a| verdict_entries(a))
                    .unwrap_or_default();
                maps.insert(
                    (
                        s(body, "family").to_string(),
                        s(body, "table").to_string(),
                        s(body, "name").to_string(),
                    ),
                    elems,
                );
            }
            "set" if matches!(s(body, "type"), "ipv4_addr" | "ipv6_addr") => {
                let elems = body.get("elem").map(addresses).unwrap_or_default();
                sets.insert(
                    (
                        s(body, "family").to_string(),
                        s(body, "table").to_string(),
                        s(body, "name").to_string(),
                    ),
                    elems,
                );
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

/// Named verdict maps by (family, table, name).
type Maps = std::collections::HashMap<(String, String, String), Vec<(String, Action)>>;

/// Named address sets by (family, table, name): their elements as [`addresses`] gives them.
type Sets = std::collections::HashMap<(String, String, String), Vec<String>>;

/// Replaces `@name` in address matches by the named set's elements, when the set is known:
/// a set holding `0.0.0.0/0` restricts nothing, as that prefix written out would not.
/// (The contents are those at the time of listing; a set updated later may differ.)
fn resolve_sets(conds: &mut [Cond], family: &str, table: &str, sets: &Sets) {
    for c in conds {
        let (Cond::Saddr { values, .. } | Cond::Daddr { values, .. }) = c else {
            continue;
        };
        if !values.iter().any(|v| v.starts_with('@')) {
            continue;
        }
        let mut out = Vec::new();
        for v in values.iter() {
            match v
                .strip_prefix('@')
                .and_then(|n| sets.get(&(family.to_string(), table.to_string(), n.to_string())))
            {
                Some(elems) => out.extend(elems.iter().cloned()),
                None => out.push(v.clone()),
            }
        }
        *values = super::address_values(out);
    }
}

/// `[[key, verdict], ...]` as (key text, verdict) pairs.
fn verdict_entries(a: &[J<'_>]) -> Vec<(String, Action)> {
    a.iter()
        .filter_map(|pair| {
            let p = pair.as_array()?;
            let key = value_text(p.first()?);
            let verdict = verdict_of(p.get(1)?);
            Some((key, verdict))
        })
        .collect()
}

fn decode_rule(body: &J<'_>, location: Location, maps: &Maps, sets: &Sets) -> Rule {
    let mut conds = Vec::new();
    let mut action = Action::Continue;
    let mut xt = false;
    let mut text = Vec::new();
    let exprs = body.get("expr").and_then(J::as_array).unwrap_or(&[]);
    for e in exprs {
        let Some((k, v)) = e.entry() else {
            text.push(format!("{e}"));
            continue;
        };
        match k {
            "match" => {
                let t = match_text(v);
                decode_match(v, &t, &mut conds);
                // In an inet (or bridge, netdev) table, `ip daddr`/`ip6 saddr` match only
                // that family: nft adds the `meta nfproto` dependency and hides it when
                // listing. Say so, as `meta nfproto` would.
                if !matches!(location.family.as_str(), "ip" | "ip6")
                    && let Some(p) = v.get("left").and_then(|l| l.get("payload"))
                {
                    match s(p, "protocol") {
                        "ip" => conds.push(Cond::NfProto {
                            family: "ipv4".into(),
                        }),
                        "ip6" => conds.push(Cond::NfProto {
                            family: "ipv6".into(),
                        }),
                        _ => {}
                    }
                }
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
                let key = v.get("key").map(value_text).unwrap_or_default();
                let named = v
                    .get("data")
                    .and_then(J::as_str)
                    .and_then(|d| d.strip_prefix('@'));
                let (entries, t) = match named {
                    Some(name) => (
                        maps.get(&(
                            location.family.clone(),
                            location.table.clone(),
                            name.to_string(),
                        ))
                        .cloned(),
                        format!("{key} vmap @{name}"),
                    ),
                    None => {
                        let entries = v
                            .get("data")
                            .and_then(|d| d.get("set"))
                            .and_then(J::as_array)
                            .map(|a| verdict_entries(a))
                            .unwrap_or_default();
                        let t = format!(
                            "{key} vmap {{ {} }}",
                            entries
                                .iter()
                                .map(|(k, a)| format!("{k} : {}", action_text(a)))
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                        (Some(entries), t)
                    }
                };
                action = match entries {
                    Some(entries) if is_state => Action::StateMap(entries),
                    Some(entries) => Action::VerdictMap { key, entries },
                    None => Action::Opaque(t.clone()),
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
                text.push(k.to_string());
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
    if let Some(c) = body.get("comment").and_then(J::as_str) {
        text.push_str(&format!(" comment {c:?}"));
    }
    resolve_sets(&mut conds, s(body, "family"), s(body, "table"), sets);
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

fn verdict_of(v: &J<'_>) -> Action {
    let Some((k, body)) = v.entry() else {
        return Action::Opaque(value_text(v));
    };
    match k {
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
fn value_text(v: &J<'_>) -> String {
    let list = |a: &[J<'_>], sep: &str| a.iter().map(value_text).collect::<Vec<_>>().join(sep);
    match v {
        J::Null => "null".into(),
        J::Bool(b) => (if *b { "exists" } else { "missing" }).into(),
        J::Num(n) => n.to_string(),
        J::Str(s) => {
            if s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:/@".contains(c))
            {
                s.to_string()
            } else {
                format!("{:?}", s.as_ref())
            }
        }
        J::Arr(a) => format!("{{ {} }}", list(a, ", ")),
        J::Obj(_) => {
            let Some((k, b)) = v.entry() else {
                return "{}".into();
            };
            let field = |name: &str| b.get(name).map(value_text).unwrap_or_default();
            match k {
                "payload" => {
                    let p = s(b, "protocol");
                    if p.is_empty() {
                        format!("@{},{},{}", s(b, "base"), field("offset"), field("len"))
                    } else {
                        format!("{p} {}", s(b, "field"))
                    }
                }
                "meta" => format!("meta {}", s(b, "key")),
                "ct" => {
                    let mut t = "ct".to_string();
                    if let Some(d) = b.get("dir").and_then(J::as_str) {
                        t.push_str(&format!(" {d}"));
                    }
                    t.push_str(&format!(" {}", s(b, "key")));
                    t
                }
                "fib" => format!(
                    "fib {} {}",
                    b.get("flags")
                        .and_then(J::as_array)
                        .map(|f| list(f, " . "))
                        .unwrap_or_default(),
                    s(b, "result")
                ),
                "set" => match b {
                    J::Arr(a) => format!("{{ {} }}", list(a, ", ")),
                    other => value_text(other),
                },
                "prefix" => format!("{}/{}", field("addr"), field("len")),
                "range" => match b.as_array() {
                    Some([a, z]) => format!("{}-{}", value_text(a), value_text(z)),
                    _ => format!("range {b}"),
                },
                "concat" => b.as_array().map(|a| list(a, " . ")).unwrap_or_default(),
                other => format!("{other} {b}"),
            }
        }
    }
}

fn match_text(m: &J<'_>) -> String {
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
fn strings(v: &J<'_>) -> Vec<String> {
    match v {
        J::Str(s) => vec![s.to_string()],
        J::Arr(a) => a.iter().flat_map(strings).collect(),
        J::Obj(_) => v.get("set").map(strings).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The addresses on the right of an address match: an address, `{"prefix": {"addr", "len"}}`,
/// `{"range": [a, b]}`, an anonymous set of those, or a named set `"@name"`; normalised by
/// [`super::address_values`].
fn addresses(v: &J<'_>) -> Vec<String> {
    fn items(v: &J<'_>, out: &mut Vec<String>) {
        match v {
            J::Str(s) => out.push(s.to_string()),
            J::Arr(a) => a.iter().for_each(|x| items(x, out)),
            J::Obj(_) => {
                if let Some(set) = v.get("set") {
                    items(set, out);
                } else if let Some(p) = v.get("prefix") {
                    let addr = p.get("addr").and_then(J::as_str).unwrap_or("");
                    let len = p.get("len").and_then(J::as_u64).unwrap_or(0);
                    out.push(format!("{addr}/{len}"));
                } else if let Some(J::Arr(r)) = v.get("range") {
                    let a = r.first().and_then(J::as_str).unwrap_or("");
                    let b = r.get(1).and_then(J::as_str).unwrap_or("");
                    out.push(format!("{a}-{b}"));
                } else if let Some(e) = v.get("elem") {
                    items(e.get("val").unwrap_or(e), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    items(v, &mut out);
    super::address_values(out)
}

fn ports(v: &J<'_>) -> Vec<(u16, u16)> {
    let one = |n: &J<'_>| n.as_u64().and_then(|n| u16::try_from(n).ok());
    match v {
        J::Num(_) => one(v).map(|p| vec![(p, p)]).unwrap_or_default(),
        J::Arr(a) => a.iter().flat_map(ports).collect(),
        J::Obj(_) => {
            if let Some(s) = v.get("set") {
                ports(s)
            } else if let Some(J::Arr(r)) = v.get("range") {
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

fn decode_match(m: &J<'_>, text: &str, conds: &mut Vec<Cond>) {
    let op = s(m, "op");
    let negated = op == "!=";
    let left = m.get("left").unwrap_or(&NULL);
    let right = m.get("right").unwrap_or(&NULL);
    let opaque = || Cond::Opaque { text: text.into() };
    if let Some(ct) = left.get("ct") {
        match s(ct, "key") {
            "state" => conds.push(Cond::CtState {
                states: strings(right),
                negated,
            }),
            "status" => conds.push(Cond::CtStatus {
                statuses: strings(right),
                negated,
            }),
            "helper" => {
                let names = strings(right);
                conds.push(Cond::CtHelper {
                    name: names.join(","),
                    negated,
                })
            }
            "saddr" | "ip saddr" | "ip6 saddr" => conds.push(Cond::Saddr {
                values: addresses(right),
                negated,
            }),
            "daddr" | "ip daddr" | "ip6 daddr" => conds.push(Cond::Daddr {
                values: addresses(right),
                negated,
            }),
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
            ("ip" | "ip6", "saddr") => conds.push(Cond::Saddr {
                values: addresses(right),
                negated,
            }),
            ("ip" | "ip6", "daddr") => conds.push(Cond::Daddr {
                values: addresses(right),
                negated,
            }),
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
        let flags = strings(fib.get("flags").unwrap_or(&NULL));
        if s(fib, "result") == "oif" && flags.iter().any(|f| f == "saddr") {
            // `oif missing` (false) matches packets failing the check.
            let missing = matches!(right, J::Bool(false)) || right.as_u64() == Some(0);
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
