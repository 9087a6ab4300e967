//! The degree-of-freedom model: for every helper, every kind of expectation it creates and
//! every module option setting, where each expectation attribute comes from.
//!
//! An attribute is either pinned to the master connection ([`Freedom::Master`]), parsed from
//! the payload but required to equal a master value ([`Freedom::PayloadChecked`]), parsed
//! freely from the payload ([`Freedom::Payload`], so forgeable by whoever writes the payload),
//! a wildcard, the interface's network, the helper's own port, or a protocol fixed by the
//! helper. The data follow the kernel sources (see `shared/reference/kernel-helpers.md`), not
//! the 2012 article where the two disagree: ftp `loose=1` frees the *destination*, H.323
//! Q.931 expectations are TCP, SIP media classes are audio, video and image.
//!
//! The model also *predicts*: given a master connection and what a command announced,
//! [`ExpectationRule::predict`] builds exactly the expectations the kernel creates, or says why
//! it creates none. The kernel lab in `tests/` checks those predictions against the live
//! kernel.
//!
//! ```
//! use netfilter_helpers_core::catalogue::Helper;
//! use netfilter_helpers_core::dof::{rules_for, Freedom, Endpoint};
//! use netfilter_helpers_core::options::ModuleOptions;
//!
//! let mut opts = ModuleOptions::new();
//! let ftp = &rules_for(Helper::Ftp, &opts)[0];
//! assert_eq!(ftp.freedoms.dst_addr, Freedom::PayloadChecked(Endpoint::Sender));
//! assert_eq!(ftp.freedoms.src_addr, Freedom::Master(Endpoint::Peer));
//!
//! opts.set_assignment("ftp.loose=1").unwrap();
//! let ftp = &rules_for(Helper::Ftp, &opts)[0];
//! assert_eq!(ftp.freedoms.dst_addr, Freedom::Payload);
//! // loose=1 does not free the source address (the article's table says it does).
//! assert_eq!(ftp.freedoms.src_addr, Freedom::Master(Endpoint::Peer));
//! ```

mod kinds;
mod predict;
mod rules;
mod table;

pub use kinds::*;
pub use predict::*;
pub use rules::*;
pub use table::*;

crate::spelling::spelling! {
    Attribute {
        SrcAddr => "src_addr",
        SrcPort => "src_port",
        DstAddr => "dst_addr",
        DstPort => "dst_port",
        L4 => "l4",
    }
}

crate::spelling::spelling! {
    CommandFrom {
        Initiator => "initiator",
        Responder => "responder",
        Either => "either",
    }
}

crate::spelling::spelling! {
    Endpoint {
        Initiator => "initiator",
        Responder => "responder",
        Sender => "sender",
        Peer => "peer",
    }
}

crate::spelling::spelling! {
    ExpectationKind {
        AmandaData => "amanda-data",
        FtpData => "ftp-data",
        IrcDcc => "irc-dcc",
        NetbiosNsReply => "netbios-ns-reply",
        SnmpReply => "snmp-reply",
        PptpGre => "pptp-gre",
        SaneData => "sane-data",
        SipSignalling => "sip-signalling",
        SipAudio => "sip-audio",
        SipVideo => "sip-video",
        SipImage => "sip-image",
        TftpData => "tftp-data",
        RasFromGcf => "ras-from-gcf",
        Q931FromRrq => "q931-from-rrq",
        Q931FromAcf => "q931-from-acf",
        Q931FromLcf => "q931-from-lcf",
        H245FromQ931 => "h245-from-q931",
        Q931CallForward => "q931-call-forward",
        H323RtpRtcp => "h323-rtp-rtcp",
        H323T120 => "h323-t120",
    }
}

crate::spelling::spelling! {
    PortRule {
        Any => "any",
        NonZero => "non-zero",
        Unprivileged => "unprivileged",
        SdpRtpPair => "sdp-rtp-pair",
        H323RtpPair => "h323-rtp-pair",
        GreCallIds => "gre-call-ids",
        FromMaster => "from-master",
    }
}

crate::spelling::spelling! {
    RouteCheck {
        Interface => "interface",
        NextHopAndInterface => "next-hop-and-interface",
    }
}

crate::spelling::spelling! {
    Side {
        Initiator => "initiator",
        Responder => "responder",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::net::L4Proto;
    use crate::options::ModuleOptions;
    use Endpoint as E;
    use Freedom as F;
    use std::net::IpAddr;

    fn o() -> ModuleOptions {
        ModuleOptions::new()
    }

    #[test]
    fn every_kind_has_a_helper_class() {
        for k in ExpectationKind::ALL {
            let r = rule(k, &o());
            assert!(
                r.helper.info().class(r.class).is_some(),
                "{k:?} class {:?}",
                r.class
            );
            assert!(r.count >= 1);
            assert_ne!(r.freedoms.dst_port, F::Wildcard, "{k:?}");
        }
    }

    #[test]
    fn kernel_disagreements_with_the_article() {
        // D3: every Q.931 expectation is TCP.
        for k in [
            ExpectationKind::Q931FromRrq,
            ExpectationKind::Q931FromAcf,
            ExpectationKind::Q931FromLcf,
            ExpectationKind::Q931CallForward,
        ] {
            assert_eq!(rule(k, &o()).freedoms.l4, F::Protocol(L4Proto::Tcp));
        }
        // D6: sip_direct_signalling=0 frees the source, not the destination.
        let mut x = o();
        x.set_assignment("sip.sip_direct_signalling=0").unwrap();
        let s = rule(ExpectationKind::SipSignalling, &x);
        assert_eq!(s.freedoms.src_addr, F::Wildcard);
        assert_eq!(s.freedoms.dst_addr, F::PayloadChecked(E::Sender));
        // D9: tftp's destination port comes from the master.
        assert_eq!(
            rule(ExpectationKind::TftpData, &o()).freedoms.dst_port,
            F::Master(E::Initiator)
        );
        // gkrouted_only=0 frees the RRQ Q.931 source.
        let mut x = o();
        x.set_assignment("h323.gkrouted_only=0").unwrap();
        assert_eq!(
            rule(ExpectationKind::Q931FromRrq, &x).freedoms.src_addr,
            F::Wildcard
        );
    }

    #[test]
    fn risk_only_where_payload_opens_a_hole() {
        assert!(rule(ExpectationKind::FtpData, &o()).risk.is_none());
        assert!(rule(ExpectationKind::SipAudio, &o()).risk.is_none());
        assert!(rule(ExpectationKind::TftpData, &o()).risk.is_none());
        assert!(rule(ExpectationKind::IrcDcc, &o()).risk.is_some());
    }

    #[test]
    fn predictions() {
        let m = Master::new(
            "sip",
            "10.0.0.2:5062".parse().unwrap(),
            "10.0.1.2:5060".parse().unwrap(),
            L4Proto::Udp,
        )
        .unwrap();
        let audio = rule(ExpectationKind::SipAudio, &o());
        let e = audio
            .predict(
                &m,
                &Announcement::new(Side::Initiator, Some("10.0.0.2".parse().unwrap()), 49171),
            )
            .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].dport, e[1].dport), (49170, 49171));
        assert_eq!(e[0].src.to_string(), "10.0.1.2");
        assert_eq!(e[0].class, 1);
        let low = audio.predict(
            &m,
            &Announcement::new(Side::Initiator, Some("10.0.0.2".parse().unwrap()), 80),
        );
        assert!(low.is_err());

        let t = Master::new(
            "tftp",
            "10.0.0.2:40001".parse().unwrap(),
            "10.0.1.2:69".parse().unwrap(),
            L4Proto::Udp,
        )
        .unwrap();
        let e = rule(ExpectationKind::TftpData, &o())
            .predict(&t, &Announcement::new(Side::Initiator, None, 0))
            .unwrap();
        assert_eq!(
            e[0].to_proc_line(Some(300), None),
            "300 l3proto = 2 proto=17 src=10.0.1.2 dst=10.0.0.2 sport=0 dport=40001 tftp"
        );

        let nb = Master::new(
            "netbios-ns",
            "192.168.1.10:137".parse().unwrap(),
            "192.168.1.255:137".parse().unwrap(),
            L4Proto::Udp,
        )
        .unwrap();
        let mut a = Announcement::new(Side::Initiator, None, 0);
        a.interface_prefix = Some(24);
        let e = rule(ExpectationKind::NetbiosNsReply, &o())
            .predict(&nb, &a)
            .unwrap();
        assert_eq!(
            e[0].to_conntrack_line(Some(2)),
            "2 proto=17 src=192.168.1.255 dst=192.168.1.10 sport=137 dport=137 mask-src=255.255.255.0 mask-dst=255.255.255.255 sport=65535 dport=65535 master-src=192.168.1.10 master-dst=192.168.1.255 sport=137 dport=137 PERMANENT class=0 helper=netbios-ns"
        );
    }

    #[test]
    fn gcf_naming_the_senders_own_ras_port_is_refused() {
        // process_gcf(): as the kernel lab shows (lab_fidelity h323_ras_matches_the_model).
        let m = Master::new(
            "RAS",
            "10.71.1.2:41719".parse().unwrap(),
            "10.71.2.2:1719".parse().unwrap(),
            L4Proto::Udp,
        )
        .unwrap();
        let gcf = rule(ExpectationKind::RasFromGcf, &o());
        let gk: IpAddr = "10.71.2.2".parse().unwrap();
        let own = gcf.predict(&m, &Announcement::new(Side::Responder, Some(gk), 1719));
        assert!(
            own.unwrap_err()
                .reason
                .contains("the sender's own RAS address")
        );
        let other = gcf
            .predict(&m, &Announcement::new(Side::Responder, Some(gk), 1819))
            .unwrap();
        assert_eq!(
            (other[0].src.to_string(), other[0].dport),
            ("10.71.1.2".into(), 1819)
        );
    }

    #[test]
    fn acf_naming_its_receiver_is_refused_lcf_is_not() {
        // process_acf() refuses a destCallSignalAddress equal to the ACF's receiver (at any
        // port); process_lcf() makes an expectation from the receiver to itself. As the
        // kernel lab shows (lab_fidelity h323_ras_matches_the_model).
        for (ep, gk, third) in [
            ("10.71.1.2", "10.71.2.2", "10.71.3.2"),
            ("fd71:1::2", "fd71:2::2", "fd71:3::2"),
        ] {
            let ep: IpAddr = ep.parse().unwrap();
            let gk: IpAddr = gk.parse().unwrap();
            let third: IpAddr = third.parse().unwrap();
            let m = Master::new(
                "RAS",
                std::net::SocketAddr::new(ep, 41719),
                std::net::SocketAddr::new(gk, 1719),
                L4Proto::Udp,
            )
            .unwrap();
            let acf = rule(ExpectationKind::Q931FromAcf, &o());
            let lcf = rule(ExpectationKind::Q931FromLcf, &o());
            // The gatekeeper (responder) answers the endpoint: the endpoint receives.
            for port in [1720, 1722, 0] {
                let refused = acf
                    .predict(&m, &Announcement::new(Side::Responder, Some(ep), port))
                    .unwrap_err();
                assert_eq!(refused.kind, ExpectationKind::Q931FromAcf);
                assert!(
                    refused
                        .reason
                        .contains(&format!("{ep} is the master's peer")),
                    "{refused}"
                );
                let own = lcf
                    .predict(&m, &Announcement::new(Side::Responder, Some(ep), port))
                    .unwrap();
                assert_eq!(own.len(), 1);
                assert_eq!((own[0].src, own[0].dst, own[0].dport), (ep, ep, port));
            }
            // Sent the other way, the gatekeeper receives: naming it is refused, naming the
            // endpoint is not.
            assert!(
                acf.predict(&m, &Announcement::new(Side::Initiator, Some(gk), 1720))
                    .is_err()
            );
            let back = acf
                .predict(&m, &Announcement::new(Side::Initiator, Some(ep), 1720))
                .unwrap();
            assert_eq!((back[0].src, back[0].dst), (gk, ep));
            // A third party, or the sender itself, is tracked by both.
            for to in [third, gk] {
                for r in [&acf, &lcf] {
                    let e = r
                        .predict(&m, &Announcement::new(Side::Responder, Some(to), 1720))
                        .unwrap();
                    assert_eq!((e[0].src, e[0].dst, e[0].dport), (ep, to, 1720));
                    assert_eq!(e[0].flags, crate::expect::ExpectFlags::PERMANENT);
                }
            }
        }
    }

    #[test]
    fn route_checks_decide_call_forwarding_and_external_media() {
        // As the kernel lab shows (lab_fidelity h323_call_forward_follows_callforward_filter).
        let m = Master::new(
            "Q.931",
            "10.71.1.2:40000".parse().unwrap(),
            "10.71.2.2:1720".parse().unwrap(),
            L4Proto::Tcp,
        )
        .unwrap();
        let to: IpAddr = "10.71.9.5".parse().unwrap();
        let mut a = Announcement::new(Side::Responder, Some(to), 1720);
        let fwd = rule(ExpectationKind::Q931CallForward, &o());
        let missing = fwd.predict(&m, &a).unwrap_err();
        assert!(
            missing
                .reason
                .contains("route to the announced address is needed")
        );
        a.route = Some(Route {
            same_interface: true,
            same_next_hop: true,
        });
        assert!(
            fwd.predict(&m, &a)
                .unwrap_err()
                .reason
                .starts_with("callforward_filter=1")
        );
        // Same interface, another next hop: tracked.
        a.route = Some(Route {
            same_interface: true,
            same_next_hop: false,
        });
        let e = fwd.predict(&m, &a).unwrap();
        assert_eq!((e[0].src.to_string(), e[0].dst), ("10.71.1.2".into(), to));
        // callforward_filter=0 needs no route.
        let mut x = o();
        x.set_assignment("h323.callforward_filter=0").unwrap();
        a.route = None;
        assert_eq!(
            rule(ExpectationKind::Q931CallForward, &x)
                .predict(&m, &a)
                .unwrap()
                .len(),
            1
        );
        // sip_external_media=1 (with sip_direct_media=0) looks at the interface only.
        let mut x = o();
        x.set_assignment("sip.sip_direct_media=0").unwrap();
        x.set_assignment("sip.sip_external_media=1").unwrap();
        let sip = Master::new(
            "sip",
            "10.71.1.2:5060".parse().unwrap(),
            "10.71.2.2:5060".parse().unwrap(),
            L4Proto::Udp,
        )
        .unwrap();
        let mut a = Announcement::new(Side::Initiator, Some("10.71.2.3".parse().unwrap()), 49170);
        a.route = Some(Route {
            same_interface: true,
            same_next_hop: false,
        });
        let audio = rule(ExpectationKind::SipAudio, &x);
        assert!(
            audio
                .predict(&sip, &a)
                .unwrap_err()
                .reason
                .starts_with("sip_external_media=1")
        );
        a.route = Some(Route {
            same_interface: false,
            same_next_hop: false,
        });
        assert_eq!(audio.predict(&sip, &a).unwrap().len(), 2);
    }

    #[test]
    fn article_table_shape() {
        let t = Table::build(&o()).to_article_text();
        let ftp = t.lines().find(|l| l.starts_with("ftp ")).unwrap();
        let cols: Vec<&str> = ftp.split("  ").filter(|c| !c.trim().is_empty()).collect();
        assert_eq!(
            cols.iter().map(|c| c.trim()).collect::<Vec<_>>(),
            [
                "ftp",
                "Fixed",
                "0-65535",
                "Fixed",
                "In CMD",
                "TCP",
                "loose = 0 (default)"
            ]
        );
    }
}
