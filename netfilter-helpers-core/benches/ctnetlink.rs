//! Decode and judge one million recorded ctnetlink expectation messages on one core
//! (`cargo bench -p netfilter-helpers-core --bench ctnetlink`).
//!
//! Target: decoding and judging at 2 million messages per second or more. The messages are
//! what the kernel sends (`ctnetlink_exp_dump_expect` layout, made by the core's encoder): FTP,
//! SIP, IRC, TFTP, PPTP (GRE keys), IPv4 and IPv6, NEW and DESTROY events, packed into
//! datagrams of up to 16 KiB as a dump or an event socket delivers them. One message in eight
//! breaks the site policy (an FTP data connection to a third party).

use std::hint::black_box;
use std::time::{Duration, Instant};

use netfilter_helpers_core::ctnetlink::{self, ExpectMessage, Message, MessageKind};
use netfilter_helpers_core::expect::{Expectation, Tuple};
use netfilter_helpers_core::judge::Judge;
use netfilter_helpers_core::net::L4Proto;
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_core::policy::SitePolicy;

const MESSAGES: usize = 1_000_000;
const RUNS: usize = 5;
const DATAGRAM: usize = 16 * 1024;

fn message(i: usize, r: u32) -> ExpectMessage {
    let (a, b) = ((r >> 8) & 0xff, (r >> 16) & 0xff);
    let port = 1024 + (r % 60000) as u16;
    let cport = 1024 + ((r >> 3) % 60000) as u16;
    let v4 = |s: String| -> std::net::IpAddr { s.parse().expect("address") };
    let (exp, master) = match i % 8 {
        // FTP PORT, the client's own address.
        0 => (
            Expectation::new(
                Some(v4(format!("10.{b}.{a}.7"))),
                None,
                v4(format!("10.{a}.{b}.2")),
                port,
                L4Proto::Tcp,
            ),
            Tuple::new(
                v4(format!("10.{a}.{b}.2")),
                cport,
                v4(format!("10.{b}.{a}.7")),
                21,
                L4Proto::Tcp,
            ),
        ),
        // FTP PORT naming a third party (the policy refuses it).
        1 => (
            Expectation::new(
                Some(v4(format!("10.{b}.{a}.7"))),
                None,
                v4(format!("198.51.100.{a}")),
                port,
                L4Proto::Tcp,
            ),
            Tuple::new(
                v4(format!("10.{a}.{b}.2")),
                cport,
                v4(format!("10.{b}.{a}.7")),
                21,
                L4Proto::Tcp,
            ),
        ),
        // SIP media.
        2 => (
            Expectation::new(
                Some(v4(format!("203.0.{a}.5"))),
                None,
                v4(format!("10.{b}.0.10")),
                port & !1,
                L4Proto::Udp,
            ),
            Tuple::new(
                v4(format!("10.{b}.0.10")),
                5060,
                v4(format!("203.0.{a}.5")),
                5060,
                L4Proto::Udp,
            ),
        ),
        // IRC DCC (wildcard source).
        3 => (
            Expectation::new(None, None, v4(format!("10.{a}.{b}.2")), port, L4Proto::Tcp),
            Tuple::new(
                v4(format!("10.{a}.{b}.2")),
                cport,
                v4(format!("10.{b}.{a}.9")),
                6667,
                L4Proto::Tcp,
            ),
        ),
        // TFTP.
        4 => (
            Expectation::new(
                Some(v4(format!("10.{a}.0.2"))),
                None,
                v4(format!("10.{b}.0.9")),
                cport,
                L4Proto::Udp,
            ),
            Tuple::new(
                v4(format!("10.{b}.0.9")),
                cport,
                v4(format!("10.{a}.0.2")),
                69,
                L4Proto::Udp,
            ),
        ),
        // PPTP GRE keys.
        5 => (
            Expectation::new(
                Some(v4(format!("10.{b}.13.118"))),
                Some(port),
                v4(format!("10.{a}.13.152")),
                cport,
                L4Proto::Gre,
            ),
            Tuple::new(
                v4(format!("10.{b}.13.118")),
                cport,
                v4(format!("10.{a}.13.152")),
                1723,
                L4Proto::Tcp,
            ),
        ),
        // FTP over IPv6, PASV.
        _ => {
            let c: std::net::IpAddr = format!("2001:db8:{a:x}::2").parse().expect("v6");
            let s: std::net::IpAddr = format!("2001:db8:{b:x}::7").parse().expect("v6");
            (
                Expectation::new(Some(c), None, s, port, L4Proto::Tcp),
                Tuple::new(c, cport, s, 21, L4Proto::Tcp),
            )
        }
    };
    let (helper, class) = match i % 8 {
        0 | 1 | 6 | 7 => ("ftp", 0),
        2 => ("sip", 1),
        3 => ("irc", 0),
        4 => ("tftp", 0),
        _ => ("pptp", 0),
    };
    let exp = exp
        .expect("one family")
        .with_master(master.expect("one family"))
        .with_helper(helper, class);
    let kind = if i % 16 == 15 {
        MessageKind::Destroy
    } else {
        MessageKind::New
    };
    ExpectMessage::new(kind, exp)
        .with_id(r)
        .with_timeout(if helper == "sip" { 179 } else { 299 })
}

/// Datagrams of whole messages, as recorded from a socket.
fn datagrams() -> Vec<Vec<u8>> {
    let mut x: u32 = 0x1234_5678;
    let mut out = vec![Vec::with_capacity(DATAGRAM)];
    for i in 0..MESSAGES {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let bytes = message(i, x).encode();
        if out.last().is_some_and(|d| d.len() + bytes.len() > DATAGRAM) {
            out.push(Vec::with_capacity(DATAGRAM));
        }
        out.last_mut()
            .expect("one datagram")
            .extend_from_slice(&bytes);
    }
    out
}

/// Nanoseconds this thread has spent on a CPU (`/proc/thread-self/schedstat`), so that the
/// figure means "one core" even on a machine busy with other work; `None` where it is not
/// available.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// The best of [`RUNS`] runs: wall-clock time and, when known, CPU time of this thread.
fn best<T>(mut f: impl FnMut() -> T) -> (Duration, Option<Duration>, T) {
    let mut best = Duration::MAX;
    let mut best_cpu: Option<Duration> = None;
    let mut last = None;
    for _ in 0..RUNS {
        let c = cpu_time();
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        if let (Some(c0), Some(c1)) = (c, cpu_time()) {
            let used = c1.saturating_sub(c0);
            best_cpu = Some(best_cpu.map_or(used, |b| b.min(used)));
        }
        last = Some(v);
    }
    (best, best_cpu, last.expect("RUNS > 0"))
}

fn line(what: &str, wall: Duration, cpu: Option<Duration>, extra: &str) {
    let cpu_text = cpu.map_or_else(String::new, |c| {
        format!(
            "; on-CPU {:.1} ms, {:.2} M messages/s",
            c.as_secs_f64() * 1e3,
            rate(MESSAGES, c)
        )
    });
    println!(
        "{what:<30} wall {:.1} ms, {:.2} M messages/s{cpu_text}{extra}",
        wall.as_secs_f64() * 1e3,
        rate(MESSAGES, wall)
    );
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64() / 1e6
}

fn main() {
    let grams = datagrams();
    let bytes: usize = grams.iter().map(Vec::len).sum();
    let mut options = ModuleOptions::new();
    options
        .set_assignment("nf_conntrack_ftp.loose=1")
        .expect("valid option");
    let policy = SitePolicy::from_toml(
        "default = \"allow\"\n[helpers.ftp]\ndestinations = [\"10.0.0.0/8\", \"2001:db8::/32\"]\n",
    )
    .expect("policy");
    let judge = Judge::new(&options, Some(policy));

    let (decode_time, decode_cpu, decoded) = best(|| {
        let mut n = 0;
        for g in &grams {
            for m in ctnetlink::messages(black_box(g)) {
                if let Ok(Message::Expect(m)) = m {
                    n += usize::from(black_box(&m).id.is_some());
                }
            }
        }
        n
    });
    assert_eq!(decoded, MESSAGES, "every message decodes");

    let (judge_time, judge_cpu, refused) = best(|| {
        let mut refused = 0;
        for g in &grams {
            for m in ctnetlink::messages(black_box(g)) {
                if let Ok(Message::Expect(m)) = m {
                    refused += usize::from(!m.conforms(&judge));
                }
            }
        }
        refused
    });
    let (full_time, full_cpu, refused_full) = best(|| {
        let mut refused = 0;
        for g in &grams {
            for m in ctnetlink::messages(black_box(g)) {
                if let Ok(Message::Expect(m)) = m {
                    refused += usize::from(!m.judge(&judge).conforms());
                }
            }
        }
        refused
    });
    assert_eq!(
        refused, refused_full,
        "the fast path agrees with the judgement"
    );
    assert_eq!(
        refused,
        MESSAGES / 8,
        "one message in eight breaks the policy"
    );
    println!(
        "ctnetlink {MESSAGES} messages in {} datagrams, {:.1} MB",
        grams.len(),
        bytes as f64 / 1e6
    );
    line("decode", decode_time, decode_cpu, "");
    line(
        "decode + judge (fast path)",
        judge_time,
        judge_cpu,
        " (target >= 2 M/s)",
    );
    line(
        "decode + full judgement",
        full_time,
        full_cpu,
        &format!(" ({refused} refused by the policy)"),
    );
}
