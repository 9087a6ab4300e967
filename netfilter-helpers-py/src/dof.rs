//! The degree-of-freedom model: `Freedom`, `Freedoms`, `ExpectationRule` (with `explain` and
//! `predict`), `Master`, `Announcement`, `Table`.

use std::net::{IpAddr, SocketAddr};

use netfilter_helpers_core::dof::{
    Announcement, ExpectationRule, Freedom, Freedoms, Master, Table, all_rules, kinds_of, policy,
    rule, rules_for,
};
use netfilter_helpers_core::options::ModuleOptions;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::catalogue::PyClassPolicy;
use crate::catalogue::{PyExpectClass, PyHelper};
use crate::enums::{
    CoreEnum, L4Arg, PyAttribute, PyCommandFrom, PyEndpoint, PyExpectationKind, PyFreedomKind,
    PyL4Proto, PyPortRule, PySide, core_repr, enum_repr, l4_out, l4_repr,
};
use crate::error::Result;
use crate::expect::{PyConnTuple, PyExpectFlags, PyExpectation};
use crate::options::PyParam;
use crate::options::{OptionsArg, PyModuleOptions};
use crate::repr::{Repr, bool_repr, opt_repr, str_repr};
use crate::util::guard;

/// Where one expectation attribute comes from (`Freedom(FreedomKind.PAYLOAD)`,
/// `Freedom(FreedomKind.MASTER, endpoint=Endpoint.PEER)`).
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Freedom")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PyFreedom(pub(crate) Freedom);

fn freedom_repr(f: Freedom) -> String {
    let kind = |k: PyFreedomKind| enum_repr(k);
    match f {
        Freedom::Master(e) => Repr::new("Freedom")
            .arg(kind(PyFreedomKind::MASTER))
            .kw("endpoint", enum_repr(PyEndpoint::from(e)))
            .finish(),
        Freedom::PayloadChecked(e) => Repr::new("Freedom")
            .arg(kind(PyFreedomKind::PAYLOAD_CHECKED))
            .kw("endpoint", enum_repr(PyEndpoint::from(e)))
            .finish(),
        Freedom::Protocol(p) => Repr::new("Freedom")
            .arg(kind(PyFreedomKind::PROTOCOL))
            .kw("protocol", l4_repr(p))
            .finish(),
        other => Repr::new("Freedom").arg(kind(freedom_kind(other))).finish(),
    }
}

fn freedom_kind(f: Freedom) -> PyFreedomKind {
    match f {
        Freedom::Master(_) => PyFreedomKind::MASTER,
        Freedom::PayloadChecked(_) => PyFreedomKind::PAYLOAD_CHECKED,
        Freedom::Payload => PyFreedomKind::PAYLOAD,
        Freedom::Wildcard => PyFreedomKind::WILDCARD,
        Freedom::InterfaceNetwork => PyFreedomKind::INTERFACE_NETWORK,
        Freedom::HelperPort => PyFreedomKind::HELPER_PORT,
        Freedom::Protocol(_) => PyFreedomKind::PROTOCOL,
        Freedom::MasterProtocol => PyFreedomKind::MASTER_PROTOCOL,
    }
}

#[pymethods]
impl PyFreedom {
    /// A freedom: MASTER and PAYLOAD_CHECKED take an endpoint, PROTOCOL a protocol.
    #[new]
    #[pyo3(signature = (kind, *, endpoint=None, protocol=None))]
    fn new(
        kind: PyFreedomKind,
        endpoint: Option<PyEndpoint>,
        protocol: Option<L4Arg>,
    ) -> PyResult<Self> {
        let needs_endpoint = matches!(kind, PyFreedomKind::MASTER | PyFreedomKind::PAYLOAD_CHECKED);
        let needs_protocol = kind == PyFreedomKind::PROTOCOL;
        if needs_endpoint != endpoint.is_some() {
            return Err(PyValueError::new_err(if needs_endpoint {
                format!("{} needs an endpoint", enum_repr(kind))
            } else {
                format!("{} takes no endpoint", enum_repr(kind))
            }));
        }
        if needs_protocol != protocol.is_some() {
            return Err(PyValueError::new_err(if needs_protocol {
                format!("{} needs a protocol", enum_repr(kind))
            } else {
                format!("{} takes no protocol", enum_repr(kind))
            }));
        }
        // Every kind is named (a new one does not compile); the endpoint and protocol are
        // present exactly when the kind takes them (checked above).
        let missing = || PyValueError::new_err(format!("{} is incomplete", enum_repr(kind)));
        Ok(PyFreedom(match kind {
            PyFreedomKind::MASTER => Freedom::Master(endpoint.ok_or_else(missing)?.into()),
            PyFreedomKind::PAYLOAD_CHECKED => {
                Freedom::PayloadChecked(endpoint.ok_or_else(missing)?.into())
            }
            PyFreedomKind::PROTOCOL => Freedom::Protocol(protocol.ok_or_else(missing)?.0),
            PyFreedomKind::PAYLOAD => Freedom::Payload,
            PyFreedomKind::WILDCARD => Freedom::Wildcard,
            PyFreedomKind::INTERFACE_NETWORK => Freedom::InterfaceNetwork,
            PyFreedomKind::HELPER_PORT => Freedom::HelperPort,
            PyFreedomKind::MASTER_PROTOCOL => Freedom::MasterProtocol,
        }))
    }

    /// The kind.
    #[getter]
    fn kind(&self) -> PyFreedomKind {
        freedom_kind(self.0)
    }

    /// The master endpoint, for MASTER and PAYLOAD_CHECKED.
    #[getter]
    fn endpoint(&self) -> Option<PyEndpoint> {
        match self.0 {
            Freedom::Master(e) | Freedom::PayloadChecked(e) => Some(e.into()),
            Freedom::Payload
            | Freedom::Wildcard
            | Freedom::InterfaceNetwork
            | Freedom::HelperPort
            | Freedom::Protocol(_)
            | Freedom::MasterProtocol => None,
        }
    }

    /// The protocol, for PROTOCOL.
    #[getter]
    fn protocol<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.0 {
            Freedom::Protocol(p) => Ok(Some(l4_out(py, p)?)),
            Freedom::Master(_)
            | Freedom::PayloadChecked(_)
            | Freedom::Payload
            | Freedom::Wildcard
            | Freedom::InterfaceNetwork
            | Freedom::HelperPort
            | Freedom::MasterProtocol => Ok(None),
        }
    }

    /// The compact code of the reference tables (`M(peer)`, `P=M(sender)`, `P`, `*`).
    #[getter]
    fn code(&self) -> String {
        self.0.code()
    }

    /// Whether whoever writes the payload decides the value.
    #[getter]
    fn forgeable(&self) -> bool {
        self.0.forgeable()
    }

    /// The 2012 article's keyword for this freedom in a column.
    fn article_keyword(&self, attribute: PyAttribute) -> String {
        self.0.article_keyword(attribute.into())
    }

    fn __str__(&self) -> String {
        self.0.code()
    }

    fn __repr__(&self) -> String {
        freedom_repr(self.0)
    }
}

/// The freedoms of the five attributes of one expectation.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Freedoms")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PyFreedoms(pub(crate) Freedoms);

#[pymethods]
impl PyFreedoms {
    #[new]
    fn new(
        src_addr: PyRef<'_, PyFreedom>,
        src_port: PyRef<'_, PyFreedom>,
        dst_addr: PyRef<'_, PyFreedom>,
        dst_port: PyRef<'_, PyFreedom>,
        l4: PyRef<'_, PyFreedom>,
    ) -> Self {
        PyFreedoms(Freedoms {
            src_addr: src_addr.0,
            src_port: src_port.0,
            dst_addr: dst_addr.0,
            dst_port: dst_port.0,
            l4: l4.0,
        })
    }

    /// Source address.
    #[getter]
    fn src_addr(&self) -> PyFreedom {
        PyFreedom(self.0.src_addr)
    }

    /// Source port.
    #[getter]
    fn src_port(&self) -> PyFreedom {
        PyFreedom(self.0.src_port)
    }

    /// Destination address.
    #[getter]
    fn dst_addr(&self) -> PyFreedom {
        PyFreedom(self.0.dst_addr)
    }

    /// Destination port.
    #[getter]
    fn dst_port(&self) -> PyFreedom {
        PyFreedom(self.0.dst_port)
    }

    /// Layer-4 protocol.
    #[getter]
    fn l4(&self) -> PyFreedom {
        PyFreedom(self.0.l4)
    }

    /// The freedom of one attribute.
    fn get(&self, attribute: PyAttribute) -> PyFreedom {
        PyFreedom(self.0.get(attribute.into()))
    }

    /// `(attribute, freedom)` for the five attributes, in table order.
    fn items(&self) -> Vec<(PyAttribute, PyFreedom)> {
        netfilter_helpers_core::dof::Attribute::ALL
            .iter()
            .map(|a| ((*a).into(), PyFreedom(self.0.get(*a))))
            .collect()
    }

    fn __repr__(&self) -> String {
        Repr::new("Freedoms")
            .arg(freedom_repr(self.0.src_addr))
            .arg(freedom_repr(self.0.src_port))
            .arg(freedom_repr(self.0.dst_addr))
            .arg(freedom_repr(self.0.dst_port))
            .arg(freedom_repr(self.0.l4))
            .finish()
    }
}

/// One kind of expectation under given module options: where each attribute comes from,
/// the port rule, flags, policy, notes and risk (`ExpectationRule(ExpectationKind.FTP_DATA)`).
#[pyclass(
    frozen,
    eq,
    hash,
    module = "netfilter_helpers",
    name = "ExpectationRule"
)]
#[derive(Debug, Clone)]
pub(crate) struct PyExpectationRule {
    rule: ExpectationRule,
    options: ModuleOptions,
}

impl PartialEq for PyExpectationRule {
    fn eq(&self, other: &Self) -> bool {
        self.rule == other.rule
    }
}

/// The hash of what `==` compares (the core's `Hash`).
impl std::hash::Hash for PyExpectationRule {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.rule.hash(state);
    }
}

impl PyExpectationRule {
    pub(crate) fn new_from(rule: ExpectationRule, options: &ModuleOptions) -> Self {
        PyExpectationRule {
            rule,
            options: options.clone(),
        }
    }
}

fn rule_repr(r: &ExpectationRule, options: &ModuleOptions) -> String {
    let mut repr = Repr::new("ExpectationRule").arg(core_repr::<PyExpectationKind>(r.kind));
    if options.explicit().next().is_some() {
        repr = repr.arg(PyModuleOptions::repr_of(options));
    }
    repr.finish()
}

#[pymethods]
impl PyExpectationRule {
    /// The rule for one kind of expectation under the given options (default: kernel
    /// defaults).
    #[new]
    #[pyo3(signature = (kind, options=None))]
    fn new(kind: PyExpectationKind, options: Option<OptionsArg>) -> Self {
        let options = options.map(|o| o.0).unwrap_or_default();
        PyExpectationRule {
            rule: rule(kind.into(), &options),
            options,
        }
    }

    /// The kind.
    #[getter]
    fn kind(&self) -> Result<PyExpectationKind> {
        PyExpectationKind::from_core(self.rule.kind)
    }

    /// The helper that creates it.
    #[getter]
    fn helper(&self) -> Result<PyHelper> {
        PyHelper::from_core(self.rule.helper)
    }

    /// The expectation class.
    #[getter]
    fn expect_class(&self) -> PyExpectClass {
        self.rule.class.into()
    }

    /// What triggers it.
    #[getter]
    fn trigger(&self) -> &'static str {
        self.rule.trigger
    }

    /// Which side's packets are parsed.
    #[getter]
    fn command_from(&self) -> PyCommandFrom {
        self.rule.command_from.into()
    }

    /// Where each attribute comes from.
    #[getter]
    fn freedoms(&self) -> PyFreedoms {
        PyFreedoms(self.rule.freedoms)
    }

    /// What happens to the announced port.
    #[getter]
    fn port_rule(&self) -> PyPortRule {
        self.rule.port_rule.into()
    }

    /// Expectations created per announcement.
    #[getter]
    fn count(&self) -> u8 {
        self.rule.count
    }

    /// Flags set on creation.
    #[getter]
    fn flags(&self) -> PyExpectFlags {
        PyExpectFlags(self.rule.flags)
    }

    /// The class policy in force.
    #[getter]
    fn policy(&self) -> PyClassPolicy {
        PyClassPolicy(self.rule.policy)
    }

    /// The module parameters that change this rule.
    #[getter]
    fn options(&self) -> Result<Vec<PyParam>> {
        self.rule
            .options
            .iter()
            .map(|p| PyParam::from_core(*p))
            .collect()
    }

    /// The module options the rule was built under.
    #[getter]
    fn module_options(&self) -> PyModuleOptions {
        PyModuleOptions(self.options.clone())
    }

    /// The option settings in force that shape this rule, as text.
    #[getter]
    fn option_text(&self) -> &str {
        &self.rule.option_text
    }

    /// Remarks that qualify the freedoms.
    #[getter]
    fn notes(&self) -> Vec<&'static str> {
        self.rule.notes.clone()
    }

    /// Why this rule lets a payload open a hole, or None.
    #[getter]
    fn risk(&self) -> Option<&str> {
        self.rule.risk.as_deref()
    }

    /// Every attribute explained in words.
    fn explain(&self) -> Vec<String> {
        self.rule.explain()
    }

    /// The expectations the kernel creates for one announcement on a master connection;
    /// raises RefusalError (with the reason) when it creates none.
    fn predict(
        &self,
        master: PyRef<'_, PyMaster>,
        announcement: PyRef<'_, PyAnnouncement>,
    ) -> Result<Vec<PyExpectation>> {
        Ok(
            guard(|| Ok(self.rule.predict(&master.0, &announcement.0)?))?
                .into_iter()
                .map(PyExpectation)
                .collect(),
        )
    }

    fn __repr__(&self) -> String {
        rule_repr(&self.rule, &self.options)
    }
}

/// A master connection: the helper name assigned to it and its ORIGINAL endpoints
/// (`Master('ftp', ('10.0.0.2', 40000), ('10.0.1.2', 21))`).
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Master")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyMaster(pub(crate) Master);

#[pymethods]
impl PyMaster {
    /// A master from the helper name and the (address, port) of initiator and responder.
    #[new]
    #[pyo3(signature = (helper, initiator, responder, l4=None))]
    fn new(
        helper: &str,
        initiator: (IpAddr, u16),
        responder: (IpAddr, u16),
        l4: Option<L4Arg>,
    ) -> Result<Self> {
        let l4 = l4.map_or(netfilter_helpers_core::net::L4Proto::Tcp, |p| p.0);
        Ok(PyMaster(Master::new(
            helper,
            SocketAddr::new(initiator.0, initiator.1),
            SocketAddr::new(responder.0, responder.1),
            l4,
        )?))
    }

    /// The helper name as assigned (`ftp`, `ftp-2121`).
    #[getter]
    fn helper(&self) -> &str {
        &self.0.helper
    }

    /// The ORIGINAL-direction tuple.
    #[getter]
    fn tuple(&self) -> PyConnTuple {
        PyConnTuple(self.0.tuple)
    }

    /// The initiator's (address, port).
    #[getter]
    fn initiator(&self) -> (IpAddr, u16) {
        (self.0.tuple.src, self.0.tuple.sport)
    }

    /// The responder's (address, port).
    #[getter]
    fn responder(&self) -> (IpAddr, u16) {
        (self.0.tuple.dst, self.0.tuple.dport)
    }

    fn __repr__(&self) -> String {
        let t = &self.0.tuple;
        let mut r = Repr::new("Master")
            .arg(str_repr(&self.0.helper))
            .arg(format!("({}, {})", str_repr(&t.src.to_string()), t.sport))
            .arg(format!("({}, {})", str_repr(&t.dst.to_string()), t.dport));
        if PyL4Proto::from_core(t.l4) != Some(PyL4Proto::TCP) {
            r = r.arg(l4_repr(t.l4));
        }
        r.finish()
    }
}

/// What a command in the payload announced (`Announcement(Side.INITIATOR, '10.0.0.2',
/// 50000)`); PPTP's call IDs go in `port` and `second_port`.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Announcement")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PyAnnouncement(pub(crate) Announcement);

#[pymethods]
impl PyAnnouncement {
    #[new]
    #[pyo3(signature = (side, address=None, port=0, *, second_port=None, transport=None, interface_prefix=None, confirmed=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        side: PySide,
        address: Option<IpAddr>,
        port: u16,
        second_port: Option<u16>,
        transport: Option<L4Arg>,
        interface_prefix: Option<u8>,
        confirmed: bool,
    ) -> Self {
        let mut a = Announcement::new(side.into(), address, port);
        a.second_port = second_port;
        a.transport = transport.map(|t| t.0);
        a.interface_prefix = interface_prefix;
        a.confirmed = confirmed;
        PyAnnouncement(a)
    }

    /// Which side sent it.
    #[getter]
    fn side(&self) -> PySide {
        self.0.from.into()
    }

    /// The announced address (None: the sender, as for EPSV).
    #[getter]
    fn address(&self) -> Option<IpAddr> {
        self.0.addr
    }

    /// The announced port (PPTP: the call ID).
    #[getter]
    fn port(&self) -> u16 {
        self.0.port
    }

    /// PPTP's peer call ID.
    #[getter]
    fn second_port(&self) -> Option<u16> {
        self.0.second_port
    }

    /// The announced transport (SIP `transport=`).
    #[getter]
    fn transport<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.0.transport.map(|t| l4_out(py, t)).transpose()
    }

    /// For broadcast helpers: the prefix length of the outgoing interface.
    #[getter]
    fn interface_prefix(&self) -> Option<u8> {
        self.0.interface_prefix
    }

    /// Whether the peer confirmed the announcement (clears INACTIVE).
    #[getter]
    fn confirmed(&self) -> bool {
        self.0.confirmed
    }

    fn __repr__(&self) -> String {
        let a = &self.0;
        let mut r = Repr::new("Announcement")
            .arg(enum_repr(PySide::from(a.from)))
            .arg(opt_repr(a.addr, |x| str_repr(&x.to_string())))
            .arg(a.port.to_string());
        if let Some(p) = a.second_port {
            r = r.kw("second_port", p.to_string());
        }
        if let Some(t) = a.transport {
            r = r.kw("transport", l4_repr(t));
        }
        if let Some(p) = a.interface_prefix {
            r = r.kw("interface_prefix", p.to_string());
        }
        if a.confirmed {
            r = r.kw("confirmed", bool_repr(true));
        }
        r.finish()
    }
}

/// The degree-of-freedom table under a set of module options (`Table()`,
/// `Table({'ftp.loose': True})`), in the article's and the precise notation.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Table")]
#[derive(Debug, Clone)]
pub(crate) struct PyTable {
    table: Table,
    options: ModuleOptions,
}

impl PartialEq for PyTable {
    fn eq(&self, other: &Self) -> bool {
        self.table == other.table
    }
}

/// The hash of what `==` compares (the core's `Hash`).
impl std::hash::Hash for PyTable {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.table.hash(state);
    }
}

#[pymethods]
impl PyTable {
    #[new]
    #[pyo3(signature = (options=None))]
    fn new(options: Option<OptionsArg>) -> Self {
        let options = options.map(|o| o.0).unwrap_or_default();
        PyTable {
            table: Table::build(&options),
            options,
        }
    }

    /// The rows, in catalogue order.
    #[getter]
    fn rows(&self) -> Vec<PyExpectationRule> {
        self.table
            .rows
            .iter()
            .map(|r| PyExpectationRule::new_from(r.clone(), &self.options))
            .collect()
    }

    /// The table with the 2012 article's keywords and column names.
    fn to_article_text(&self) -> String {
        self.table.to_article_text()
    }

    /// The table with the precise codes (`M(peer)`, `P=M(sender)`, `P`, `*`, `NET`, `H`).
    fn to_precise_text(&self) -> String {
        self.table.to_precise_text()
    }

    fn __str__(&self) -> String {
        self.table.to_precise_text()
    }

    fn __repr__(&self) -> String {
        if self.options.explicit().next().is_some() {
            format!("Table({})", PyModuleOptions::repr_of(&self.options))
        } else {
            "Table()".to_string()
        }
    }
}

/// The rule for one kind of expectation under the given options.
#[pyfunction(name = "rule")]
#[pyo3(signature = (kind, options=None))]
pub(crate) fn py_rule(kind: PyExpectationKind, options: Option<OptionsArg>) -> PyExpectationRule {
    let options = options.map(|o| o.0).unwrap_or_default();
    PyExpectationRule::new_from(rule(kind.into(), &options), &options)
}

/// Every rule of one helper under the given options.
#[pyfunction(name = "rules_for")]
#[pyo3(signature = (helper, options=None))]
pub(crate) fn py_rules_for(
    helper: PyHelper,
    options: Option<OptionsArg>,
) -> Vec<PyExpectationRule> {
    let options = options.map(|o| o.0).unwrap_or_default();
    rules_for(helper.into(), &options)
        .into_iter()
        .map(|r| PyExpectationRule::new_from(r, &options))
        .collect()
}

/// Every rule of every helper under the given options, in catalogue order.
#[pyfunction(name = "all_rules")]
#[pyo3(signature = (options=None))]
pub(crate) fn py_all_rules(options: Option<OptionsArg>) -> Vec<PyExpectationRule> {
    let options = options.map(|o| o.0).unwrap_or_default();
    all_rules(&options)
        .into_iter()
        .map(|r| PyExpectationRule::new_from(r, &options))
        .collect()
}

/// The kinds of expectation a helper creates.
#[pyfunction(name = "kinds_of")]
pub(crate) fn py_kinds_of(helper: PyHelper) -> Result<Vec<PyExpectationKind>> {
    kinds_of(helper.into())
        .into_iter()
        .map(PyExpectationKind::from_core)
        .collect()
}

/// The policy in force for a helper's class (module options change limits and timeouts), or
/// None when the helper has no such class.
#[pyfunction(name = "class_policy")]
#[pyo3(signature = (helper, expect_class, options=None))]
pub(crate) fn py_class_policy(
    helper: PyHelper,
    expect_class: PyExpectClass,
    options: Option<OptionsArg>,
) -> Option<PyClassPolicy> {
    let options = options.map(|o| o.0).unwrap_or_default();
    policy(helper.into(), expect_class.into(), &options).map(PyClassPolicy)
}
