//! The binding's error type: every core error, a value of a closed set the binding names, a
//! caught panic, or a Python error. It imports nothing from this crate; `raise.rs` turns it
//! into the exception of its family, with the core's structured details as attributes.

use netfilter_helpers_core::catalogue::CatalogueError as CoreCatalogueError;
use netfilter_helpers_core::dof::Refusal;
use netfilter_helpers_core::expect::TupleError as CoreTupleError;
use netfilter_helpers_core::kernel::KernelVersionError as CoreKernelVersionError;
use netfilter_helpers_core::net::CidrError as CoreCidrError;
use netfilter_helpers_core::options::OptionError as CoreOptionError;
use netfilter_helpers_core::parse::ParseError as CoreParseError;
use netfilter_helpers_core::policy::PolicyError as CorePolicyError;
use netfilter_helpers_core::render::RenderError as CoreRenderError;
use netfilter_helpers_core::report::Problem;
use netfilter_helpers_core::site::SiteError as CoreSiteError;
use pyo3::PyErr;

/// Every error the binding returns: the core's, plus Python errors raised on the way.
#[derive(Debug)]
pub(crate) enum Error {
    /// `catalogue::CatalogueError`.
    Catalogue(CoreCatalogueError),
    /// `options::OptionError`.
    Option(CoreOptionError),
    /// `parse::ParseError`, with every error of the batch it came from.
    Parse(CoreParseError, Vec<CoreParseError>),
    /// `policy::PolicyError`.
    Policy(CorePolicyError),
    /// `site::SiteError`.
    Site(CoreSiteError),
    /// `render::RenderError`.
    Render(CoreRenderError),
    /// `kernel::KernelVersionError`.
    Kernel(CoreKernelVersionError),
    /// `expect::TupleError`.
    Tuple(CoreTupleError),
    /// `policy::CidrError`.
    Cidr(CoreCidrError),
    /// `dof::Refusal`.
    Refusal(Refusal),
    /// A value of a closed set the binding names (`Severity('bogus')`).
    UnknownValue {
        /// The Python class.
        class: &'static str,
        /// The text given.
        text: String,
        /// The accepted values, comma separated.
        expected: String,
    },
    /// A panic caught at the boundary (its message).
    Internal(String),
    /// An error raised by Python.
    Py(PyErr),
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! from_core {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        $(impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::$variant(e)
            }
        })*
    };
}

from_core!(
    Catalogue(CoreCatalogueError),
    Option(CoreOptionError),
    Policy(CorePolicyError),
    Site(CoreSiteError),
    Render(CoreRenderError),
    Kernel(CoreKernelVersionError),
    Tuple(CoreTupleError),
    Cidr(CoreCidrError),
    Refusal(Refusal),
    Py(PyErr),
);

impl From<netfilter_helpers_core::net::NameError> for Error {
    fn from(e: netfilter_helpers_core::net::NameError) -> Self {
        Error::Catalogue(CoreCatalogueError::from(e))
    }
}

/// A site's drift that cannot be computed: its rules cannot be rendered for the backend they
/// are compared in (`RenderError`), or its own rendering does not read back (a bug).
impl From<netfilter_helpers_core::audit::drift::SiteDriftError> for Error {
    fn from(e: netfilter_helpers_core::audit::drift::SiteDriftError) -> Self {
        match e {
            netfilter_helpers_core::audit::drift::SiteDriftError::Render(r) => Error::Render(r),
            other => Error::Internal(other.to_string()),
        }
    }
}

impl From<CoreParseError> for Error {
    fn from(e: CoreParseError) -> Self {
        Error::Parse(e.clone(), vec![e])
    }
}

/// A core problem list as `(path, message)` tuples.
pub(crate) fn problems(problems: &[Problem]) -> Vec<(String, String)> {
    problems
        .iter()
        .map(|p| (p.path.clone(), p.message.clone()))
        .collect()
}
