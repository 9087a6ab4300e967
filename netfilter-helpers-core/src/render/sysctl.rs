//! The `sysctl` backend: `sysctl.d` text for the settings the rules rely on.

use crate::ir::{ConfScope, Ruleset, Sysctl};

/// The sysctl settings of a ruleset as (key, value) pairs, in order, with keys as
/// `sysctl.d` writes them (`net.ipv4.conf.eth0.rp_filter`, or the `/` form for interface
/// names that contain a `.`, such as VLANs).
///
/// ```
/// use netfilter_helpers_core::{render::sysctl_pairs, site::Site, synth::synthesize};
/// let site = Site::from_toml("[[interfaces]]\nname = \"eth0.7\"\ndefault_route = true\nrp_filter = \"loose\"\n").unwrap();
/// let pairs = sysctl_pairs(&synthesize(&site.validate().unwrap()));
/// assert_eq!(pairs[2], ("net/ipv4/conf/eth0.7/rp_filter".to_string(), "2".to_string()));
/// ```
pub fn sysctl_pairs(rs: &Ruleset) -> Vec<(String, String)> {
    rs.sysctls
        .iter()
        .map(|s| match s {
            Sysctl::RpFilter { scope, mode } => {
                let key = match scope {
                    ConfScope::All => "net.ipv4.conf.all.rp_filter".to_string(),
                    ConfScope::Default => "net.ipv4.conf.default.rp_filter".to_string(),
                    // sysctl.d separates with '.'; a name containing '.' needs the '/' form.
                    ConfScope::Interface(i) if i.as_str().contains('.') => {
                        format!("net/ipv4/conf/{i}/rp_filter")
                    }
                    ConfScope::Interface(i) => format!("net.ipv4.conf.{i}.rp_filter"),
                };
                (key, mode.sysctl().to_string())
            }
            Sysctl::AutoAssign { enabled } => (
                "net.netfilter.nf_conntrack_helper".to_string(),
                u8::from(*enabled).to_string(),
            ),
        })
        .collect()
}

/// The `sysctl.d` file.
pub(super) fn text(rs: &Ruleset) -> String {
    let mut out = String::from(super::HEADER);
    for (k, v) in sysctl_pairs(rs) {
        out.push_str(&k);
        out.push_str(" = ");
        out.push_str(&v);
        out.push('\n');
    }
    out
}
