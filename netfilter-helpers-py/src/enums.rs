//! Python enums for the core's closed sets: simple `#[pyclass]` enums, frozen, hashable and
//! ordered, with the core's canonical spelling as `value` and `str()`, constructible from that
//! spelling (`Helper('ftp')`, `Backend('nft-json')`) and accepted as arguments either as a
//! member or as text.

use netfilter_helpers_core::audit::AuditCode;
use netfilter_helpers_core::catalogue::{ExpectClass, Helper, Module, Naming};
use netfilter_helpers_core::conform::Code;
use netfilter_helpers_core::dof::{
    Attribute, CommandFrom, Endpoint, ExpectationKind, PortRule, Side,
};
use netfilter_helpers_core::ir::ChainKind;
use netfilter_helpers_core::kernel::{AutoAssignment, PortsEffect};
use netfilter_helpers_core::net::RpFilter;
use netfilter_helpers_core::net::{Family, L4Proto};
use netfilter_helpers_core::options::{OptionCode, Param, ParamKind};
use netfilter_helpers_core::parse::{Event, Format};
use netfilter_helpers_core::policy::DefaultRule;
use netfilter_helpers_core::render::Backend;
use netfilter_helpers_core::report::Severity;
use netfilter_helpers_core::site::{Direction, Mode, NameMatch, UnknownInterfaces};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyString, PyType};

use crate::error::{Error, Result};

/// What every binding enum offers: its members, canonical text and parsing.
pub(crate) trait PyEnum: Sized + Copy + 'static {
    /// The Python class name.
    const CLASS: &'static str;
    /// Every member, in declaration order.
    const MEMBERS: &'static [Self];
    /// The canonical text (the core's spelling).
    fn value(self) -> &'static str;
    /// The member's Python name (`FTP`).
    fn member_name(self) -> &'static str;
    /// Parses text that is not a member's value or name (the core's aliases).
    fn parse_alias(text: &str) -> Option<Result<Self>> {
        let _ = text;
        None
    }
    /// Parses a member's value, name or an alias the core accepts.
    fn parse_text(text: &str) -> Result<Self> {
        if let Some(v) = Self::MEMBERS
            .iter()
            .copied()
            .find(|v| v.value() == text || v.member_name() == text)
        {
            return Ok(v);
        }
        if let Some(r) = Self::parse_alias(text) {
            return r;
        }
        Err(Error::UnknownValue {
            class: Self::CLASS,
            text: text.to_string(),
            expected: Self::MEMBERS
                .iter()
                .map(|v| v.value())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

/// What `__reduce__` returns for an enum member.
type Reduced<'py> = (Bound<'py, PyAny>, (Bound<'py, PyType>, &'static str));

/// `(getattr, (cls, name))`: how an enum member pickles.
fn reduce_member<'py>(cls: Bound<'py, PyType>, name: &'static str) -> PyResult<Reduced<'py>> {
    let getattr = cls.py().import("builtins")?.getattr("getattr")?;
    Ok((getattr, (cls, name)))
}

/// A Python enum class: the pyclass, `PyEnum`, extraction from the member or its text, and
/// the common methods (`value`, `name`, `members`, `str`, `hash`, `repr`, pickling).
macro_rules! py_enum_class {
    (
        $(#[doc = $doc:literal])*
        $py:ident($pyname:literal)
        $(, alias = ($alias:expr))?
        {
            $( $(#[doc = $vdoc:literal])* $var:ident $(= $disc:literal)? : $value:literal ),+ $(,)?
        }
        $(methods { $($extra:tt)* })?
    ) => {
        $(#[doc = $doc])*
        #[pyclass(eq, eq_int, ord, frozen, module = "netfilter_helpers", name = $pyname)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub(crate) enum $py {
            $( $(#[doc = $vdoc])* $var $(= $disc)? ),+
        }

        impl PyEnum for $py {
            const CLASS: &'static str = $pyname;
            const MEMBERS: &'static [Self] = &[$($py::$var),+];
            fn value(self) -> &'static str {
                match self { $($py::$var => $value),+ }
            }
            fn member_name(self) -> &'static str {
                match self { $($py::$var => stringify!($var)),+ }
            }
            $(fn parse_alias(text: &str) -> Option<Result<Self>> {
                let f: fn(&str) -> Option<Result<Self>> = $alias;
                f(text)
            })?
        }

        impl<'a, 'py> FromPyObject<'a, 'py> for $py {
            type Error = PyErr;
            fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
                if let Ok(v) = obj.cast::<$py>() {
                    return Ok(*v.get());
                }
                if let Ok(s) = obj.cast::<PyString>() {
                    return Ok(<$py as PyEnum>::parse_text(&s.to_cow()?)?);
                }
                Err(PyTypeError::new_err(format!(
                    "expected {} or str, got {}",
                    $pyname,
                    obj.get_type().name()?
                )))
            }
        }

        #[pymethods]
        impl $py {
            /// The member whose value (or name) is the text, or the member itself.
            #[new]
            fn __new__(value: $py) -> $py {
                value
            }

            /// The canonical text (the spelling the kernel and the core use).
            #[getter(value)]
            fn py_value(&self) -> &'static str {
                self.value()
            }

            /// The member's name.
            #[getter(name)]
            fn py_name(&self) -> &'static str {
                self.member_name()
            }

            /// Every member, in declaration order.
            #[staticmethod]
            fn members() -> Vec<$py> {
                <$py as PyEnum>::MEMBERS.to_vec()
            }

            fn __str__(&self) -> &'static str {
                self.value()
            }

            /// The hash of the member's int, as members equal their int.
            fn __hash__(&self) -> u64 {
                *self as u64
            }

            fn __repr__(&self) -> String {
                format!("{}.{}", $pyname, self.member_name())
            }

            fn __reduce__<'py>(
                slf: &Bound<'py, Self>,
            ) -> PyResult<Reduced<'py>> {
                reduce_member(slf.as_any().get_type(), slf.get().member_name())
            }

            $($($extra)*)?
        }
    };
}

/// A Python enum over a closed core set, with conversions both ways: [`py_enum_class!`]
/// plus `From` impls.
macro_rules! py_enum {
    (
        $(#[doc = $doc:literal])*
        $py:ident($pyname:literal) <=> $core:ident
        $(, alias = ($alias:expr))?
        {
            $( $(#[doc = $vdoc:literal])* $var:ident $(= $disc:literal)? <=> $corevar:ident : $value:literal ),+ $(,)?
        }
        $(methods { $($extra:tt)* })?
    ) => {
        py_enum_class! {
            $(#[doc = $doc])*
            $py($pyname) $(, alias = ($alias))?
            {
                $( $(#[doc = $vdoc])* $var $(= $disc)? : $value ),+
            }
            $(methods { $($extra)* })?
        }

        impl From<$py> for $core {
            fn from(v: $py) -> $core {
                match v { $($py::$var => $core::$corevar),+ }
            }
        }

        impl From<$core> for $py {
            fn from(v: $core) -> $py {
                #[allow(unreachable_patterns)]
                match v {
                    $($core::$corevar => $py::$var,)+
                    other => unreachable!(
                        "the core added {other:?} to {}: update netfilter-helpers-py",
                        stringify!($core)
                    ),
                }
            }
        }

    };
}

fn core_parse<C: std::str::FromStr, P: From<C>>(text: &str) -> Option<Result<P>>
where
    Error: From<C::Err>,
{
    Some(text.parse::<C>().map(P::from).map_err(Error::from))
}

py_enum! {
    /// A conntrack helper as the kernel registers it (`Helper('ftp')`, `Helper('Q.931')`).
    PyHelper("Helper") <=> Helper, alias = (core_parse::<Helper, PyHelper>) {
        AMANDA <=> Amanda: "amanda",
        FTP <=> Ftp: "ftp",
        IRC <=> Irc: "irc",
        NETBIOS_NS <=> NetbiosNs: "netbios-ns",
        SNMP <=> Snmp: "snmp",
        PPTP <=> Pptp: "pptp",
        SANE <=> Sane: "sane",
        SIP <=> Sip: "sip",
        TFTP <=> Tftp: "tftp",
        RAS <=> Ras: "RAS",
        Q931 <=> Q931: "Q.931",
        H245 <=> H245: "H.245",
    }
    methods {
        /// The kernel facts about this helper.
        fn info(&self) -> crate::catalogue::PyHelperInfo {
            crate::catalogue::PyHelperInfo(Helper::from(*self))
        }

        /// The module that registers this helper.
        #[getter]
        fn module(&self) -> PyHelperModule {
            Helper::from(*self).module().into()
        }

        /// The kinds of expectation this helper creates.
        fn kinds(&self) -> Vec<PyExpectationKind> {
            netfilter_helpers_core::dof::kinds_of((*self).into())
                .into_iter()
                .map(Into::into)
                .collect()
        }
    }
}

py_enum! {
    /// A kernel module that registers helpers (`Module('nf_conntrack_ftp')`, `Module('ftp')`).
    PyHelperModule("Module") <=> Module, alias = (core_parse::<Module, PyHelperModule>) {
        CONNTRACK <=> Conntrack: "nf_conntrack",
        AMANDA <=> Amanda: "nf_conntrack_amanda",
        FTP <=> Ftp: "nf_conntrack_ftp",
        H323 <=> H323: "nf_conntrack_h323",
        IRC <=> Irc: "nf_conntrack_irc",
        NETBIOS_NS <=> NetbiosNs: "nf_conntrack_netbios_ns",
        PPTP <=> Pptp: "nf_conntrack_pptp",
        SANE <=> Sane: "nf_conntrack_sane",
        SIP <=> Sip: "nf_conntrack_sip",
        SNMP <=> Snmp: "nf_conntrack_snmp",
        TFTP <=> Tftp: "nf_conntrack_tftp",
    }
    methods {
        /// The short name (`ftp`, `h323`, `conntrack`).
        #[getter]
        fn short_name(&self) -> &'static str {
            Module::from(*self).short_name()
        }

        /// The helpers this module registers.
        fn helpers(&self) -> Vec<PyHelper> {
            Module::from(*self).helpers().into_iter().map(Into::into).collect()
        }
    }
}

py_enum! {
    /// An address family; the members equal the `ipaddress` version numbers (4 and 6).
    PyFamily("Family") <=> Family, alias = (core_parse::<Family, PyFamily>) {
        IPV4 = 4 <=> Ipv4: "ipv4",
        IPV6 = 6 <=> Ipv6: "ipv6",
    }
    methods {
        /// The `l3proto` number the kernel prints (2 or 10).
        #[getter]
        fn l3proto(&self) -> u8 {
            Family::from(*self).l3proto()
        }

        /// The family of an `l3proto` number, or None.
        #[staticmethod]
        fn from_l3proto(number: u8) -> Option<PyFamily> {
            Family::from_l3proto(number).map(Into::into)
        }

        /// The family of an address.
        #[staticmethod]
        fn of(address: std::net::IpAddr) -> PyFamily {
            Family::of(&address).into()
        }
    }
}

py_enum! {
    /// An expectation class (`class=` in conntrack lines, `/audio` in `/proc` lines).
    PyExpectClass("ExpectClass") <=> ExpectClass, alias = (core_parse::<ExpectClass, PyExpectClass>) {
        DEFAULT <=> Default: "default",
        SIGNALLING <=> Signalling: "signalling",
        AUDIO <=> Audio: "audio",
        VIDEO <=> Video: "video",
        IMAGE <=> Image: "image",
    }
    methods {
        /// The class number the kernel prints as `class=`.
        #[getter]
        fn number(&self) -> u8 {
            ExpectClass::from(*self).number()
        }

        /// The policy name `/proc` appends (`audio`), None for the default class.
        #[getter]
        fn policy_name(&self) -> Option<&'static str> {
            ExpectClass::from(*self).policy_name()
        }

        /// The class with this number for this helper.
        #[staticmethod]
        fn from_number(helper: PyHelper, number: u8) -> Result<PyExpectClass> {
            Ok(ExpectClass::from_number(helper.into(), number)?.into())
        }
    }
}

py_enum! {
    /// How `ports=` names the extra registrations of a helper.
    PyNaming("Naming") <=> Naming {
        FIXED <=> Fixed: "fixed",
        PORT <=> Port: "port",
        INDEX <=> Index: "index",
    }
}

py_enum! {
    /// The type of a module parameter.
    PyParamKind("ParamKind") <=> ParamKind {
        BOOL <=> Bool: "bool",
        INT <=> Int: "int",
        UINT <=> Uint: "uint",
        PORTS <=> Ports: "ports",
        TEXT <=> Text: "text",
    }
    methods {
        /// The kernel's name of the type (`ushort array`, `charp`).
        #[getter]
        fn kernel_type(&self) -> String {
            ParamKind::from(*self).to_string()
        }
    }
}

py_enum! {
    /// A module parameter (`Param('nf_conntrack_ftp.loose')`, `Param('ftp.loose')`).
    PyParam("Param") <=> Param, alias = (core_parse::<Param, PyParam>) {
        CONNTRACK_HELPER <=> ConntrackHelper: "nf_conntrack.nf_conntrack_helper",
        AMANDA_MASTER_TIMEOUT <=> AmandaMasterTimeout: "nf_conntrack_amanda.master_timeout",
        AMANDA_TS_ALGO <=> AmandaTsAlgo: "nf_conntrack_amanda.ts_algo",
        FTP_PORTS <=> FtpPorts: "nf_conntrack_ftp.ports",
        FTP_LOOSE <=> FtpLoose: "nf_conntrack_ftp.loose",
        H323_DEFAULT_RRQ_TTL <=> H323DefaultRrqTtl: "nf_conntrack_h323.default_rrq_ttl",
        H323_GKROUTED_ONLY <=> H323GkroutedOnly: "nf_conntrack_h323.gkrouted_only",
        H323_CALLFORWARD_FILTER <=> H323CallforwardFilter: "nf_conntrack_h323.callforward_filter",
        IRC_PORTS <=> IrcPorts: "nf_conntrack_irc.ports",
        IRC_MAX_DCC_CHANNELS <=> IrcMaxDccChannels: "nf_conntrack_irc.max_dcc_channels",
        IRC_DCC_TIMEOUT <=> IrcDccTimeout: "nf_conntrack_irc.dcc_timeout",
        NETBIOS_NS_TIMEOUT <=> NetbiosNsTimeout: "nf_conntrack_netbios_ns.timeout",
        SANE_PORTS <=> SanePorts: "nf_conntrack_sane.ports",
        SIP_PORTS <=> SipPorts: "nf_conntrack_sip.ports",
        SIP_TIMEOUT <=> SipTimeout: "nf_conntrack_sip.sip_timeout",
        SIP_DIRECT_SIGNALLING <=> SipDirectSignalling: "nf_conntrack_sip.sip_direct_signalling",
        SIP_DIRECT_MEDIA <=> SipDirectMedia: "nf_conntrack_sip.sip_direct_media",
        SIP_EXTERNAL_MEDIA <=> SipExternalMedia: "nf_conntrack_sip.sip_external_media",
        SNMP_TIMEOUT <=> SnmpTimeout: "nf_conntrack_snmp.timeout",
        TFTP_PORTS <=> TftpPorts: "nf_conntrack_tftp.ports",
    }
    methods {
        /// The parameter's declaration.
        fn spec(&self) -> crate::options::PyParamSpec {
            crate::options::PyParamSpec(Param::from(*self))
        }

        /// The module the parameter belongs to.
        #[getter]
        fn module(&self) -> PyHelperModule {
            Param::from(*self).spec().module.into()
        }

        /// The parameter's name in `modprobe.d` and `/sys` (`loose`).
        #[getter]
        fn param_name(&self) -> &'static str {
            Param::from(*self).spec().name
        }

        /// Finds a parameter by module (`nf_conntrack_ftp`, `ftp`) and parameter name.
        #[staticmethod]
        fn lookup(module: &str, param: &str) -> Result<PyParam> {
            Ok(Param::lookup(module, param)?.into())
        }

        /// Parses a value the way the kernel does and checks its range.
        fn parse_value<'py>(&self, py: Python<'py>, text: &str) -> Result<Bound<'py, PyAny>> {
            Ok(crate::options::value_out(py, &Param::from(*self).parse_value(text)?)?)
        }

        /// The kernel default.
        fn default_value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            crate::options::value_out(py, &Param::from(*self).default_value())
        }

        /// Checks a value (bool, int, list of ports or str) against the type and range;
        /// raises OptionError when the kernel refuses it.
        fn check(&self, value: &Bound<'_, PyAny>) -> Result<()> {
            let p = Param::from(*self);
            let v = p.parse_value(&crate::options::value_text(value)?)?;
            p.check(&v)?;
            Ok(())
        }

        /// Why a value is dangerous, or None.
        fn danger_of(&self, value: &Bound<'_, PyAny>) -> Result<Option<&'static str>> {
            let p = Param::from(*self);
            let v = p.parse_value(&crate::options::value_text(value)?)?;
            Ok(p.danger_of(&v))
        }
    }
}

py_enum! {
    /// How serious a finding is (ordered: INFO < WARNING < ERROR).
    PySeverity("Severity") <=> Severity {
        INFO <=> Info: "info",
        WARNING <=> Warning: "warning",
        ERROR <=> Error: "error",
    }
}

py_enum! {
    /// Stable codes of module option findings.
    PyOptionCode("OptionCode") <=> OptionCode {
        MALFORMED_LINE <=> MalformedLine: "malformed-line",
        UNKNOWN_MODULE <=> UnknownModule: "unknown-module",
        UNKNOWN_PARAMETER <=> UnknownParameter: "unknown-parameter",
        INVALID_VALUE <=> InvalidValue: "invalid-value",
        OUT_OF_RANGE <=> OutOfRange: "out-of-range",
        TOO_MANY_VALUES <=> TooManyValues: "too-many-values",
        DUPLICATE_PORT <=> DuplicatePort: "duplicate-port",
        MISSING_VALUE <=> MissingValue: "missing-value",
        DUPLICATE_SETTING <=> DuplicateSetting: "duplicate-setting",
        DANGEROUS_OPTION <=> DangerousOption: "dangerous-option",
        REMOVED_PARAMETER <=> RemovedParameter: "removed-parameter",
        PORTS_RENAME_ONLY <=> PortsRenameOnly: "ports-rename-only",
        OTHER_MODULE <=> OtherModule: "other-module",
        OTHER_DIRECTIVE <=> OtherDirective: "other-directive",
    }
}

py_enum! {
    /// An endpoint of the master connection.
    PyEndpoint("Endpoint") <=> Endpoint {
        INITIATOR <=> Initiator: "initiator",
        RESPONDER <=> Responder: "responder",
        SENDER <=> Sender: "sender",
        PEER <=> Peer: "peer",
    }
}

py_enum_class! {
    /// The kinds of `Freedom` (the core's `Freedom` variants).
    PyFreedomKind("FreedomKind") {
        /// `M(x)`: copied from the master connection.
        MASTER: "master",
        /// `P=M(x)`: parsed from the payload, must equal the master's value.
        PAYLOAD_CHECKED: "payload-checked",
        /// `P`: parsed freely from the payload (forgeable).
        PAYLOAD: "payload",
        /// `*`: anything matches.
        WILDCARD: "wildcard",
        /// `NET`: the network of the outgoing interface.
        INTERFACE_NETWORK: "interface-network",
        /// `H`: the helper's registered port.
        HELPER_PORT: "helper-port",
        /// A protocol the helper always uses.
        PROTOCOL: "protocol",
        /// `P=M(l4)`: the master connection's protocol.
        MASTER_PROTOCOL: "master-protocol",
    }
}

py_enum! {
    /// An expectation attribute.
    PyAttribute("Attribute") <=> Attribute {
        SRC_ADDR <=> SrcAddr: "src_addr",
        SRC_PORT <=> SrcPort: "src_port",
        DST_ADDR <=> DstAddr: "dst_addr",
        DST_PORT <=> DstPort: "dst_port",
        L4 <=> L4: "l4",
    }
    methods {
        /// The attribute in words (`destination port`).
        #[getter]
        fn words(&self) -> &'static str {
            Attribute::from(*self).words()
        }

        /// The 2012 article's column title.
        #[getter]
        fn article_title(&self) -> &'static str {
            Attribute::from(*self).article_title()
        }
    }
}

py_enum! {
    /// A kind of expectation a helper creates.
    PyExpectationKind("ExpectationKind") <=> ExpectationKind {
        AMANDA_DATA <=> AmandaData: "amanda-data",
        FTP_DATA <=> FtpData: "ftp-data",
        IRC_DCC <=> IrcDcc: "irc-dcc",
        NETBIOS_NS_REPLY <=> NetbiosNsReply: "netbios-ns-reply",
        SNMP_REPLY <=> SnmpReply: "snmp-reply",
        PPTP_GRE <=> PptpGre: "pptp-gre",
        SANE_DATA <=> SaneData: "sane-data",
        SIP_SIGNALLING <=> SipSignalling: "sip-signalling",
        SIP_AUDIO <=> SipAudio: "sip-audio",
        SIP_VIDEO <=> SipVideo: "sip-video",
        SIP_IMAGE <=> SipImage: "sip-image",
        TFTP_DATA <=> TftpData: "tftp-data",
        RAS_FROM_GCF <=> RasFromGcf: "ras-from-gcf",
        Q931_FROM_RRQ <=> Q931FromRrq: "q931-from-rrq",
        Q931_FROM_ACF_LCF <=> Q931FromAcfLcf: "q931-from-acf-lcf",
        H245_FROM_Q931 <=> H245FromQ931: "h245-from-q931",
        Q931_CALL_FORWARD <=> Q931CallForward: "q931-call-forward",
        H323_RTP_RTCP <=> H323RtpRtcp: "h323-rtp-rtcp",
        H323_T120 <=> H323T120: "h323-t120",
    }
    methods {
        /// A short label for tables (`data`, `dcc`, `audio`).
        #[getter]
        fn label(&self) -> &'static str {
            ExpectationKind::from(*self).label()
        }
    }
}

py_enum! {
    /// Which side's packets a helper parses for an expectation kind.
    PyCommandFrom("CommandFrom") <=> CommandFrom {
        INITIATOR <=> Initiator: "initiator",
        RESPONDER <=> Responder: "responder",
        EITHER <=> Either: "either",
    }
}

py_enum! {
    /// What the kernel requires of, or does to, the announced destination port.
    PyPortRule("PortRule") <=> PortRule {
        ANY <=> Any: "any",
        NON_ZERO <=> NonZero: "non-zero",
        UNPRIVILEGED <=> Unprivileged: "unprivileged",
        SDP_RTP_PAIR <=> SdpRtpPair: "sdp-rtp-pair",
        H323_RTP_PAIR <=> H323RtpPair: "h323-rtp-pair",
        GRE_CALL_IDS <=> GreCallIds: "gre-call-ids",
        FROM_MASTER <=> FromMaster: "from-master",
    }
}

py_enum! {
    /// A side of the master connection.
    PySide("Side") <=> Side {
        INITIATOR <=> Initiator: "initiator",
        RESPONDER <=> Responder: "responder",
    }
}

py_enum! {
    /// How a kernel attaches helpers no rule assigned.
    PyAutoAssignment("AutoAssignment") <=> AutoAssignment {
        ALWAYS <=> Always: "always",
        KNOB_DEFAULT_ON <=> KnobDefaultOn: "knob-default-on",
        KNOB_DEFAULT_OFF <=> KnobDefaultOff: "knob-default-off",
        REMOVED <=> Removed: "removed",
    }
}

py_enum! {
    /// What `ports=` does on a kernel.
    PyPortsEffect("PortsEffect") <=> PortsEffect {
        NAMES_AND_AUTO_ASSIGNMENT <=> NamesAndAutoAssignment: "names-and-auto-assignment",
        NAMES_ONLY <=> NamesOnly: "names-only",
    }
}

py_enum! {
    /// Which text form an expectation line was in.
    PyFormat("Format") <=> Format {
        PROC <=> Proc: "proc",
        CONNTRACK <=> Conntrack: "conntrack",
    }
}

py_enum! {
    /// A `conntrack -E` event.
    PyEvent("Event") <=> Event {
        NEW <=> New: "new",
        UPDATE <=> Update: "update",
        DESTROY <=> Destroy: "destroy",
    }
}

py_enum! {
    /// Stable codes of conformance and policy findings.
    PyCode("Code") <=> Code {
        NO_HELPER <=> NoHelper: "no-helper",
        UNKNOWN_HELPER <=> UnknownHelper: "unknown-helper",
        UNREGISTERED_NAME <=> UnregisteredName: "unregistered-name",
        FAMILY_UNSUPPORTED <=> FamilyUnsupported: "family-unsupported",
        CLASS_MISMATCH <=> ClassMismatch: "class-mismatch",
        PROTOCOL <=> Protocol: "protocol",
        SOURCE_ADDRESS <=> SourceAddress: "source-address",
        SOURCE_PORT <=> SourcePort: "source-port",
        DESTINATION_ADDRESS <=> DestinationAddress: "destination-address",
        DESTINATION_PORT <=> DestinationPort: "destination-port",
        FLAGS <=> Flags: "flags",
        TIMEOUT <=> Timeout: "timeout",
        MASTER_UNKNOWN <=> MasterUnknown: "master-unknown",
        POLICY_HELPER <=> PolicyHelper: "policy-helper",
        POLICY_DESTINATION <=> PolicyDestination: "policy-destination",
        POLICY_SOURCE <=> PolicySource: "policy-source",
        POLICY_PORT <=> PolicyPort: "policy-port",
        POLICY_THIRD_PARTY <=> PolicyThirdParty: "policy-third-party",
        POLICY_CLASS <=> PolicyClass: "policy-class",
    }
}

py_enum! {
    /// What a policy does with helpers it does not list.
    PyDefaultRule("DefaultRule") <=> DefaultRule {
        DENY <=> Deny: "deny",
        ALLOW <=> Allow: "allow",
    }
}

py_enum! {
    /// Stable codes of audit findings.
    PyAuditCode("AuditCode") <=> AuditCode {
        DANGEROUS_OPTION <=> DangerousOption: "dangerous-option",
        INVALID_PARAMETER <=> InvalidParameter: "invalid-parameter",
        AUTO_ASSIGNMENT <=> AutoAssignment: "auto-assignment",
        KERNEL_UNKNOWN <=> KernelUnknown: "kernel-unknown",
        UNREADABLE <=> Unreadable: "unreadable",
        UNPARSABLE_LINE <=> UnparsableLine: "unparsable-line",
        NONCONFORMING <=> Nonconforming: "nonconforming",
        POLICY_VIOLATION <=> PolicyViolation: "policy-violation",
        RELATED_ACCEPT_BLANKET <=> RelatedAcceptBlanket: "related-accept-blanket",
        RELATED_ACCEPT_NO_HELPER <=> RelatedAcceptNoHelper: "related-accept-no-helper",
        RELATED_ACCEPT_NO_ADDRESS <=> RelatedAcceptNoAddress: "related-accept-no-address",
        HELPER_UNRESTRICTED <=> HelperUnrestricted: "helper-unrestricted",
        HELPER_UNSUPPORTED <=> HelperUnsupported: "helper-unsupported",
        HELPER_NOT_LOADED <=> HelperNotLoaded: "helper-not-loaded",
        PORTS_MISMATCH <=> PortsMismatch: "ports-mismatch",
        DANGEROUS_OPTION_IN_USE <=> DangerousOptionInUse: "dangerous-option-in-use",
        NO_ANTISPOOFING <=> NoAntispoofing: "no-antispoofing",
        OPAQUE_RULE <=> OpaqueRule: "opaque-rule",
        OPAQUE_ITEM <=> OpaqueItem: "opaque-item",
        DRIFT_MISSING <=> DriftMissing: "drift-missing",
        DRIFT_EXTRA <=> DriftExtra: "drift-extra",
    }
}

py_enum! {
    /// Reverse-path filtering of an interface (`rp_filter`).
    PyRpFilter("RpFilter") <=> RpFilter {
        OFF <=> Off: "off",
        LOOSE <=> Loose: "loose",
        STRICT <=> Strict: "strict",
    }
    methods {
        /// The sysctl value (0, 2 or 1).
        #[getter]
        fn sysctl(&self) -> u8 {
            RpFilter::from(*self).sysctl()
        }
    }
}

py_enum! {
    /// How an interface's name matches the kernel's interfaces (`match` in a site).
    PyNameMatch("NameMatch") <=> NameMatch {
        /// The one interface of that name.
        EXACT <=> Exact: "exact",
        /// Every interface whose name starts with it (`ppp+` for iptables, `"ppp*"` for nft).
        PREFIX <=> Prefix: "prefix",
    }
}

py_enum! {
    /// What happens to packets arriving on interfaces the site does not describe.
    PyUnknownInterfaces("UnknownInterfaces") <=> UnknownInterfaces {
        /// Dropped.
        DROP <=> Drop: "drop",
        /// Only a strict reverse-path check.
        RPFILTER <=> Rpfilter: "rpfilter",
        /// Passed unchecked.
        ALLOW <=> Allow: "allow",
    }
}

py_enum! {
    /// Whether the rules drop, or only log what they would drop (`mode` in a site).
    PyMode("Mode") <=> Mode {
        /// Drop (and log too when the site's `log` is on).
        ENFORCE <=> Enforce: "enforce",
        /// Log, rate-limited, what enforcement would drop, and drop nothing.
        LOG_ONLY <=> LogOnly: "log-only",
    }
}

py_enum! {
    /// Where a service's master connections go.
    PyDirection("Direction") <=> Direction {
        INBOUND <=> Inbound: "inbound",
        OUTBOUND <=> Outbound: "outbound",
        LOCAL <=> Local: "local",
    }
}

py_enum! {
    /// An output format for rules (`Backend('nft-json')`).
    PyBackend("Backend") <=> Backend, alias = (core_parse::<Backend, PyBackend>) {
        IPTABLES <=> Iptables: "iptables",
        IP6TABLES <=> Ip6tables: "ip6tables",
        COMMANDS <=> Commands: "commands",
        NFT <=> Nft: "nft",
        NFT_JSON <=> NftJson: "nft-json",
        SYSCTL <=> Sysctl: "sysctl",
        MODPROBE <=> Modprobe: "modprobe",
        IPTABLES_HOOKS <=> IptablesHooks: "iptables-hooks",
        IPTABLES_REMOVE <=> IptablesRemove: "iptables-remove",
        NFT_REMOVE <=> NftRemove: "nft-remove",
    }
}

py_enum! {
    /// The chains a ruleset fills.
    PyChainKind("ChainKind") <=> ChainKind {
        ANTISPOOF <=> Antispoof: "antispoof",
        HELPERS_IN <=> HelpersIn: "helpers-in",
        HELPERS_OUT <=> HelpersOut: "helpers-out",
        RELATED_FORWARD <=> RelatedForward: "related-forward",
        RELATED_INPUT <=> RelatedInput: "related-input",
        RELATED_OUTPUT <=> RelatedOutput: "related-output",
    }
    methods {
        /// The chain's name suffix (`related-fwd`).
        #[getter]
        fn suffix(&self) -> &'static str {
            ChainKind::from(*self).suffix()
        }
    }
}

py_enum_class! {
    /// The binding's view of the core's `ParseErrorKind` (which carries the field name; the
    /// field is an attribute of `LineError` and `ParseError` instead).
    PyParseErrorKind("ParseErrorKind") {
        /// The line is empty.
        EMPTY: "empty",
        /// The line is too long.
        TOO_LONG: "too-long",
        /// A required field is missing.
        MISSING: "missing",
        /// A field's value is malformed.
        INVALID: "invalid",
        /// Addresses of different families in one line.
        FAMILY_MISMATCH: "family-mismatch",
        /// Text after the last field.
        TRAILING: "trailing",
    }
}

/// A layer-4 protocol; the members equal the protocol numbers (`L4Proto.TCP == 6`).
/// Protocol numbers without a member come back as plain `int`.
#[pyclass(
    eq,
    eq_int,
    ord,
    frozen,
    module = "netfilter_helpers",
    name = "L4Proto"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub(crate) enum PyL4Proto {
    /// ICMP (1).
    ICMP = 1,
    /// TCP (6).
    TCP = 6,
    /// UDP (17).
    UDP = 17,
    /// DCCP (33).
    DCCP = 33,
    /// GRE (47).
    GRE = 47,
    /// ICMPv6 (58).
    ICMPV6 = 58,
    /// SCTP (132).
    SCTP = 132,
    /// UDP-Lite (136).
    UDPLITE = 136,
}

impl PyEnum for PyL4Proto {
    const CLASS: &'static str = "L4Proto";
    const MEMBERS: &'static [Self] = &[
        Self::ICMP,
        Self::TCP,
        Self::UDP,
        Self::DCCP,
        Self::GRE,
        Self::ICMPV6,
        Self::SCTP,
        Self::UDPLITE,
    ];
    fn value(self) -> &'static str {
        match self {
            Self::ICMP => "icmp",
            Self::TCP => "tcp",
            Self::UDP => "udp",
            Self::DCCP => "dccp",
            Self::GRE => "gre",
            Self::ICMPV6 => "icmpv6",
            Self::SCTP => "sctp",
            Self::UDPLITE => "udplite",
        }
    }
    fn member_name(self) -> &'static str {
        match self {
            Self::ICMP => "ICMP",
            Self::TCP => "TCP",
            Self::UDP => "UDP",
            Self::DCCP => "DCCP",
            Self::GRE => "GRE",
            Self::ICMPV6 => "ICMPV6",
            Self::SCTP => "SCTP",
            Self::UDPLITE => "UDPLITE",
        }
    }
}

impl PyL4Proto {
    /// The member for a core protocol, `None` for numbers without a member.
    pub(crate) fn from_core(p: L4Proto) -> Option<PyL4Proto> {
        Some(match p {
            L4Proto::Icmp => Self::ICMP,
            L4Proto::Tcp => Self::TCP,
            L4Proto::Udp => Self::UDP,
            L4Proto::Dccp => Self::DCCP,
            L4Proto::Gre => Self::GRE,
            L4Proto::Icmpv6 => Self::ICMPV6,
            L4Proto::Sctp => Self::SCTP,
            L4Proto::UdpLite => Self::UDPLITE,
            _ => return None,
        })
    }
}

impl From<PyL4Proto> for L4Proto {
    fn from(p: PyL4Proto) -> L4Proto {
        L4Proto::from(p as u8)
    }
}

/// A protocol argument: an `L4Proto`, a protocol number or a name (`tcp`, `17`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct L4Arg(pub(crate) L4Proto);

impl<'a, 'py> FromPyObject<'a, 'py> for L4Arg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(v) = obj.cast::<PyL4Proto>() {
            return Ok(L4Arg((*v.get()).into()));
        }
        if obj.cast::<PyInt>().is_ok() {
            let n: u8 = obj.extract()?;
            return Ok(L4Arg(L4Proto::from(n)));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            let p: L4Proto = s.to_cow()?.parse().map_err(Error::from)?;
            return Ok(L4Arg(p));
        }
        Err(PyTypeError::new_err(format!(
            "expected L4Proto, int or str, got {}",
            obj.get_type().name()?
        )))
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for PyL4Proto {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let L4Arg(p) = obj.extract()?;
        PyL4Proto::from_core(p).ok_or_else(|| {
            PyErr::from(Error::UnknownValue {
                class: "L4Proto",
                text: p.to_string(),
                expected: Self::MEMBERS
                    .iter()
                    .map(|v| v.value())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        })
    }
}

/// A protocol as Python sees it: the member, or the number when there is none.
pub(crate) fn l4_out(py: Python<'_>, p: L4Proto) -> PyResult<Bound<'_, PyAny>> {
    match PyL4Proto::from_core(p) {
        Some(m) => Ok(m.into_pyobject(py)?.into_any()),
        None => Ok(u8::from(p).into_pyobject(py)?.into_any()),
    }
}

/// The repr of a protocol (`L4Proto.TCP`, or the number).
pub(crate) fn l4_repr(p: L4Proto) -> String {
    match PyL4Proto::from_core(p) {
        Some(m) => format!("L4Proto.{}", m.member_name()),
        None => u8::from(p).to_string(),
    }
}

#[pymethods]
impl PyL4Proto {
    /// The member for an `L4Proto`, a number or a name (`tcp`).
    #[new]
    fn __new__(value: PyL4Proto) -> PyL4Proto {
        value
    }

    /// The protocol's name in rule text (`tcp`).
    #[getter(value)]
    fn py_value(&self) -> &'static str {
        self.value()
    }

    /// The member's name.
    #[getter(name)]
    fn py_name(&self) -> &'static str {
        self.member_name()
    }

    /// The protocol number.
    #[getter]
    fn number(&self) -> u8 {
        *self as u8
    }

    /// Whether the protocol carries 16-bit ports.
    #[getter]
    fn has_ports(&self) -> bool {
        L4Proto::from(*self).has_ports()
    }

    /// Every member, in declaration order.
    #[staticmethod]
    fn members() -> Vec<PyL4Proto> {
        Self::MEMBERS.to_vec()
    }

    fn __str__(&self) -> &'static str {
        self.value()
    }

    /// The hash of the member's int, as members equal their int.
    fn __hash__(&self) -> u64 {
        *self as u64
    }

    fn __repr__(&self) -> String {
        format!("L4Proto.{}", self.member_name())
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduce_member(slf.as_any().get_type(), slf.get().member_name())
    }
}

/// The repr of an enum member (`Helper.FTP`).
pub(crate) fn enum_repr<T: PyEnum>(v: T) -> String {
    format!("{}.{}", T::CLASS, v.member_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! serde_name {
        ($v:expr) => {
            serde_json::to_value($v)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
    }

    #[test]
    fn values_are_the_core_spellings() {
        for h in PyHelper::MEMBERS {
            assert_eq!(h.value(), Helper::from(*h).name());
        }
        for m in PyHelperModule::MEMBERS {
            assert_eq!(m.value(), Module::from(*m).name());
        }
        for p in PyParam::MEMBERS {
            assert_eq!(p.value(), Param::from(*p).to_string());
        }
        for c in PyCode::MEMBERS {
            assert_eq!(c.value(), Code::from(*c).as_str());
        }
        for c in PyOptionCode::MEMBERS {
            assert_eq!(c.value(), OptionCode::from(*c).as_str());
        }
        for c in PyAuditCode::MEMBERS {
            assert_eq!(c.value(), AuditCode::from(*c).as_str());
        }
        for k in PyExpectationKind::MEMBERS {
            assert_eq!(k.value(), serde_name!(ExpectationKind::from(*k)));
        }
        for k in PyChainKind::MEMBERS {
            assert_eq!(k.value(), serde_name!(ChainKind::from(*k)));
        }
        for k in PyPortRule::MEMBERS {
            assert_eq!(k.value(), serde_name!(PortRule::from(*k)));
        }
        for k in PyAttribute::MEMBERS {
            assert_eq!(k.value(), serde_name!(Attribute::from(*k)));
        }
        for k in PyAutoAssignment::MEMBERS {
            assert_eq!(k.value(), serde_name!(AutoAssignment::from(*k)));
        }
        for k in PyPortsEffect::MEMBERS {
            assert_eq!(k.value(), serde_name!(PortsEffect::from(*k)));
        }
        for k in PyParamKind::MEMBERS {
            assert_eq!(k.value(), serde_name!(ParamKind::from(*k)));
        }
        for b in PyBackend::MEMBERS {
            assert_eq!(b.value(), Backend::from(*b).name());
        }
        for p in PyL4Proto::MEMBERS {
            assert_eq!(p.value(), L4Proto::from(*p).name());
            assert_eq!(PyL4Proto::from_core(L4Proto::from(*p)), Some(*p));
        }
        assert_eq!(PyHelper::MEMBERS.len(), Helper::ALL.len());
        assert_eq!(PyHelperModule::MEMBERS.len(), Module::ALL.len());
        assert_eq!(PyExpectationKind::MEMBERS.len(), ExpectationKind::ALL.len());
        assert_eq!(PyBackend::MEMBERS.len(), Backend::ALL.len());
        assert_eq!(PyParam::MEMBERS.len(), Param::all().count());
    }
}
