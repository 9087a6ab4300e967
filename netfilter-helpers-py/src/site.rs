//! Sites and rules: `Site` (validated at construction), `Interface`, `Service`, `Ruleset`,
//! `HelperObject`, `aggregate` and the name checks.

use std::net::IpAddr;

use netfilter_helpers_core::catalogue::HelperName;
use netfilter_helpers_core::ir::{HelperObject, Ruleset};
use netfilter_helpers_core::net::Cidr;
use netfilter_helpers_core::net::Family;
use netfilter_helpers_core::net::{IfName, RuleName, aggregate};
use netfilter_helpers_core::render::render;
use netfilter_helpers_core::report::Problem;
use netfilter_helpers_core::site::{Site, SiteError, ValidInterface, ValidService, ValidSite};
use netfilter_helpers_core::synth::synthesize;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::catalogue::{HelperNameArg, PyHelperName};
use crate::document::{DocKind, Source, from_json};
use crate::enums::{
    CoreEnum, L4Arg, PyBackend, PyChainKind, PyDirection, PyEnum, PyFamily, PyMode, PyNameMatch,
    PyRpFilter, PyUnknownInterfaces, enum_repr, l4_out, l4_repr,
};
use crate::error::{Result, problems};
use crate::kernel::PyKernelVersion;
use crate::options::PyModuleOptions;
use crate::repr::{Repr, bool_repr, list_repr, str_repr};
use crate::util::{CidrArg, ListArg, cidrs_out, guard};

fn site_error(path: &str, message: String) -> SiteError {
    SiteError {
        problems: vec![Problem {
            path: path.to_string(),
            message,
        }],
    }
}

fn site_from_source(source: Source) -> Result<Site> {
    Ok(match source {
        Source::Text(t) => Site::from_text(None, &t)?,
        Source::Value(v) => {
            serde_json::from_value(v).map_err(|e| site_error("site", e.to_string()))?
        }
    })
}

fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A site: interfaces, services, kernel and module options, validated when it is built
/// (from TOML or JSON text or a dict). An invalid site raises SiteError listing every
/// problem with its path.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Site")]
#[derive(Debug, Clone)]
pub(crate) struct PySite {
    source: Site,
    pub(crate) valid: ValidSite,
}

impl PartialEq for PySite {
    fn eq(&self, other: &Self) -> bool {
        self.valid == other.valid
    }
}

/// The hash of what `==` compares (the core's `Hash`).
impl std::hash::Hash for PySite {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.valid.hash(state);
    }
}

impl PySite {
    /// The site an argument names: a `Site`, or anything `Site(...)` accepts (TOML or JSON
    /// text, a dict), validated (SiteError with every problem otherwise).
    pub(crate) fn from_arg(source: &Bound<'_, PyAny>) -> Result<Self> {
        Self::new(source)
    }

    fn build(source: Site) -> Result<Self> {
        let valid = source.validate()?;
        Ok(PySite { source, valid })
    }

    fn repr_of(source: &Site) -> String {
        format!("Site.from_json({})", str_repr(&json_text(source)))
    }
}

#[pymethods]
impl PySite {
    /// A site from TOML or JSON text (JSON when it starts with `{`) or a dict shaped like
    /// the TOML document (addresses and networks may be `ipaddress` objects).
    #[new]
    fn new(source: &Bound<'_, PyAny>) -> Result<Self> {
        if let Ok(s) = source.cast::<PySite>() {
            return Ok(s.get().clone());
        }
        let source = Source::extract(source, DocKind::Site, crate::values::in_site)?;
        guard(|| Self::build(site_from_source(source)?))
    }

    /// Reads and validates TOML text.
    #[classmethod]
    fn from_toml(_cls: &Bound<'_, PyType>, text: &str) -> Result<Self> {
        guard(|| Self::build(Site::from_toml(text)?))
    }

    /// Reads and validates JSON text.
    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, text: &str) -> Result<Self> {
        guard(|| Self::build(Site::from_json(text)?))
    }

    /// Reads and validates a dict.
    #[classmethod]
    fn from_dict(_cls: &Bound<'_, PyType>, document: &Bound<'_, PyDict>) -> Result<Self> {
        let source = Source::extract(document.as_any(), DocKind::Site, crate::values::in_site)?;
        guard(|| Self::build(site_from_source(source)?))
    }

    /// The kernel version the rules are for.
    #[getter]
    fn kernel(&self) -> PyKernelVersion {
        PyKernelVersion(self.valid.kernel)
    }

    /// The nft table name and iptables chain prefix.
    #[getter]
    fn table(&self) -> &str {
        self.valid.table.as_str()
    }

    /// Whether a reverse-path filter rule is added.
    #[getter]
    fn rpfilter(&self) -> bool {
        self.valid.rpfilter
    }

    /// Every address of the firewall host: the interfaces' own addresses (networks written
    /// with host bits), then `local_addresses`.
    #[getter]
    fn local_addresses(&self) -> Vec<IpAddr> {
        self.valid.local_addresses.clone()
    }

    /// Risky but valid choices, as (path, message) tuples (the shape of
    /// `SiteError.problems`).
    #[getter]
    fn warnings(&self) -> Vec<(String, String)> {
        problems(&self.valid.warnings)
    }

    /// What happens to packets arriving on interfaces the site does not describe.
    #[getter]
    fn unknown_interfaces(&self) -> PyUnknownInterfaces {
        self.valid.unknown_interfaces.into()
    }

    /// The rp_filter mode of interfaces created later (`net.ipv4.conf.default.rp_filter`).
    #[getter]
    fn rp_filter_default(&self) -> PyRpFilter {
        self.valid.rp_filter_default.into()
    }

    /// Whether special-purpose sources are dropped on the default-route interface.
    #[getter]
    fn bogons(&self) -> bool {
        self.valid.bogons
    }

    /// Special-purpose networks let in on the default-route interface all the same.
    #[getter]
    fn bogon_exceptions<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        cidrs_out(py, &self.valid.bogon_exceptions)
    }

    /// Log messages per minute and rule when drops are logged (`log`, or log-only mode);
    /// None when nothing is logged.
    #[getter]
    fn log_rate(&self) -> Option<u32> {
        self.valid.log_rate
    }

    /// Whether the rules only log what they would drop (`mode = "log-only"`).
    #[getter]
    fn log_only(&self) -> bool {
        self.valid.log_only
    }

    /// Enforce, or only log (`Mode.LOG_ONLY` exactly when `log_only`).
    #[getter]
    fn mode(&self) -> PyMode {
        if self.valid.log_only {
            PyMode::LOG_ONLY
        } else {
            PyMode::ENFORCE
        }
    }

    /// The module options.
    #[getter]
    fn options(&self) -> PyModuleOptions {
        PyModuleOptions(self.valid.options.clone())
    }

    /// The interfaces, in input order.
    #[getter]
    fn interfaces(&self) -> Vec<PyInterface> {
        self.valid
            .interfaces
            .iter()
            .cloned()
            .map(PyInterface)
            .collect()
    }

    /// The services, in input order.
    #[getter]
    fn services(&self) -> Vec<PyService> {
        self.valid.services.iter().cloned().map(PyService).collect()
    }

    /// The interface that carries the default route.
    #[getter]
    fn default_interface(&self) -> PyInterface {
        PyInterface(self.valid.default_interface().clone())
    }

    /// The rules for this site: anti-spoofing, helper assignment, restricted RELATED
    /// flows, sysctls and module options.
    fn rules(&self, py: Python<'_>) -> Result<PyRuleset> {
        let valid = &self.valid;
        let ruleset = py.detach(|| guard(|| Ok(synthesize(valid))))?;
        Ok(PyRuleset {
            ruleset,
            source: self.source.clone(),
        })
    }

    /// The rules rendered for one backend (`nft`, `Backend.IPTABLES`, ...); raises
    /// RenderError when the site's kernel lacks what the backend needs.
    fn render(&self, py: Python<'_>, backend: PyBackend) -> Result<String> {
        let valid = &self.valid;
        py.detach(|| guard(|| Ok(render(&synthesize(valid), backend.into())?)))
    }

    /// The rules rendered for every backend, as a dict keyed by `Backend`.
    fn render_all<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyDict>> {
        let valid = &self.valid;
        let out = py.detach(|| {
            guard(|| {
                let rs = synthesize(valid);
                Ok(<PyBackend as PyEnum>::MEMBERS
                    .iter()
                    .map(|b| render(&rs, b.to_core()).map(|text| (*b, text)))
                    .collect::<std::result::Result<Vec<_>, _>>()?)
            })
        })?;
        let d = PyDict::new(py);
        for (b, text) in out {
            d.set_item(b, text)?;
        }
        Ok(d)
    }

    /// The site as written, as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v =
            serde_json::to_value(&self.source).map_err(|e| PyValueError::new_err(e.to_string()))?;
        from_json(py, &v)
    }

    /// The site as written, as JSON text.
    fn to_json(&self) -> String {
        json_text(&self.source)
    }

    fn __repr__(&self) -> String {
        Self::repr_of(&self.source)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let from_json = slf.get_type().getattr("from_json")?;
        Ok((from_json, (json_text(&slf.get().source),)))
    }
}

/// A validated interface of a site.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Interface")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyInterface(pub(crate) ValidInterface);

#[pymethods]
impl PyInterface {
    /// An interface; the name is checked as a site's would be (SiteError).
    #[new]
    #[pyo3(signature = (name, *, default_route=false, attached=ListArg::default(), routed=ListArg::default(), dhcp=false, rp_filter=PyRpFilter::STRICT, addresses=ListArg::default(), prefix_match=false, rp_filter_mark=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &str,
        default_route: bool,
        attached: ListArg<CidrArg>,
        routed: ListArg<CidrArg>,
        dhcp: bool,
        rp_filter: PyRpFilter,
        addresses: ListArg<IpAddr>,
        prefix_match: bool,
        rp_filter_mark: bool,
    ) -> Result<Self> {
        let name = IfName::new(name).map_err(|e| site_error("name", e))?;
        Ok(PyInterface(ValidInterface {
            name,
            default_route,
            attached: attached.0.into_iter().map(|c| c.0).collect(),
            routed: routed.0.into_iter().map(|c| c.0).collect(),
            dhcp,
            rp_filter: rp_filter.into(),
            addresses: addresses.0,
            prefix_match,
            rp_filter_mark,
        }))
    }

    /// Whether the name is a prefix of interface names (`match = "prefix"`).
    #[getter]
    fn prefix_match(&self) -> bool {
        self.0.prefix_match
    }

    /// How the name matches (`NameMatch.PREFIX` exactly when `prefix_match`).
    #[getter]
    fn name_match(&self) -> PyNameMatch {
        if self.0.prefix_match {
            PyNameMatch::PREFIX
        } else {
            PyNameMatch::EXACT
        }
    }

    /// Whether reverse-path lookups use the packet's mark.
    #[getter]
    fn rp_filter_mark(&self) -> bool {
        self.0.rp_filter_mark
    }

    /// The name.
    #[getter]
    fn name(&self) -> &str {
        self.0.name.as_str()
    }

    /// Whether the default route leaves through it.
    #[getter]
    fn default_route(&self) -> bool {
        self.0.default_route
    }

    /// Attached networks (host bits cleared).
    #[getter]
    fn attached<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        cidrs_out(py, &self.0.attached)
    }

    /// Routed networks.
    #[getter]
    fn routed<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        cidrs_out(py, &self.0.routed)
    }

    /// Whether hosts on it get addresses by DHCPv4 from the firewall.
    #[getter]
    fn dhcp(&self) -> bool {
        self.0.dhcp
    }

    /// Reverse-path filtering.
    #[getter]
    fn rp_filter(&self) -> PyRpFilter {
        self.0.rp_filter.into()
    }

    /// The firewall's own addresses on it (the networks written with host bits).
    #[getter]
    fn addresses(&self) -> Vec<IpAddr> {
        self.0.addresses.clone()
    }

    /// Attached and routed networks of one family, aggregated.
    fn networks<'py>(&self, py: Python<'py>, family: PyFamily) -> PyResult<Vec<Bound<'py, PyAny>>> {
        cidrs_out(py, &self.0.networks(Family::from(family)))
    }

    fn __repr__(&self) -> String {
        let i = &self.0;
        let nets = |v: &Vec<Cidr>| list_repr(v, |c| str_repr(&c.to_string()));
        let mut r = Repr::new("Interface").arg(str_repr(i.name.as_str()));
        if i.default_route {
            r = r.kw("default_route", bool_repr(true));
        }
        if !i.attached.is_empty() {
            r = r.kw("attached", nets(&i.attached));
        }
        if !i.routed.is_empty() {
            r = r.kw("routed", nets(&i.routed));
        }
        if i.dhcp {
            r = r.kw("dhcp", bool_repr(true));
        }
        let rp = PyRpFilter::from(i.rp_filter);
        if rp != PyRpFilter::STRICT {
            r = r.kw("rp_filter", enum_repr(rp));
        }
        if !i.addresses.is_empty() {
            r = r.kw(
                "addresses",
                list_repr(&i.addresses, |a| str_repr(&a.to_string())),
            );
        }
        if i.prefix_match {
            r = r.kw("prefix_match", bool_repr(true));
        }
        if i.rp_filter_mark {
            r = r.kw("rp_filter_mark", bool_repr(true));
        }
        r.finish()
    }
}

/// A validated service of a site.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Service")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyService(pub(crate) ValidService);

#[pymethods]
impl PyService {
    /// A service; the name is checked as a site's would be (SiteError).
    #[new]
    #[pyo3(signature = (name, helper, direction, *, servers=ListArg::default(), clients=ListArg::default(), ports=ListArg::default(), related=ListArg::default(), min_port=1024, families=ListArg::default(), public=ListArg::default(), public_ports=ListArg::default(), servers_local=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &str,
        helper: HelperNameArg,
        direction: PyDirection,
        servers: ListArg<CidrArg>,
        clients: ListArg<CidrArg>,
        ports: ListArg<u16>,
        related: ListArg<CidrArg>,
        min_port: u16,
        families: ListArg<PyFamily>,
        public: ListArg<CidrArg>,
        public_ports: ListArg<u16>,
        servers_local: bool,
    ) -> Result<Self> {
        let name = RuleName::new(name).map_err(|e| site_error("name", e))?;
        let helper: HelperName = helper.0;
        Ok(PyService(ValidService {
            name,
            helper,
            direction: direction.into(),
            servers: servers.0.into_iter().map(|c| c.0).collect(),
            clients: clients.0.into_iter().map(|c| c.0).collect(),
            ports: ports.0,
            related: related.0.into_iter().map(|c| c.0).collect(),
            min_port,
            families: families.0.into_iter().map(Into::into).collect(),
            public: public.0.into_iter().map(|c| c.0).collect(),
            public_ports: public_ports.0,
            servers_local,
        }))
    }

    /// The name.
    #[getter]
    fn name(&self) -> &str {
        self.0.name.as_str()
    }

    /// The helper registration CT rules assign (`ftp`, or `ftp-0`).
    #[getter]
    fn helper(&self) -> PyHelperName {
        PyHelperName(self.0.helper)
    }

    /// Where the master connections go.
    #[getter]
    fn direction(&self) -> PyDirection {
        self.0.direction.into()
    }

    /// Servers (empty: any).
    #[getter]
    fn servers<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        cidrs_out(py, &self.0.servers)
    }

    /// Clients (empty: any).
    #[getter]
    fn clients<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        cidrs_out(py, &self.0.clients)
    }

    /// Master ports.
    #[getter]
    fn ports(&self) -> Vec<u16> {
        self.0.ports.clone()
    }

    /// Where the open ends of RELATED flows may be (empty: wherever the model allows).
    #[getter]
    fn related<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        cidrs_out(py, &self.0.related)
    }

    /// The port floor of payload-chosen ports.
    #[getter]
    fn min_port(&self) -> u16 {
        self.0.min_port
    }

    /// The families the service runs in.
    #[getter]
    fn families(&self) -> Vec<PyFamily> {
        self.0.families.iter().map(|f| (*f).into()).collect()
    }

    /// Addresses the servers are published at through destination NAT.
    #[getter]
    fn public<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        cidrs_out(py, &self.0.public)
    }

    /// Ports the servers are published at.
    #[getter]
    fn public_ports(&self) -> Vec<u16> {
        self.0.public_ports.clone()
    }

    /// Whether the servers are the firewall host itself.
    #[getter]
    fn servers_local(&self) -> bool {
        self.0.servers_local
    }

    /// Whether the firewall host is the client (`direction` is local).
    #[getter]
    fn clients_local(&self) -> bool {
        self.0.clients_local()
    }

    fn __repr__(&self) -> String {
        let s = &self.0;
        let nets = |v: &Vec<Cidr>| list_repr(v, |c| str_repr(&c.to_string()));
        Repr::new("Service")
            .arg(str_repr(s.name.as_str()))
            .arg(format!("HelperName({})", str_repr(&s.helper.to_string())))
            .arg(enum_repr(PyDirection::from(s.direction)))
            .kw("servers", nets(&s.servers))
            .kw("clients", nets(&s.clients))
            .kw("ports", list_repr(&s.ports, |p| p.to_string()))
            .kw("related", nets(&s.related))
            .kw("min_port", s.min_port.to_string())
            .kw(
                "families",
                list_repr(&s.families, |f| enum_repr(PyFamily::from(*f))),
            )
            .kw("public", nets(&s.public))
            .kw(
                "public_ports",
                list_repr(&s.public_ports, |p| p.to_string()),
            )
            .kw("servers_local", bool_repr(s.servers_local))
            .finish()
    }
}

/// The rules synthesised for a site (`site.rules()`).
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Ruleset")]
#[derive(Debug, Clone)]
pub(crate) struct PyRuleset {
    ruleset: Ruleset,
    source: Site,
}

impl PartialEq for PyRuleset {
    fn eq(&self, other: &Self) -> bool {
        self.ruleset == other.ruleset
    }
}

/// The hash of what `==` compares (the core's `Hash`).
impl std::hash::Hash for PyRuleset {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.ruleset.hash(state);
    }
}

#[pymethods]
impl PyRuleset {
    /// The nft table name and iptables chain prefix.
    #[getter]
    fn table(&self) -> &str {
        self.ruleset.table.as_str()
    }

    /// The kernel the rules are for.
    #[getter]
    fn kernel(&self) -> PyKernelVersion {
        PyKernelVersion(self.ruleset.kernel)
    }

    /// The number of rules, all chains together.
    #[getter]
    fn rule_count(&self) -> usize {
        self.ruleset.rule_count()
    }

    /// sysctl settings, in order.
    #[getter]
    fn sysctls(&self) -> Vec<(String, String)> {
        netfilter_helpers_core::render::sysctl_pairs(&self.ruleset)
    }

    /// `modprobe.d` text for the module options.
    #[getter]
    fn modprobe(&self) -> String {
        self.ruleset.options.render_modprobe()
    }

    /// The `ct helper` objects the helper chains use.
    #[getter]
    fn helpers(&self) -> Vec<PyHelperObject> {
        self.ruleset
            .helpers
            .iter()
            .cloned()
            .map(PyHelperObject)
            .collect()
    }

    /// Each chain's rules, as dicts (`{'family': 'ipv4', 'matches': [...], 'target': ...}`).
    fn chains<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for c in &self.ruleset.chains {
            let v =
                serde_json::to_value(&c.rules).map_err(|e| PyValueError::new_err(e.to_string()))?;
            d.set_item(PyChainKind::from(c.kind), from_json(py, &v)?)?;
        }
        Ok(d)
    }

    /// Renders the rules for one backend (RenderError when the kernel lacks what it needs).
    fn render(&self, py: Python<'_>, backend: PyBackend) -> Result<String> {
        let rs = &self.ruleset;
        py.detach(|| guard(|| Ok(render(rs, backend.into())?)))
    }

    /// The ruleset as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(&self.ruleset)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        from_json(py, &v)
    }

    fn __len__(&self) -> usize {
        self.ruleset.rule_count()
    }

    fn __repr__(&self) -> String {
        format!("{}.rules()", PySite::repr_of(&self.source))
    }
}

/// An nft `ct helper` object.
#[pyclass(
    frozen,
    eq,
    ord,
    hash,
    module = "netfilter_helpers",
    name = "HelperObject"
)]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PyHelperObject(pub(crate) HelperObject);

#[pymethods]
impl PyHelperObject {
    #[new]
    fn new(helper: HelperNameArg, l4: L4Arg) -> Self {
        PyHelperObject(HelperObject {
            helper: helper.0,
            l4: l4.0,
        })
    }

    /// The helper registration it refers to.
    #[getter]
    fn helper(&self) -> PyHelperName {
        PyHelperName(self.0.helper)
    }

    /// The protocol it is registered for.
    #[getter]
    fn l4<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        l4_out(py, self.0.l4)
    }

    /// The object's name in the nft table (`Q_931_tcp`).
    #[getter]
    fn object_name(&self) -> String {
        self.0.object_name()
    }

    fn __repr__(&self) -> String {
        Repr::new("HelperObject")
            .arg(format!(
                "HelperName({})",
                str_repr(&self.0.helper.to_string())
            ))
            .arg(l4_repr(self.0.l4))
            .finish()
    }
}

/// Aggregates networks: drops those inside others and merges adjacent siblings; sorted.
#[pyfunction(name = "aggregate")]
pub(crate) fn py_aggregate<'py>(
    py: Python<'py>,
    networks: ListArg<CidrArg>,
) -> Result<Vec<Bound<'py, PyAny>>> {
    let networks: Vec<Cidr> = networks.0.into_iter().map(|c| c.0).collect();
    let merged = py.detach(|| guard(|| Ok(aggregate(networks))))?;
    Ok(cidrs_out(py, &merged)?)
}

/// Checks an interface name as a site's would be (1 to 15 bytes of letters, digits and
/// `_ . - @`, not `.`, `..`, `all` or `default`, not starting with `@`; a wildcard is
/// `match = "prefix"`, not `+`); raises SiteError.
#[pyfunction]
pub(crate) fn check_interface_name(name: &str) -> Result<()> {
    IfName::new(name).map_err(|e| site_error("name", e))?;
    Ok(())
}

/// Checks a rule name (service or table) as a site's would be; raises SiteError.
#[pyfunction]
pub(crate) fn check_rule_name(name: &str) -> Result<()> {
    RuleName::new(name).map_err(|e| site_error("name", e))?;
    Ok(())
}
