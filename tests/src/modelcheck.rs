//! Comparing the kernel's expectation table with the degree-of-freedom model's prediction,
//! line for line, in both text formats, and checking the validator on what the kernel made.
//!
//! [`assert_exact`] is the fidelity lab's oracle: the table of a namespace must be exactly the
//! predicted expectations (`/proc/net/nf_conntrack_expect` and `conntrack -L expect`, timeouts
//! aside), every kernel line parses back to a predicted value, every timeout lies within three
//! seconds below the predicted one, and [`validator_agrees`] holds.

use std::net::IpAddr;

use netfilter_helpers_core::catalogue::ExpectClass;
use netfilter_helpers_core::conform::Validator;
use netfilter_helpers_core::dof::{Announcement, ExpectationKind, Freedom, Master, rule};
use netfilter_helpers_core::expect::Expectation;
use netfilter_helpers_core::net::{Family as CoreFamily, L4Proto, full_mask, zero_addr};
use netfilter_helpers_core::options::{ModuleOptions, PARAMS};
use netfilter_helpers_core::parse::{Format, parse_line};

use crate::expect::{self, ExpectSnapshot};
use crate::netns::Netns;
use crate::scenarios::MasterTuple;
use crate::sysparam::read_param;

/// The module options the kernel has in force, read from `/sys/module/*/parameters`.
pub fn options_in_force() -> ModuleOptions {
    let mut o = ModuleOptions::new();
    for spec in &PARAMS {
        let module = spec.module.name();
        if let Ok(raw) = read_param(module, spec.name) {
            o.set_sysfs(module, spec.name, &raw)
                .unwrap_or_else(|e| panic!("/sys value of {module}.{}: {e}", spec.name));
        }
    }
    o
}

/// The model's view of a lab master connection, with the helper name the kernel prints.
pub fn master(helper: &str, m: &MasterTuple) -> Master {
    let l4 = match m.l4 {
        crate::netns::L4::Tcp => L4Proto::Tcp,
        crate::netns::L4::Udp => L4Proto::Udp,
    };
    Master::new(helper, m.client, m.server, l4).expect("master tuple")
}

/// One predicted expectation with the policy name `/proc` prints and the timeout the kernel
/// must show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predicted {
    /// The expectation.
    pub exp: Expectation,
    /// Its class (for the `/proc` policy name).
    pub class: ExpectClass,
    /// The timeout in seconds.
    pub timeout: u32,
}

/// What the model predicts for `ann` on `m` under the options in force, with the class
/// policy's timeout; empty (and the refusal printed) when it predicts none.
pub fn predict(kind: ExpectationKind, m: &Master, ann: Announcement) -> Vec<Predicted> {
    let o = options_in_force();
    let r = rule(kind, &o);
    match r.predict(m, &ann) {
        Ok(v) => v
            .into_iter()
            .map(|exp| Predicted {
                exp,
                class: r.class,
                timeout: r.policy.timeout_secs,
            })
            .collect(),
        Err(refusal) => {
            println!("model: {refusal}");
            Vec::new()
        }
    }
}

/// The model's refusal for `ann` on `m` (panics when it predicts expectations).
pub fn refusal(kind: ExpectationKind, m: &Master, ann: Announcement) -> String {
    match rule(kind, &options_in_force()).predict(m, &ann) {
        Ok(v) => panic!("the model predicts {v:#?} where a refusal was wanted"),
        Err(r) => r.reason,
    }
}

fn without_timeout(line: &str) -> String {
    match line.split_once(' ') {
        Some((_, rest)) => rest.trim_end().to_string(),
        None => line.to_string(),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Asserts that the expectation table of `ns` is exactly `predicted` (see the module docs),
/// each kernel timeout within 3 seconds below its prediction; returns the snapshot.
pub fn assert_exact(ns: &Netns, label: &str, predicted: &[Predicted]) -> ExpectSnapshot {
    assert_exact_slack(ns, label, predicted, 3)
}

/// [`assert_exact`] with `slack` seconds allowed between an expectation's creation and the
/// read (for scripts that check an accumulating table several times).
pub fn assert_exact_slack(
    ns: &Netns,
    label: &str,
    predicted: &[Predicted],
    slack: u32,
) -> ExpectSnapshot {
    let snap = expect::snapshot(ns, predicted.len()).unwrap_or_else(|e| panic!("{label}: {e}"));
    let proc_of =
        |p: &Predicted| without_timeout(&p.exp.to_proc_line(Some(0), p.class.policy_name()));
    let ct_of = |p: &Predicted| without_timeout(&p.exp.to_conntrack_line(Some(0)));
    let want_proc = sorted(predicted.iter().map(proc_of).collect());
    let want_ct = sorted(predicted.iter().map(ct_of).collect());
    let got_proc = sorted(snap.proc.iter().map(|l| without_timeout(l)).collect());
    let got_ct = sorted(snap.conntrack.iter().map(|l| without_timeout(l)).collect());
    assert_eq!(
        got_proc, want_proc,
        "{label}: /proc/net/nf_conntrack_expect differs from the model"
    );
    assert_eq!(
        got_ct, want_ct,
        "{label}: conntrack -L expect differs from the model"
    );
    let mut parsed: Vec<Expectation> = Vec::new();
    for line in snap.conntrack.iter().chain(snap.proc.iter()) {
        let p = parse_line(line.as_bytes()).unwrap_or_else(|e| panic!("{label}: {line}: {e}"));
        let t = p.timeout.expect("kernel lines carry a timeout");
        let text = without_timeout(line);
        let want = predicted
            .iter()
            .find(|q| match p.format {
                Format::Proc => proc_of(q) == text,
                Format::Conntrack => ct_of(q) == text,
            })
            .expect("every line equals a prediction (checked above)")
            .timeout;
        assert!(
            t <= want && t + slack >= want,
            "{label}: timeout {t} outside {}..={want}: {line}",
            want.saturating_sub(slack)
        );
        if p.format == Format::Conntrack {
            let mut e = p.expectation;
            if !p.master_l4_known
                && let (Some(m), Some(want)) = (e.master.as_mut(), predicted.first())
            {
                m.l4 = want.exp.master.expect("predicted master").l4;
            }
            parsed.push(e);
        }
    }
    for p in predicted {
        assert!(
            parsed.contains(&p.exp),
            "{label}: parsed kernel expectations {parsed:#?} lack the predicted {:#?}",
            p.exp
        );
    }
    assert_eq!(parsed.len(), predicted.len(), "{label}");
    validator_agrees(label, &snap);
    snap
}

/// Every expectation the kernel made conforms under the options in force, and mutated copies
/// (another endpoint, another protocol, a wildcard where the kernel pinned a value, a pinned
/// value where it left a wildcard) are flagged exactly when the model says the kernel could
/// not have made them.
pub fn validator_agrees(label: &str, snap: &ExpectSnapshot) {
    let options = options_in_force();
    let v = Validator::new(&options);
    for line in snap.proc.iter().chain(&snap.conntrack) {
        let parsed = parse_line(line.as_bytes()).unwrap();
        let verdict = v.check_line(&parsed);
        assert!(
            verdict.conforms(),
            "{label}: the kernel made it, yet the validator rejects {line}: {:#?}",
            verdict.findings
        );
    }
    for line in &snap.conntrack {
        let parsed = parse_line(line.as_bytes()).unwrap();
        let kind = v
            .check_line(&parsed)
            .kind
            .expect("a conforming line has a kind");
        let rule = rule(kind, &options);
        let e = parsed.expectation.clone();
        let family = e.family();
        let other: IpAddr = match family {
            CoreFamily::Ipv4 => "10.71.2.99".parse().unwrap(),
            CoreFamily::Ipv6 => "fd71:2::99".parse().unwrap(),
        };
        let mut mutants: Vec<(&str, Expectation, bool)> = Vec::new();
        let mut m = e.clone();
        m.dst = other;
        mutants.push((
            "destination moved to another host",
            m,
            rule.freedoms.dst_addr != Freedom::Payload,
        ));
        if e.src_mask == full_mask(family) {
            let mut m = e.clone();
            m.src = other;
            mutants.push(("source moved to another host", m, true));
            let mut m = e.clone();
            m.src = zero_addr(family);
            m.src_mask = zero_addr(family);
            mutants.push(("source wildcarded", m, true));
        } else if e.src_mask == zero_addr(family) {
            let mut m = e.clone();
            m.src = other;
            m.src_mask = full_mask(family);
            mutants.push(("source pinned", m, true));
        } else {
            let mut m = e.clone();
            m.src = other;
            mutants.push(("source network moved", m, true));
        }
        let mut m = e.clone();
        if e.sport_mask == 0 {
            m.sport = 1234;
            m.sport_mask = u16::MAX;
            mutants.push(("source port pinned", m, true));
        } else {
            m.sport = 0;
            m.sport_mask = 0;
            mutants.push(("source port wildcarded", m, true));
        }
        let mut m = e.clone();
        m.l4 = if e.l4 == L4Proto::Tcp {
            L4Proto::Udp
        } else {
            L4Proto::Tcp
        };
        let l4_known = rule.freedoms.l4 != Freedom::MasterProtocol || parsed.master_l4_known;
        mutants.push(("protocol changed", m, l4_known));
        if matches!(rule.freedoms.dst_port, Freedom::Master(_)) {
            let mut m = e.clone();
            m.dport = e.dport.wrapping_add(1);
            mutants.push(("destination port changed", m, true));
        }
        for (what, m, must_flag) in mutants {
            let verdict = v.check(&m);
            // A mutant the kernel could have made through *another* kind of the same helper
            // (an RRQ's Q.931 expectation moved to another host is what an ACF naming that
            // host makes) conforms as that kind.
            let other_kind = verdict.kind.is_some_and(|k| k != kind);
            assert!(
                verdict.conforms() != must_flag || (must_flag && other_kind),
                "{label}: {what} ({line}) -> {:?} {:#?}",
                verdict.kind,
                verdict.findings
            );
        }
    }
}

/// Whether a new connection `src`:`sport` → `dst`:`dport` over `l4` matches expectation `e`
/// (the kernel's masked tuple comparison: source address and port under the masks,
/// destination exact).
pub fn admits(
    e: &Expectation,
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    l4: L4Proto,
) -> bool {
    let masked = |a: IpAddr, m: IpAddr| match (a, m) {
        (IpAddr::V4(a), IpAddr::V4(m)) => u128::from(u32::from(a) & u32::from(m)),
        (IpAddr::V6(a), IpAddr::V6(m)) => u128::from(a) & u128::from(m),
        _ => u128::MAX,
    };
    masked(src, e.src_mask) == masked(e.src, e.src_mask)
        && sport & e.sport_mask == e.sport & e.sport_mask
        && dst == e.dst
        && dport == e.dport
        && l4 == e.l4
}
