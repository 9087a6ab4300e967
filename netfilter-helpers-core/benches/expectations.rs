//! Parse and validate one million expectation lines (`cargo bench -p netfilter-helpers-core`).
//!
//! Targets on one core: parsing at 300 MB/s or more, validation at 10 million expectations per
//! second or more. The input mixes `conntrack -L expect` and `/proc/net/nf_conntrack_expect`
//! lines of every common helper, IPv4 and IPv6, with varying addresses and ports.

use std::hint::black_box;
use std::time::{Duration, Instant};

use netfilter_helpers_core::conform::Validator;
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_core::parse::parse_lines;

const LINES: usize = 1_000_000;
const RUNS: usize = 5;

fn corpus() -> Vec<u8> {
    let mut out = Vec::with_capacity(LINES * 200);
    let mut x: u32 = 0x1234_5678;
    let mut next = || {
        // xorshift: deterministic, cheap.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for i in 0..LINES {
        let r = next();
        let (a, b) = ((r >> 8) & 0xff, (r >> 16) & 0xff);
        let port = 1024 + (r % 60000);
        let cport = 1024 + ((r >> 3) % 60000);
        let line = match i % 8 {
            0 => format!(
                "299 proto=6 src=10.{a}.{b}.2 dst=10.{b}.{a}.7 sport=0 dport={port} mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.{b}.{a}.7 master-dst=10.{a}.{b}.2 sport={cport} dport=21 class=0 helper=ftp\n"
            ),
            1 => format!(
                "179 proto=17 src=203.0.{a}.5 dst=192.168.{b}.10 sport=0 dport={} mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.{b}.10 master-dst=203.0.{a}.5 sport=5060 dport=5060 class=1 helper=sip\n",
                port & !1
            ),
            2 => format!(
                "300 l3proto = 2 proto=6 src=0.0.0.0 dst=192.168.{a}.{b} sport=0 dport={port} irc\n"
            ),
            3 => format!(
                "    [NEW] 300 proto=17 src=10.{a}.0.2 dst=10.{b}.0.9 sport=0 dport={cport} mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.{b}.0.9 master-dst=10.{a}.0.2 sport={cport} dport=69 class=0 helper=tftp\n"
            ),
            4 => format!(
                "299 proto=6 src=2001:db8:{a:x}::2 dst=2001:db8:{b:x}::7 sport=0 dport={port} mask-src=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff mask-dst=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff sport=0 dport=65535 master-src=2001:db8:{b:x}::7 master-dst=2001:db8:{a:x}::2 sport={cport} dport=21 class=0 helper=ftp\n"
            ),
            5 => format!(
                "179 l3proto = 2 proto=17 src=203.0.113.{a} dst=192.168.1.{b} sport=0 dport={} sip/audio\n",
                port & !1
            ),
            6 => format!(
                "[DESTROY] 3599 proto=17 src=203.0.113.5 dst=192.168.{a}.{b} sport=0 dport=5060 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.{a}.{b} master-dst=203.0.113.5 sport=5060 dport=5060 PERMANENT class=0 helper=sip\n"
            ),
            _ => format!(
                "299 l3proto = 10 proto=6 src=2001:0db8:0000:0000:0000:0000:0000:{a:04x} dst=2001:0db8:0000:0000:0000:0000:0000:{b:04x} sport=0 dport={port} ftp\n"
            ),
        };
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn best<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        last = Some(v);
    }
    (best, last.expect("RUNS > 0"))
}

fn main() {
    let text = corpus();
    let (parse_time, (ok, bad)) = best(|| parse_lines(black_box(&text)));
    assert_eq!(ok.len(), LINES, "every line parses ({} errors)", bad.len());
    let mb = text.len() as f64 / 1e6;
    println!(
        "parse    {LINES} lines, {mb:.1} MB: {:.1} ms, {:.0} MB/s, {:.2} M lines/s (target >= 300 MB/s)",
        parse_time.as_secs_f64() * 1e3,
        mb / parse_time.as_secs_f64(),
        LINES as f64 / parse_time.as_secs_f64() / 1e6
    );
    let validator = Validator::new(&ModuleOptions::new());
    let lines: Vec<_> = ok.into_iter().map(|(_, l)| l).collect();
    let (check_time, conforming) = best(|| {
        lines
            .iter()
            .filter(|l| validator.check_line(black_box(l)).conforms())
            .count()
    });
    assert_eq!(conforming, LINES, "the corpus conforms");
    let (quiet_time, quiet) = best(|| {
        lines
            .iter()
            .filter(|l| validator.conforms(black_box(l)))
            .count()
    });
    assert_eq!(quiet, LINES);
    println!(
        "validate {LINES} expectations: {:.1} ms, {:.2} M expectations/s (target >= 10 M/s)",
        check_time.as_secs_f64() * 1e3,
        LINES as f64 / check_time.as_secs_f64() / 1e6
    );
    println!(
        "conforms {LINES} expectations (no verdict, no allocation): {:.1} ms, {:.2} M expectations/s",
        quiet_time.as_secs_f64() * 1e3,
        LINES as f64 / quiet_time.as_secs_f64() / 1e6
    );
}
