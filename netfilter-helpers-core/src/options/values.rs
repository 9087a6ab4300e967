//! Values parsed the way the kernel parses them (`kstrtobool`, `kstrtoull`, `kstrtoll`).

/// Conntrack modules that exist (or existed) but hold no helper parameters.
pub(super) const NOT_HELPER_MODULES: &[&str] = &[
    "nf_conntrack_netlink",
    "nf_conntrack_ipv4",
    "nf_conntrack_ipv6",
    "nf_conntrack_l3proto_ipv4",
    "nf_conntrack_l3proto_ipv6",
    "nf_conntrack_proto_gre",
    "nf_conntrack_proto_sctp",
    "nf_conntrack_proto_dccp",
    "nf_conntrack_proto_udplite",
    "nf_conntrack_broadcast",
    "nf_conntrack_bridge",
    "nf_conntrack_ovs",
];

/// `kstrtobool`: the first character decides (`1yYtTeE` true, `0nNfFdD` false, `on`/`off`).
pub(super) fn kstrtobool(s: &str) -> Option<bool> {
    let b = s.as_bytes();
    match b.first()? {
        b'1' | b'y' | b'Y' | b't' | b'T' | b'e' | b'E' => Some(true),
        b'0' | b'n' | b'N' | b'f' | b'F' | b'd' | b'D' => Some(false),
        b'o' | b'O' => match b.get(1)? {
            b'n' | b'N' => Some(true),
            b'f' | b'F' => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `kstrtoull` with base 0 (one trailing newline allowed, as the kernel allows).
pub(super) fn kstrtoull(s: &str) -> Option<u64> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let s = s.strip_prefix('+').unwrap_or(s);
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `kstrtoll` with base 0.
pub(super) fn kstrtoll(s: &str) -> Option<i64> {
    if let Some(rest) = s.strip_prefix('-') {
        if rest.starts_with('+') {
            return None;
        }
        let n = kstrtoull(rest)?;
        if n > i64::MAX as u64 + 1 {
            return None;
        }
        Some((n as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(kstrtoull(s)?).ok()
    }
}
