//! SIP messages for the fidelity lab (INVITE with an SDP offer of audio, video and image
//! streams; REGISTER and its 200 OK), byte-exact and with a correct `Content-Length`, as the
//! kernel's SIP helper (`net/netfilter/nf_conntrack_sip.c`) parses them over UDP and TCP.

use std::net::{IpAddr, SocketAddr};

/// `host` for a SIP URI: IPv6 addresses in brackets.
pub fn uri_host(a: IpAddr) -> String {
    match a {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

fn ip_ver(a: IpAddr) -> &'static str {
    if a.is_ipv4() { "IP4" } else { "IP6" }
}

/// A SIP message: first line, headers, `Content-Length`, blank line, body.
pub fn message(first: &str, headers: &[(&str, String)], body: &str) -> Vec<u8> {
    let mut s = format!("{first}\r\n");
    for (n, v) in headers {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.into_bytes()
}

/// The media streams of an SDP offer (`None`: no such `m=` line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Media {
    /// `m=audio <port> RTP/AVP 0`.
    pub audio: Option<u16>,
    /// `m=video <port> RTP/AVP 31`.
    pub video: Option<u16>,
    /// `m=image <port> udptl t38` (T.38 fax).
    pub image: Option<u16>,
}

fn via(transport: &str, from: SocketAddr) -> String {
    format!(
        "SIP/2.0/{transport} {}:{};branch=z9hG4bK-nfh{}",
        uri_host(from.ip()),
        from.port(),
        from.port()
    )
}

/// An INVITE from `from` to `to` offering `media` at `media_addr` (`transport` is `UDP` or
/// `TCP`, for the Via).
pub fn invite(
    transport: &str,
    from: SocketAddr,
    to: IpAddr,
    media_addr: IpAddr,
    media: Media,
) -> Vec<u8> {
    let me = uri_host(from.ip());
    let mut sdp = format!(
        "v=0\r\no=lab 1 1 IN {} {}\r\ns=-\r\nc=IN {} {}\r\nt=0 0\r\n",
        ip_ver(from.ip()),
        from.ip(),
        ip_ver(media_addr),
        media_addr
    );
    if let Some(p) = media.audio {
        sdp.push_str(&format!("m=audio {p} RTP/AVP 0\r\n"));
    }
    if let Some(p) = media.video {
        sdp.push_str(&format!("m=video {p} RTP/AVP 31\r\n"));
    }
    if let Some(p) = media.image {
        sdp.push_str(&format!("m=image {p} udptl t38\r\n"));
    }
    message(
        &format!("INVITE sip:bob@{} SIP/2.0", uri_host(to)),
        &[
            ("Via", via(transport, from)),
            ("Max-Forwards", "70".into()),
            ("From", format!("<sip:alice@{me}>;tag=cli")),
            ("To", format!("<sip:bob@{}>", uri_host(to))),
            ("Call-ID", format!("invite-{}@nfh", from.port())),
            ("CSeq", "1 INVITE".into()),
            ("Contact", format!("<sip:alice@{me}:{}>", from.port())),
            ("Content-Type", "application/sdp".into()),
        ],
        &sdp,
    )
}

fn register_headers(
    transport: &str,
    from: SocketAddr,
    registrar: IpAddr,
    cseq: u32,
) -> Vec<(&'static str, String)> {
    let reg = uri_host(registrar);
    vec![
        ("Via", via(transport, from)),
        ("From", format!("<sip:alice@{reg}>;tag=cli")),
        ("To", format!("<sip:alice@{reg}>")),
        ("Call-ID", format!("register-{}@nfh", from.port())),
        ("CSeq", format!("{cseq} REGISTER")),
    ]
}

/// A REGISTER from `from` with `Contact: <sip:alice@from>` and `Expires`.
pub fn register(
    transport: &str,
    from: SocketAddr,
    registrar: IpAddr,
    cseq: u32,
    expires: u32,
) -> Vec<u8> {
    let mut h = register_headers(transport, from, registrar, cseq);
    h.push((
        "Contact",
        format!("<sip:alice@{}:{}>", uri_host(from.ip()), from.port()),
    ));
    h.push(("Expires", expires.to_string()));
    message(
        &format!("REGISTER sip:{} SIP/2.0", uri_host(registrar)),
        &h,
        "",
    )
}

/// The registrar's `200 OK` to [`register`], echoing the Contact with `expires=`.
pub fn register_ok(
    transport: &str,
    from: SocketAddr,
    registrar: IpAddr,
    cseq: u32,
    expires: u32,
) -> Vec<u8> {
    let mut h = register_headers(transport, from, registrar, cseq);
    h[2].1.push_str(";tag=srv");
    h.push((
        "Contact",
        format!(
            "<sip:alice@{}:{}>;expires={expires}",
            uri_host(from.ip()),
            from.port()
        ),
    ));
    message("SIP/2.0 200 OK", &h, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_counts_the_body() {
        let m = invite(
            "UDP",
            "10.71.1.2:5062".parse().unwrap(),
            "10.71.2.2".parse().unwrap(),
            "10.71.1.2".parse().unwrap(),
            Media {
                audio: Some(49170),
                video: None,
                image: Some(49190),
            },
        );
        let text = String::from_utf8(m).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, body.len());
        assert!(body.contains("m=image 49190 udptl t38\r\n"));
    }
}
