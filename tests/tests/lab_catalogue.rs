//! The helper catalogue against the live kernel: which names, families and protocols a CT rule
//! can assign. The kernel refuses `-j CT --helper NAME` unless a helper of that name is
//! registered for the rule's family and protocol, so every (helper, family, protocol) triple
//! tells whether the catalogue is right.

use netfilter_helpers_core::catalogue::Helper;
use netfilter_helpers_core::net::{Family as CoreFamily, L4Proto};
use netfilter_helpers_core::options::{ModuleOptions, PARAMS};
use netfilter_helpers_core::registry::{registered_names, resolve_name};
use netfilter_helpers_tests::netns::Netns;
use netfilter_helpers_tests::require_lab;
use netfilter_helpers_tests::sysparam::read_param;

fn options_in_force() -> ModuleOptions {
    let mut o = ModuleOptions::new();
    for spec in &PARAMS {
        if let Ok(raw) = read_param(spec.module.name(), spec.name) {
            o.set_sysfs(spec.module.name(), spec.name, &raw).unwrap();
        }
    }
    o
}

/// Whether the kernel accepts a CT rule assigning `name` for this family and protocol.
fn kernel_accepts(ns: &Netns, family: CoreFamily, l4: L4Proto, name: &str) -> bool {
    let tool = match family {
        CoreFamily::Ipv4 => "iptables",
        CoreFamily::Ipv6 => "ip6tables",
    };
    let l4 = l4.name();
    let out = ns
        .exec(
            tool,
            &[
                "-t",
                "raw",
                "-A",
                "PREROUTING",
                "-p",
                &l4,
                "-j",
                "CT",
                "--helper",
                name,
            ],
        )
        .expect("iptables runs");
    out.success()
}

#[test]
fn ct_assignment_matches_families_and_protocols() {
    let _lock = require_lab!();
    let ns = Netns::new("cat").expect("netns");
    let o = options_in_force();
    let mut checked = 0;
    for helper in Helper::ALL {
        let info = helper.info();
        for reg in registered_names(helper, &o) {
            let name = reg.name.to_string();
            for family in [CoreFamily::Ipv4, CoreFamily::Ipv6] {
                for l4 in [L4Proto::Tcp, L4Proto::Udp] {
                    let model = info.registered_protocols().contains(&l4)
                        && (info.supports(family) || helper == Helper::H245);
                    let kernel = kernel_accepts(&ns, family, l4, &name);
                    assert_eq!(
                        kernel,
                        model,
                        "CT --helper {name} for {family}/{l4}: kernel {} it, the catalogue says it {}",
                        if kernel { "accepts" } else { "refuses" },
                        if model { "should" } else { "should not" }
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 48, "{checked}");
}

#[test]
fn suffixed_names_exist_only_when_ports_register_them() {
    let _lock = require_lab!();
    let ns = Netns::new("names").expect("netns");
    let o = options_in_force();
    for name in ["ftp-2121", "sane-6567", "irc-1", "sip-1", "tftp-1", "ftp-0"] {
        let model = resolve_name(name, &o).is_ok();
        let helper = resolve_name(name, &ModuleOptions::new())
            .map(|r| r.name.helper)
            .unwrap_or_else(|_| name.split('-').next().unwrap().parse().unwrap());
        let l4 = helper.info().registered_protocols()[0];
        let kernel = kernel_accepts(&ns, CoreFamily::Ipv4, l4, name);
        assert_eq!(kernel, model, "CT --helper {name}");
    }
}

#[test]
fn module_parameter_defaults_match_the_kernel() {
    let _lock = require_lab!();
    // The lab restores every parameter it changes, so /sys shows the kernel's defaults unless
    // the machine's own configuration changed them: report those instead of failing on them.
    let mut seen = 0;
    for spec in &PARAMS {
        let Ok(raw) = read_param(spec.module.name(), spec.name) else {
            assert!(
                spec.removed_in.is_some(),
                "{}.{} missing from /sys",
                spec.module.name(),
                spec.name
            );
            continue;
        };
        let mut o = ModuleOptions::new();
        o.set_sysfs(spec.module.name(), spec.name, &raw).unwrap();
        assert_eq!(
            o.get(spec.param),
            spec.param.default_value(),
            "{}.{}: /sys shows {raw:?}, the model's default is {}",
            spec.module.name(),
            spec.name,
            spec.default
        );
        seen += 1;
    }
    assert_eq!(
        seen,
        PARAMS.len() - 1,
        "every parameter but nf_conntrack_helper is in /sys"
    );
}
