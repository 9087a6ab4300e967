//! The helper names the kernel registers under the module options in force (`ftp-2121`,
//! `sip-1`, `irc-0`): the bridge between the catalogue and the options.

use serde::Serialize;

use crate::catalogue::{CatalogueError, Helper, HelperName, Naming};
use crate::options::ModuleOptions;

/// One helper registration: the name a CT rule must use and the master it is registered for.
///
/// ```
/// use netfilter_helpers_core::registry::registered_names;
/// use netfilter_helpers_core::catalogue::Helper;
/// use netfilter_helpers_core::options::ModuleOptions;
/// let regs = registered_names(Helper::H245, &ModuleOptions::new());
/// assert_eq!((regs[0].name.to_string(), regs[0].port), ("H.245".to_string(), None));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Registration {
    /// The registered name.
    pub name: HelperName,
    /// The master port of this registration (`None` for H.245).
    pub port: Option<u16>,
}

/// The names the kernel registers for a helper with the module options in force.
///
/// Each name is registered once per family and master protocol in [`HelperInfo`](crate::catalogue::HelperInfo).
///
/// ```
/// use netfilter_helpers_core::registry::registered_names;
/// use netfilter_helpers_core::catalogue::Helper;
/// use netfilter_helpers_core::options::ModuleOptions;
///
/// let mut o = ModuleOptions::new();
/// o.set_text("nf_conntrack_sip", "ports", "5060,5070").unwrap();
/// o.set_text("nf_conntrack_ftp", "ports", "21,2121").unwrap();
/// let names = |h| registered_names(h, &o).iter().map(|r| r.name.to_string()).collect::<Vec<_>>();
/// assert_eq!(names(Helper::Sip), ["sip", "sip-1"]);
/// assert_eq!(names(Helper::Ftp), ["ftp", "ftp-2121"]);
/// assert_eq!(names(Helper::Pptp), ["pptp"]);
/// ```
pub fn registered_names(helper: Helper, options: &ModuleOptions) -> Vec<Registration> {
    let info = helper.info();
    let Some(default_port) = info.default_port else {
        return vec![Registration {
            name: HelperName {
                helper,
                suffix: None,
            },
            port: None,
        }];
    };
    let ports = match info.naming {
        Naming::Fixed => vec![default_port],
        Naming::Port | Naming::Index => options.ports(info.module),
    };
    ports
        .iter()
        .enumerate()
        .map(|(i, &port)| {
            let suffix = if port == default_port {
                None
            } else {
                match info.naming {
                    Naming::Port => Some(port),
                    // Index is bounded by the 8-port limit; `ports()` never returns more.
                    _ => Some(u16::try_from(i).unwrap_or(u16::MAX)),
                }
            };
            Registration {
                name: HelperName { helper, suffix },
                port: Some(port),
            }
        })
        .collect()
}

/// Resolves a helper name (`ftp-2121`, `sip-1`) against the module options in force.
///
/// ```
/// use netfilter_helpers_core::registry::resolve_name;
/// use netfilter_helpers_core::catalogue::Helper;
/// use netfilter_helpers_core::options::ModuleOptions;
///
/// let mut o = ModuleOptions::new();
/// o.set_text("nf_conntrack_sip", "ports", "5060,5070").unwrap();
/// let r = resolve_name("sip-1", &o).unwrap();
/// assert_eq!((r.name.helper, r.port), (Helper::Sip, Some(5070)));
/// assert!(resolve_name("sip-2", &o).is_err());
/// assert!(resolve_name("ftp", &o).is_ok());
/// ```
pub fn resolve_name(name: &str, options: &ModuleOptions) -> Result<Registration, CatalogueError> {
    let parsed: HelperName = name.parse()?;
    let regs = registered_names(parsed.helper, options);
    regs.iter()
        .find(|r| r.name == parsed)
        .cloned()
        .ok_or_else(|| CatalogueError::NotRegistered {
            name: name.to_string(),
            module: parsed.helper.module(),
            ports: options
                .ports(parsed.helper.module())
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(","),
            registered: regs
                .iter()
                .map(|r| r.name.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixed_names() {
        let o = ModuleOptions::new();
        assert!(matches!(
            "irc-x".parse::<HelperName>(),
            Err(CatalogueError::UnknownHelper { .. })
        ));
        assert!(matches!(
            "RAS-1".parse::<HelperName>(),
            Err(CatalogueError::UnexpectedSuffix { .. })
        ));
        let e = resolve_name("ftp-2121", &o).unwrap_err().to_string();
        assert!(e.contains("ports=21"), "{e}");
        assert!(e.contains("registered names are ftp"), "{e}");
    }

    #[test]
    fn ports_zero_renames() {
        let mut o = ModuleOptions::new();
        o.set_text("nf_conntrack_ftp", "ports", "0").unwrap();
        o.set_text("nf_conntrack_irc", "ports", "6668").unwrap();
        let r = registered_names(Helper::Ftp, &o);
        assert_eq!(r[0].name.to_string(), "ftp-0");
        assert_eq!(
            registered_names(Helper::Irc, &o)[0].name.to_string(),
            "irc-0"
        );
    }
}
