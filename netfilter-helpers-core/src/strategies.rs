//! proptest strategies for core values, shared by the core's tests and the bindings' tests
//! (enable the `proptest` feature).
//!
//! ```
//! use netfilter_helpers_core::strategies::module_options;
//! use proptest::strategy::{Strategy, ValueTree};
//! let mut runner = proptest::test_runner::TestRunner::deterministic();
//! let opts = module_options().new_tree(&mut runner).unwrap().current();
//! assert!(!netfilter_helpers_core::options::ModuleOptions::from_modprobe(&opts.render_modprobe()).has_errors());
//! ```

use proptest::prelude::*;

use crate::options::{ModuleOptions, Param, ParamKind, Value};

/// A valid value for one parameter.
///
/// ```
/// use netfilter_helpers_core::{options::Param, strategies::value_for};
/// use proptest::strategy::{Strategy, ValueTree};
/// let mut runner = proptest::test_runner::TestRunner::deterministic();
/// let v = value_for(Param::IrcMaxDccChannels).new_tree(&mut runner).unwrap().current();
/// assert!(Param::IrcMaxDccChannels.check(&v).is_ok());
/// ```
pub fn value_for(param: Param) -> BoxedStrategy<Value> {
    let spec = param.spec();
    match spec.kind {
        ParamKind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        ParamKind::Int => any::<i32>().prop_map(Value::Int).boxed(),
        ParamKind::Uint => match spec.range {
            Some((lo, hi)) => ((lo as u32)..=(hi as u32)).prop_map(Value::Uint).boxed(),
            None => any::<u32>().prop_map(Value::Uint).boxed(),
        },
        ParamKind::Ports => proptest::collection::btree_set(any::<u16>(), 1..=8)
            .prop_shuffle_ports()
            .boxed(),
        ParamKind::Text => prop_oneof![Just("kmp"), Just("bm"), Just("fsm")]
            .prop_map(|s| Value::Text(s.to_string()))
            .boxed(),
    }
}

trait ShufflePorts {
    fn prop_shuffle_ports(self) -> BoxedStrategy<Value>;
}

impl<S> ShufflePorts for S
where
    S: Strategy<Value = std::collections::BTreeSet<u16>> + 'static,
{
    fn prop_shuffle_ports(self) -> BoxedStrategy<Value> {
        self.prop_map(|set| set.into_iter().collect::<Vec<_>>())
            .prop_shuffle()
            .prop_map(Value::Ports)
            .boxed()
    }
}

/// Valid module options: a random subset of parameters set to random valid values.
///
/// ```
/// use netfilter_helpers_core::strategies::module_options;
/// use proptest::strategy::{Strategy, ValueTree};
/// let mut runner = proptest::test_runner::TestRunner::deterministic();
/// let o = module_options().new_tree(&mut runner).unwrap().current();
/// assert!(o.explicit().all(|(p, v)| p.check(v).is_ok()));
/// ```
pub fn module_options() -> impl Strategy<Value = ModuleOptions> {
    let params: Vec<Param> = Param::all().collect();
    let per_param: Vec<BoxedStrategy<Option<Value>>> = params
        .iter()
        .map(|p| proptest::option::of(value_for(*p)).boxed())
        .collect();
    per_param.prop_map(move |values| {
        let mut o = ModuleOptions::new();
        for (p, v) in params.iter().zip(values) {
            if let Some(v) = v {
                o.set(*p, v).expect("strategy values are valid");
            }
        }
        o
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::HelperName;
    use crate::kernel::KernelVersion;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn modprobe_render_round_trips(o in module_options()) {
            let text = o.render_modprobe();
            let r = ModuleOptions::from_modprobe(&text);
            prop_assert!(!r.has_errors(), "{:?}", r.findings);
            prop_assert_eq!(r.options, o);
        }

        #[test]
        fn modprobe_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = ModuleOptions::from_modprobe(&text);
        }

        #[test]
        fn modprobe_parser_never_panics_on_option_like_text(
            s in "(options|install|#)? ?(nf_conntrack(_ftp|_sip|_irc|_h323|_x)?)? ?([a-z_]{0,12}(=[0-9a-zA-Z,x\"+-]{0,12})? ?){0,4}\\\\?\n?"
        ) {
            let _ = ModuleOptions::from_modprobe(&s);
        }

        #[test]
        fn value_text_round_trips(
            (p, v) in proptest::sample::select(Param::all().collect::<Vec<_>>())
                .prop_flat_map(|p| (Just(p), value_for(p)))
        ) {
            prop_assert_eq!(p.parse_value(&v.to_string()).unwrap(), v);
        }

        #[test]
        fn names_never_panic(s in "\\PC{0,24}") {
            let _ = s.parse::<HelperName>();
            let _ = s.parse::<KernelVersion>();
            let _ = s.parse::<Param>();
            let _ = Param::FtpPorts.parse_value(&s);
            let _ = Param::SipDirectMedia.parse_value(&s);
            let _ = Param::IrcDccTimeout.parse_value(&s);
        }
    }
}

/// An IP address of the given family.
pub fn addr_of(v6: bool) -> BoxedStrategy<std::net::IpAddr> {
    if v6 {
        any::<u128>()
            .prop_map(|n| std::net::IpAddr::V6(n.into()))
            .boxed()
    } else {
        any::<u32>()
            .prop_map(|n| std::net::IpAddr::V4(n.into()))
            .boxed()
    }
}

/// An expectation as the kernel could show it: consistent masks (a wildcarded source is the
/// zero address), a master tuple of the same family, a helper name, class and flags.
pub fn expectation() -> impl Strategy<Value = crate::expect::Expectation> {
    use crate::expect::{ExpectFlags, Expectation, Tuple};
    use crate::net::L4Proto;
    any::<bool>().prop_flat_map(|v6| {
        (
            proptest::option::of(addr_of(v6)),
            proptest::option::of(any::<u16>()),
            addr_of(v6),
            any::<u16>(),
            prop_oneof![
                Just(L4Proto::Tcp),
                Just(L4Proto::Udp),
                Just(L4Proto::Gre),
                Just(L4Proto::Sctp),
                Just(L4Proto::Icmp),
                Just(L4Proto::Unknown(200)),
            ],
            (addr_of(v6), addr_of(v6), any::<u16>(), any::<u16>()),
            prop_oneof![
                Just("ftp"),
                Just("sip"),
                Just("ftp-2121"),
                Just("RAS"),
                Just("netbios-ns")
            ],
            0u8..4,
            0u32..8,
        )
            .prop_map(
                move |(src, sport, dst, dport, l4, (ms, md, msp, mdp), helper, class, flags)| {
                    let master_l4 = match helper {
                        "ftp" | "ftp-2121" => L4Proto::Tcp,
                        _ => L4Proto::Udp,
                    };
                    // Protocols without ports (other than GRE keys and ICMP fields) carry none.
                    let carries = l4.has_ports() || matches!(l4, L4Proto::Gre | L4Proto::Icmp);
                    let (sport, dport) = if carries { (sport, dport) } else { (None, 0) };
                    Expectation::new(src, sport, dst, dport, l4)
                        .expect("same family")
                        .with_master(Tuple::new(ms, msp, md, mdp, master_l4).expect("same family"))
                        .with_helper(helper, class)
                        .with_flags(ExpectFlags::from_bits_truncate(flags))
                },
            )
    })
}

#[cfg(test)]
mod site_props {
    use super::*;
    use crate::render::{Backend, render};
    use crate::synth::synthesize;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn valid_sites_render_deterministically(site in valid_site()) {
            let v = site.validate().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let a = synthesize(&v);
            let b = synthesize(&site.validate().unwrap());
            prop_assert_eq!(&a, &b);
            for backend in Backend::ALL {
                let x = render(&a, backend).unwrap();
                let y = render(&b, backend).unwrap();
                prop_assert_eq!(x, y);
            }
            // The TOML form of the site reads back to the same site.
            let text = toml::to_string(&site).unwrap();
            prop_assert_eq!(crate::site::Site::from_toml(&text).unwrap(), site);
        }

        #[test]
        fn site_reader_never_panics(s in "\\PC{0,200}") {
            if let Ok(site) = crate::site::Site::from_toml(&s) {
                let _ = site.validate();
            }
            let _ = crate::site::Site::from_json(&s);
        }
    }
}

#[cfg(test)]
mod parse_props {
    use super::*;
    use crate::parse::{Format, parse_line, parse_lines};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_line(&bytes);
            let _ = parse_lines(&bytes);
        }

        #[test]
        fn parser_never_panics_on_near_lines(e in expectation(), cut in 0usize..400, junk in "\\PC{0,8}") {
            let line = e.to_conntrack_line(Some(7));
            let cut = cut.min(line.len());
            let mut mutated = line.as_bytes()[..cut].to_vec();
            mutated.extend_from_slice(junk.as_bytes());
            mutated.extend_from_slice(&line.as_bytes()[cut..]);
            let _ = parse_line(&mutated);
        }

        #[test]
        fn quiet_paths_agree_with_verdicts(e in expectation(), o in module_options(), proc in any::<bool>()) {
            let v = crate::conform::Validator::new(&o);
            let text = if proc { e.to_proc_line(Some(100), None) } else { e.to_conntrack_line(Some(100)) };
            let line = parse_line(text.as_bytes()).map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
            prop_assert_eq!(v.conforms(&line), v.check_line(&line).conforms(), "{}", text);
            let policy = crate::policy::SitePolicy::from_toml(
                "default = \"deny\"\n[helpers.ftp]\ndestinations = [\"10.0.0.0/8\"]\nmin_port = 1024\n[helpers.sip]\nsources = [\"0.0.0.0/0\"]\n",
            ).unwrap();
            prop_assert_eq!(policy.allows(&line.expectation), policy.check(&line.expectation).is_empty());
        }

        #[test]
        fn conntrack_lines_round_trip(e in expectation(), t in any::<u32>()) {
            let line = e.to_conntrack_line(Some(t));
            let p = parse_line(line.as_bytes()).map_err(|err| TestCaseError::fail(format!("{line}: {err}")))?;
            prop_assert_eq!(p.format, Format::Conntrack);
            prop_assert_eq!(p.timeout, Some(t));
            let mut got = p.expectation;
            if !p.master_l4_known {
                // conntrack does not print the master's protocol (sip runs on UDP and TCP).
                got.master.as_mut().unwrap().l4 = e.master.unwrap().l4;
            }
            prop_assert_eq!(got, e);
        }

        #[test]
        fn proc_lines_round_trip_what_they_show(e in expectation(), t in any::<u32>()) {
            let policy = (e.helper.as_deref() == Some("sip")).then_some("audio");
            let line = e.to_proc_line(Some(t), policy);
            let p = parse_line(line.as_bytes()).map_err(|err| TestCaseError::fail(format!("{line}: {err}")))?;
            prop_assert_eq!(p.format, Format::Proc);
            prop_assert_eq!(p.timeout, Some(t));
            prop_assert_eq!(p.policy_name.as_deref(), policy);
            let g = p.expectation;
            prop_assert_eq!((g.src, g.dst, g.sport, g.dport, g.l4), (e.src, e.dst, e.sport, e.dport, e.l4));
            prop_assert_eq!(g.helper, e.helper);
            prop_assert_eq!(g.flags, e.flags);
        }
    }
}

/// A valid site: 2 to 6 interfaces (the first carries the default route) with non-overlapping
/// IPv4 and IPv6 networks, and up to four services of assorted helpers and directions.
///
/// ```
/// use netfilter_helpers_core::strategies::valid_site;
/// use proptest::strategy::{Strategy, ValueTree};
/// let mut runner = proptest::test_runner::TestRunner::deterministic();
/// let site = valid_site().new_tree(&mut runner).unwrap().current();
/// assert!(site.validate().is_ok());
/// ```
pub fn valid_site() -> impl Strategy<Value = crate::site::Site> {
    use crate::net::RpFilter;
    use crate::site::{Direction, Interface, Service, Site};
    let iface = (
        "[a-z][a-z0-9_]{0,6}",
        proptest::collection::vec((19u8..=27, any::<bool>()), 0..4),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            Just(RpFilter::Strict),
            Just(RpFilter::Loose),
            Just(RpFilter::Off)
        ],
    );
    let service = (
        prop_oneof![
            Just("ftp"),
            Just("sip"),
            Just("tftp"),
            Just("irc"),
            Just("amanda"),
            Just("sane"),
            Just("pptp"),
            Just("snmp"),
            Just("netbios-ns"),
            Just("RAS"),
            Just("Q.931")
        ],
        prop_oneof![
            Just(Direction::Inbound),
            Just(Direction::Outbound),
            Just(Direction::Local)
        ],
        any::<bool>(),
        any::<bool>(),
        proptest::collection::btree_set(1u16..=65535, 0..3),
        any::<bool>(),
        0u16..2048,
    );
    (
        proptest::collection::vec(iface, 2..6),
        proptest::collection::vec(service, 0..4),
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(|(ifaces, services, rpfilter, bits)| {
            use crate::site::{Mode, NameMatch, UnknownInterfaces};
            let n_ifaces = ifaces.len();
            let mut site = Site {
                rpfilter,
                bogons: bits & 1 != 0,
                bogon_exceptions: if bits & 2 != 0 {
                    vec!["192.0.2.0/24".into()]
                } else {
                    vec![]
                },
                log: bits & 4 != 0,
                mode: if bits & 8 != 0 {
                    Mode::LogOnly
                } else {
                    Mode::Enforce
                },
                unknown_interfaces: match (bits >> 4) % 3 {
                    // The reverse-path choice needs the reverse-path rule.
                    1 if rpfilter => UnknownInterfaces::Rpfilter,
                    2 => UnknownInterfaces::Allow,
                    _ => UnknownInterfaces::Drop,
                },
                local_addresses: if bits & 64 != 0 {
                    vec!["192.0.2.1".into()]
                } else {
                    vec![]
                },
                ..Site::default()
            };
            for (i, (name, nets, dhcp, v6, rp)) in ifaces.into_iter().enumerate() {
                // The last interface is a prefix of names when bit 7 says so (upper case, so no
                // generated name starts with it).
                let wildcard = bits & 128 != 0 && i == n_ifaces - 1 && i > 0;
                let mut networks = Vec::new();
                let mut routed = Vec::new();
                for (j, (prefix, is_routed)) in nets.into_iter().enumerate() {
                    let v4 = format!("10.{i}.{}.0/{prefix}", j * 32);
                    if is_routed {
                        routed.push(v4);
                    } else {
                        networks.push(v4);
                    }
                    if v6 {
                        networks.push(format!("fd00:{i:x}:{j:x}::1/64"));
                    }
                }
                site.interfaces.push(Interface {
                    name: if wildcard {
                        format!("W{i}")
                    } else {
                        format!("{name}{i}")
                    },
                    default_route: i == 0,
                    networks,
                    routed,
                    dhcp,
                    rp_filter: rp,
                    name_match: if wildcard {
                        NameMatch::Prefix
                    } else {
                        NameMatch::Exact
                    },
                    rp_filter_mark: i % 2 == 1,
                });
            }
            for (
                k,
                (helper, direction, with_servers, with_clients, ports, with_related, min_port),
            ) in services.into_iter().enumerate()
            {
                let v4_only = matches!(helper, "irc" | "pptp" | "snmp" | "netbios-ns");
                // The broadcast helpers expect replies only to the firewall's own broadcasts.
                let direction = if matches!(helper, "snmp" | "netbios-ns") {
                    Direction::Local
                } else {
                    direction
                };
                let mut servers = Vec::new();
                let mut clients = Vec::new();
                let mut related = Vec::new();
                if with_servers {
                    servers.push(format!("10.1.0.{}", 10 + k));
                    if !v4_only {
                        servers.push(format!("fd00:1:0::{:x}", 10 + k));
                    }
                }
                if with_clients && direction != Direction::Local {
                    clients.push("10.2.0.0/24".to_string());
                    if !v4_only {
                        clients.push("fd00:2::/64".to_string());
                    }
                }
                if with_related {
                    related.push("203.0.113.0/24".to_string());
                    if !v4_only {
                        related.push("2001:db8:5::/48".to_string());
                    }
                }
                // Every other inbound service with servers is also published through DNAT.
                let public = if direction == Direction::Inbound && with_servers && k % 2 == 0 {
                    vec![format!("198.51.100.{}", 10 + k)]
                } else {
                    Vec::new()
                };
                site.services.push(Service {
                    name: format!("svc{k}"),
                    helper: helper.to_string(),
                    direction,
                    servers,
                    clients,
                    ports: ports.into_iter().collect(),
                    related,
                    min_port,
                    public,
                    public_ports: Vec::new(),
                });
            }
            site
        })
}
