//! Render a large site for every backend (`cargo bench -p netfilter-helpers-core --bench render`).
//!
//! Target: 1,000 interfaces with 100 prefixes each renders in at most 100 ms per backend on
//! one core, and ten times the site takes at most twelve times as long (100 vs 1,000
//! interfaces).

use std::hint::black_box;
use std::time::{Duration, Instant};

use netfilter_helpers_core::render::{Backend, render};
use netfilter_helpers_core::site::{Direction, Interface, Service, Site};
use netfilter_helpers_core::synth::synthesize;

/// A site with `n` interfaces of 100 IPv4 and IPv6 prefixes each (non-adjacent, so they do not
/// aggregate), one default-route interface and a few services.
pub fn big_site(n: usize) -> Site {
    let mut site = Site::default();
    site.rpfilter = true;
    let mut wan = Interface::named("wan0");
    wan.default_route = true;
    wan.networks = vec!["198.51.100.2/24".into(), "2001:db8:ff::2/64".into()];
    site.interfaces.push(wan);
    for i in 0..n {
        let mut nets = Vec::with_capacity(100);
        for j in 0..50u32 {
            let k = (i as u32) * 50 + j;
            let v4 = (10u32 << 24) | (k << 5);
            nets.push(format!("{}/28", std::net::Ipv4Addr::from(v4)));
            nets.push(format!("fd00:{:x}:{:x}::/64", i, j * 2));
        }
        let mut lan = Interface::named(&format!("if{i}"));
        lan.networks = nets[..2].to_vec();
        lan.routed = nets[2..].to_vec();
        lan.dhcp = i % 2 == 0;
        site.interfaces.push(lan);
    }
    for (name, helper, servers) in [
        ("ftp", "ftp", vec!["10.0.0.16".to_string()]),
        ("sip", "sip", vec!["203.0.113.5".to_string()]),
        ("tftp", "tftp", vec!["10.0.0.48".to_string()]),
    ] {
        let mut s = Service::new(name, helper, Direction::Inbound);
        s.servers = servers;
        site.services.push(s);
    }
    site
}

/// A site with `n` FTP services, each with 50 client hosts and 3 servers of its own (hosts
/// two apart, so nothing aggregates), behind one LAN interface.
pub fn services_site(n: usize) -> Site {
    let mut site = Site::default();
    let mut wan = Interface::named("wan0");
    wan.default_route = true;
    wan.networks = vec!["198.51.100.2/24".into()];
    site.interfaces.push(wan);
    let mut lan = Interface::named("lan0");
    lan.networks = vec!["10.0.0.1/8".into()];
    site.interfaces.push(lan);
    let host = |base: u32, k: u32| std::net::Ipv4Addr::from(base + 2 * k).to_string();
    for k in 0..n as u32 {
        let mut s = Service::new(&format!("ftp{k}"), "ftp", Direction::Inbound);
        s.servers = (0..3).map(|j| host(10 << 24, k * 3 + j)).collect();
        s.clients = (0..50).map(|j| host(100 << 24, k * 50 + j)).collect();
        site.services.push(s);
    }
    site
}

fn best(mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut len = 0;
    for _ in 0..5 {
        let t = Instant::now();
        len = f();
        best = best.min(t.elapsed());
    }
    (best, len)
}

fn main() {
    let mut times = std::collections::BTreeMap::new();
    for n in [100usize, 1000] {
        let site = big_site(n);
        let (t_valid, _) = best(|| black_box(site.validate().unwrap()).interfaces.len());
        let valid = site.validate().unwrap();
        let (t_synth, rules) = best(|| black_box(synthesize(&valid)).rule_count());
        let rs = synthesize(&valid);
        println!(
            "{n:>5} interfaces x 100 prefixes: validate {:.1} ms, synthesize {:.1} ms ({rules} rules)",
            t_valid.as_secs_f64() * 1e3,
            t_synth.as_secs_f64() * 1e3
        );
        for b in Backend::ALL {
            let (t, len) = best(|| black_box(render(&rs, b).unwrap()).len());
            println!(
                "      {:<10} {:>8.1} ms  {:>7.1} MB",
                b.name(),
                t.as_secs_f64() * 1e3,
                len as f64 / 1e6
            );
            times.insert((b, n), t);
        }
    }
    println!("growth from 100 to 1000 interfaces (target <= 12x):");
    for b in Backend::ALL {
        let ratio = times[&(b, 1000)].as_secs_f64() / times[&(b, 100)].as_secs_f64().max(1e-9);
        println!("      {:<16} {ratio:.1}x", b.name());
    }

    // Services x clients: the whole pipeline (validate, synthesize, render) per backend.
    // Targets: 10,000 services x 50 clients in at most 1 s; output size and time at most
    // 12x for 10x the services.
    let mut sizes = std::collections::BTreeMap::new();
    let mut totals = std::collections::BTreeMap::new();
    for n in [1000usize, 10_000] {
        let site = services_site(n);
        let (t_valid, _) = best(|| black_box(site.validate().unwrap()).services.len());
        let valid = site.validate().unwrap();
        let (t_synth, rules) = best(|| black_box(synthesize(&valid)).rule_count());
        let rs = synthesize(&valid);
        println!(
            "{n:>6} services x 50 clients x 3 servers: validate {:.1} ms, synthesize {:.1} ms ({rules} rules)",
            t_valid.as_secs_f64() * 1e3,
            t_synth.as_secs_f64() * 1e3
        );
        for b in [
            Backend::Iptables,
            Backend::Commands,
            Backend::Nft,
            Backend::NftJson,
        ] {
            let (t, len) = best(|| black_box(render(&rs, b).unwrap()).len());
            let total = t_valid + t_synth + t;
            println!(
                "      {:<16} render {:>8.1} ms, end to end {:>8.1} ms, {:>7.1} MB",
                b.name(),
                t.as_secs_f64() * 1e3,
                total.as_secs_f64() * 1e3,
                len as f64 / 1e6
            );
            sizes.insert((b, n), len);
            totals.insert((b, n), total);
        }
    }
    println!("growth from 1,000 to 10,000 services (target <= 12x):");
    for b in [
        Backend::Iptables,
        Backend::Commands,
        Backend::Nft,
        Backend::NftJson,
    ] {
        println!(
            "      {:<16} size {:.1}x, time {:.1}x",
            b.name(),
            sizes[&(b, 10_000)] as f64 / sizes[&(b, 1000)] as f64,
            totals[&(b, 10_000)].as_secs_f64() / totals[&(b, 1000)].as_secs_f64().max(1e-9)
        );
    }
}
