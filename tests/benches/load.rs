//! Loading generated rules into the kernel: one `iptables-restore` / `nft -f` transaction
//! against the same rules issued one command per rule (the article's style).
//!
//! Run as root: `cargo bench -p netfilter-helpers-tests --bench load`. Each load goes into a
//! fresh network namespace.

use std::io::Write;
use std::process::Stdio;
use std::time::Instant;

use netfilter_helpers_core::render::{Backend, render};
use netfilter_helpers_core::site::{Direction, Interface, Service, Site};
use netfilter_helpers_core::synth::synthesize;
use netfilter_helpers_tests::netns::Netns;

fn site(n: usize, prefixes: usize) -> Site {
    let mut site = Site::default();
    site.rpfilter = true;
    let mut wan = Interface::named("wan0");
    wan.default_route = true;
    wan.networks = vec!["198.51.100.2/24".into()];
    site.interfaces.push(wan);
    for i in 0..n {
        let mut lan = Interface::named(&format!("if{i}"));
        lan.routed = (0..prefixes)
            .map(|j| {
                let k = (i * prefixes + j) as u32;
                format!("{}/28", std::net::Ipv4Addr::from((10u32 << 24) | (k << 5)))
            })
            .collect();
        site.interfaces.push(lan);
    }
    let mut ftp = Service::new("ftp", "ftp", Direction::Inbound);
    ftp.servers = vec!["10.0.0.16".into()];
    ftp.ports = vec![21, 2121];
    site.services.push(ftp);
    site
}

fn timed(ns: &Netns, program: &str, args: &[&str], input: &str) -> f64 {
    let t = Instant::now();
    let mut child = ns
        .command(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    if let Err(why) = netfilter_helpers_tests::lab_available() {
        eprintln!("load benchmark not run: {why}");
        return;
    }
    for (n, p) in [(10usize, 10usize), (50, 10)] {
        let rs = synthesize(&site(n, p).validate().expect("valid"));
        let v4 = render(&rs, Backend::Iptables).unwrap();
        let commands: String = render(&rs, Backend::Commands)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("iptables "))
            .map(|l| format!("{l}\n"))
            .collect();
        let rules = v4.lines().filter(|l| l.starts_with("-A ")).count();
        println!("{n} interfaces x {p} prefixes: {rules} IPv4 iptables rules");
        for (label, tool) in [("nft", "iptables-nft"), ("legacy", "iptables-legacy")] {
            let ns = Netns::new("loadr").expect("netns");
            let restore = timed(&ns, &format!("{tool}-restore"), &[], &v4);
            let ns = Netns::new("loadc").expect("netns");
            let script = commands.replace("iptables ", &format!("{tool} "));
            let each = timed(&ns, "sh", &["-e"], &script);
            println!(
                "  {label:<7} {tool}-restore {restore:>8.1} ms | one {tool} per rule {each:>9.1} ms | {:.0}x",
                each / restore
            );
        }
        let ns = Netns::new("loadn").expect("netns");
        let nft = timed(
            &ns,
            "nft",
            &["-f", "-"],
            &render(&rs, Backend::Nft).unwrap(),
        );
        let ns = Netns::new("loadj").expect("netns");
        let json = timed(
            &ns,
            "nft",
            &["-j", "-f", "-"],
            &render(&rs, Backend::NftJson).unwrap(),
        );
        println!("  nft -f (IPv4 and IPv6) {nft:>8.1} ms | nft -j -f {json:>8.1} ms");
    }
}
