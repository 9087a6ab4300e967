//! The `modprobe` backend: `modprobe.d` text for the module options the rules rely on.

use crate::ir::Ruleset;

/// The `modprobe.d` file.
pub(super) fn text(rs: &Ruleset) -> String {
    let mut out = String::from(super::HEADER);
    let body = rs.options.render_modprobe();
    if body.is_empty() {
        out.push_str("# every helper module option is at its kernel default\n");
    }
    out.push_str(&body);
    out
}
