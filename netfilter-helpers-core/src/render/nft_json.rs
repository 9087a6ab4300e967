//! libnftables JSON (`nft -j -f`), the same ruleset as the nft script.
//!
//! Written directly as text, one command per line: every string in the ruleset was validated
//! to contain no character JSON would need to escape ([`crate::net::IfName`],
//! [`crate::net::RuleName`], helper names), and numbers and addresses never do.

use std::fmt::Write as _;

use crate::ir::{ChainKind, Match, Rule, Ruleset, Target};
use crate::net::Cidr;
use crate::net::{Family, L4Proto};

use super::nft::{chain_name, hook, l4, priority as prio, proto_and_ports};

fn eq(out: &mut String, left: &str, right: &str) {
    let _ = write!(
        out,
        r#"{{"match":{{"op":"==","left":{left},"right":{right}}}}},"#
    );
}

fn prefix(out: &mut String, c: &Cidr) {
    let _ = write!(
        out,
        r#"{{"prefix":{{"addr":"{}","len":{}}}}}"#,
        c.addr(),
        c.prefix()
    );
}

fn addrs(list: &[Cidr]) -> String {
    let mut s = String::with_capacity(48 * list.len() + 16);
    if list.len() == 1 {
        prefix(&mut s, &list[0]);
    } else {
        s.push_str(r#"{"set":["#);
        for (i, c) in list.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            prefix(&mut s, c);
        }
        s.push_str("]}");
    }
    s
}

fn exprs(rs: &Ruleset, rule: &Rule, out: &mut String) {
    let ip = match rule.family {
        Some(Family::Ipv6) => "ip6",
        _ => "ip",
    };
    if let Some(f) = rule.family {
        let fam = match f {
            Family::Ipv4 => r#""ipv4""#,
            Family::Ipv6 => r#""ipv6""#,
        };
        eq(out, r#"{"meta":{"key":"nfproto"}}"#, fam);
    }
    let (proto, has_port) = proto_and_ports(rule);
    let port = |field: &str| {
        format!(
            r#"{{"payload":{{"protocol":"{}","field":"{field}"}}}}"#,
            l4(proto.unwrap_or(L4Proto::Tcp))
        )
    };
    for m in &rule.matches {
        match m {
            Match::InIface(i) => eq(out, r#"{"meta":{"key":"iifname"}}"#, &format!("\"{i}\"")),
            Match::InIfacePrefix(i) => {
                eq(out, r#"{"meta":{"key":"iifname"}}"#, &format!("\"{i}*\""))
            }
            Match::DstNotGroup => match rule.family {
                Some(Family::Ipv6) => out.push_str(
                    r#"{"match":{"op":"!=","left":{"payload":{"protocol":"ip6","field":"daddr"}},"right":{"prefix":{"addr":"ff00::","len":8}}}},"#,
                ),
                _ => out.push_str(
                    r#"{"match":{"op":"!=","left":{"fib":{"result":"type","flags":["daddr"]}},"right":{"set":["broadcast","multicast"]}}},"#,
                ),
            },
            Match::Limit(n) => {
                if matches!(rule.target, Target::Log(_)) {
                    out.push_str(r#"{"counter":null},"#);
                }
                let _ = write!(
                    out,
                    r#"{{"limit":{{"rate":{n},"per":"minute","burst":5}}}},"#
                );
            }
            Match::Src(l) => eq(
                out,
                &format!(r#"{{"payload":{{"protocol":"{ip}","field":"saddr"}}}}"#),
                &addrs(l),
            ),
            Match::Dst(l) => eq(
                out,
                &format!(r#"{{"payload":{{"protocol":"{ip}","field":"daddr"}}}}"#),
                &addrs(l),
            ),
            Match::Proto(p) => {
                if !has_port {
                    eq(
                        out,
                        r#"{"meta":{"key":"l4proto"}}"#,
                        &format!("\"{}\"", l4(*p)),
                    );
                }
            }
            Match::Sport(p) => eq(out, &port("sport"), &p.to_string()),
            Match::Dport(p) => eq(out, &port("dport"), &p.to_string()),
            Match::Dports(l) => {
                let items: Vec<String> = l.iter().map(u16::to_string).collect();
                eq(
                    out,
                    &port("dport"),
                    &format!(r#"{{"set":[{}]}}"#, items.join(",")),
                );
            }
            Match::DportFrom(p) => eq(out, &port("dport"), &format!(r#"{{"range":[{p},65535]}}"#)),
            Match::Icmp => eq(
                out,
                r#"{"meta":{"key":"l4proto"}}"#,
                match rule.family {
                    Some(Family::Ipv4) => r#""icmp""#,
                    Some(Family::Ipv6) => r#""ipv6-icmp""#,
                    None => r#"{"set":["icmp","ipv6-icmp"]}"#,
                },
            ),
            Match::Icmpv6Type(t) => eq(
                out,
                r#"{"payload":{"protocol":"icmpv6","field":"type"}}"#,
                &t.to_string(),
            ),
            Match::Helper(creator) => {
                eq(out, r#"{"ct":{"key":"helper"}}"#, &format!("\"{creator}\""))
            }
            Match::RpfilterFails { loose, mark } => {
                let mut flags = vec!["\"saddr\""];
                if *mark {
                    flags.push("\"mark\"");
                }
                if !*loose {
                    flags.push("\"iif\"");
                }
                eq(
                    out,
                    &format!(r#"{{"fib":{{"result":"oif","flags":[{}]}}}}"#, flags.join(",")),
                    "false",
                )
            }
        }
    }
    match &rule.target {
        Target::Drop => out.push_str(r#"{"counter":null},{"drop":null}"#),
        Target::Log(p) => {
            let _ = write!(out, r#"{{"log":{{"prefix":"{p} "}}}}"#);
        }
        Target::Return => out.push_str(r#"{"return":null}"#),
        Target::CtHelper(h) => {
            let obj = rs
                .helpers
                .iter()
                .find(|o| o.helper == *h && Some(o.l4) == proto)
                .or_else(|| rs.helpers.iter().find(|o| o.helper == *h));
            let name = match obj {
                Some(o) => o.object_name(),
                None => format!("missing-object-{h}"),
            };
            let _ = write!(out, r#"{{"ct helper":"{name}"}}"#);
        }
    }
}

/// The JSON document for `nft -j -f`; loading it replaces the table.
pub(super) fn json(rs: &Ruleset) -> String {
    let t = rs.table.as_str();
    let mut s = String::with_capacity(512 * rs.rule_count() + 4096);
    s.push_str("{\"nftables\": [\n{\"metainfo\":{\"json_schema_version\":1}}");
    let table = format!(r#"{{"table":{{"family":"inet","name":"{t}"}}}}"#);
    let _ = write!(
        s,
        ",\n{{\"add\":{table}}},\n{{\"delete\":{table}}},\n{{\"add\":{table}}}"
    );
    for o in &rs.helpers {
        let _ = write!(
            s,
            r#",
{{"add":{{"ct helper":{{"family":"inet","table":"{t}","name":"{}","type":"{}","protocol":"{}","l3proto":"inet"}}}}}}"#,
            o.object_name(),
            o.helper,
            o.l4.name()
        );
    }
    for chain in &rs.chains {
        let (h, p) = hook(chain.kind);
        let name = chain_name(chain.kind);
        let _ = write!(
            s,
            r#",
{{"add":{{"chain":{{"family":"inet","table":"{t}","name":"{name}","type":"filter","hook":"{h}","prio":{},"policy":"accept"}}}}}}"#,
            prio(p)
        );
        if matches!(
            chain.kind,
            ChainKind::RelatedForward | ChainKind::RelatedInput | ChainKind::RelatedOutput
        ) {
            let _ = write!(
                s,
                r#",
{{"add":{{"rule":{{"family":"inet","table":"{t}","chain":"{name}","expr":[{{"match":{{"op":"!=","left":{{"ct":{{"key":"state"}}}},"right":"related"}}}},{{"return":null}}]}}}}}}"#
            );
        }
        for rule in &chain.rules {
            let _ = write!(
                s,
                r#",
{{"add":{{"rule":{{"family":"inet","table":"{t}","chain":"{name}","expr":["#
            );
            exprs(rs, rule, &mut s);
            s.push(']');
            if let Some(c) = &rule.comment {
                let _ = write!(s, r#","comment":"{c}""#);
            }
            s.push_str("}}}");
        }
    }
    s.push_str("\n]}\n");
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn output_is_valid_json() {
        let site = crate::site::Site::from_toml(
            "[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n[[interfaces]]\nname = \"eth1\"\nnetworks = [\"10.0.0.1/24\", \"10.0.9.0/24\"]\n[[services]]\nname = \"f\"\nhelper = \"ftp\"\ndirection = \"inbound\"\nservers = [\"10.0.0.5\"]\n",
        )
        .unwrap()
        .validate()
        .unwrap();
        let text = super::json(&crate::synth::synthesize(&site));
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let cmds = v["nftables"].as_array().unwrap();
        assert_eq!(cmds[0]["metainfo"]["json_schema_version"], 1);
        assert!(cmds.iter().any(|c| c["add"]["ct helper"]["type"] == "ftp"));
    }
}
