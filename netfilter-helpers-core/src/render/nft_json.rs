//! libnftables JSON (`nft -j -f`), the same ruleset as the nft script.

use serde_json::{Value, json};

use crate::catalogue::{Family, L4Proto};
use crate::ir::{ChainKind, Match, Rule, Ruleset, Target};
use crate::policy::Cidr;

use super::nft::{chain_name, hook, l4};

fn prio(name: &str) -> i32 {
    match name {
        "raw" => -300,
        _ => 0,
    }
}

fn eq(left: Value, right: Value) -> Value {
    json!({"match": {"op": "==", "left": left, "right": right}})
}

fn prefix(c: &Cidr) -> Value {
    json!({"prefix": {"addr": c.addr().to_string(), "len": c.prefix()}})
}

fn addrs(list: &[Cidr]) -> Value {
    if list.len() == 1 {
        prefix(&list[0])
    } else {
        json!({"set": list.iter().map(prefix).collect::<Vec<_>>()})
    }
}

fn exprs(rs: &Ruleset, rule: &Rule) -> Vec<Value> {
    let mut e = Vec::new();
    let ip = match rule.family {
        Some(Family::Ipv6) => "ip6",
        _ => "ip",
    };
    if let Some(f) = rule.family {
        e.push(eq(
            json!({"meta": {"key": "nfproto"}}),
            json!(match f {
                Family::Ipv4 => "ipv4",
                Family::Ipv6 => "ipv6",
            }),
        ));
    }
    let proto = rule.matches.iter().find_map(|m| match m {
        Match::Proto(p) => Some(*p),
        _ => None,
    });
    let has_port = rule.matches.iter().any(|m| {
        matches!(
            m,
            Match::Sport(_)
                | Match::Dport(_)
                | Match::Dports(_)
                | Match::DportFrom(_)
                | Match::Icmpv6Type(_)
        )
    });
    let port = |field: &str| json!({"payload": {"protocol": l4(proto.unwrap_or(L4Proto::Tcp)), "field": field}});
    for m in &rule.matches {
        match m {
            Match::InIface(i) => e.push(eq(json!({"meta": {"key": "iifname"}}), json!(i.as_str()))),
            Match::Src(l) => e.push(eq(
                json!({"payload": {"protocol": ip, "field": "saddr"}}),
                addrs(l),
            )),
            Match::Dst(l) => e.push(eq(
                json!({"payload": {"protocol": ip, "field": "daddr"}}),
                addrs(l),
            )),
            Match::Proto(p) => {
                if !has_port {
                    e.push(eq(json!({"meta": {"key": "l4proto"}}), json!(l4(*p))));
                }
            }
            Match::Sport(p) => e.push(eq(port("sport"), json!(p))),
            Match::Dport(p) => e.push(eq(port("dport"), json!(p))),
            Match::Dports(l) => e.push(eq(port("dport"), json!({"set": l}))),
            Match::DportFrom(p) => e.push(eq(port("dport"), json!({"range": [p, 65535]}))),
            Match::Icmp => e.push(eq(
                json!({"meta": {"key": "l4proto"}}),
                match rule.family {
                    Some(Family::Ipv4) => json!("icmp"),
                    Some(Family::Ipv6) => json!("ipv6-icmp"),
                    None => json!({"set": ["icmp", "ipv6-icmp"]}),
                },
            )),
            Match::Icmpv6Type(t) => e.push(eq(
                json!({"payload": {"protocol": "icmpv6", "field": "type"}}),
                json!(t),
            )),
            Match::Helper { assigned, .. } => {
                let mark = rs.mark_of(assigned).unwrap_or(0);
                e.push(eq(
                    json!({"&": [{"ct": {"key": "mark"}}, rs.mark_mask]}),
                    json!(mark),
                ));
            }
            Match::RpfilterFails => e.push(eq(
                json!({"fib": {"result": "oif", "flags": ["saddr", "iif"]}}),
                json!(false),
            )),
        }
    }
    match &rule.target {
        Target::Accept => e.push(json!({"accept": null})),
        Target::Drop => e.push(json!({"drop": null})),
        Target::Return => e.push(json!({"return": null})),
        Target::CtHelper(h) => {
            let obj = rs
                .helpers
                .iter()
                .find(|o| o.helper == *h && Some(o.l4) == proto)
                .or_else(|| rs.helpers.iter().find(|o| o.helper == *h));
            if let Some(o) = obj {
                e.push(json!({"ct helper": o.object_name()}));
                e.push(json!({"mangle": {
                    "key": {"ct": {"key": "mark"}},
                    "value": {"|": [{"&": [{"ct": {"key": "mark"}}, !rs.mark_mask]}, o.mark]}
                }}));
            }
        }
    }
    e
}

/// The JSON document for `nft -j -f`; loading it replaces the table.
pub(super) fn json(rs: &Ruleset) -> String {
    let t = rs.table.as_str();
    let mut cmds = vec![
        json!({"metainfo": {"json_schema_version": 1}}),
        json!({"add": {"table": {"family": "inet", "name": t}}}),
        json!({"delete": {"table": {"family": "inet", "name": t}}}),
        json!({"add": {"table": {"family": "inet", "name": t}}}),
    ];
    for o in &rs.helpers {
        cmds.push(json!({"add": {"ct helper": {
            "family": "inet", "table": t, "name": o.object_name(),
            "type": o.helper.to_string(), "protocol": o.l4.name(), "l3proto": "inet"
        }}}));
    }
    for chain in &rs.chains {
        let (h, p) = hook(chain.kind);
        let name = chain_name(chain.kind);
        cmds.push(json!({"add": {"chain": {
            "family": "inet", "table": t, "name": name,
            "type": "filter", "hook": h, "prio": prio(p), "policy": "accept"
        }}}));
        if matches!(
            chain.kind,
            ChainKind::RelatedForward | ChainKind::RelatedInput | ChainKind::RelatedOutput
        ) {
            cmds.push(json!({"add": {"rule": {
                "family": "inet", "table": t, "chain": name,
                "expr": [
                    {"match": {"op": "!=", "left": {"ct": {"key": "state"}}, "right": "related"}},
                    {"accept": null}
                ]
            }}}));
        }
        for rule in &chain.rules {
            let mut r = json!({
                "family": "inet", "table": t, "chain": name, "expr": exprs(rs, rule)
            });
            if let Some(c) = &rule.comment {
                r["comment"] = json!(c.as_str());
            }
            cmds.push(json!({"add": {"rule": r}}));
        }
    }
    let mut s = serde_json::to_string_pretty(&json!({"nftables": cmds})).unwrap_or_default();
    s.push('\n');
    s
}
