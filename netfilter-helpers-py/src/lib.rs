//! Python bindings for netfilter-helpers (`import netfilter_helpers`).
//!
//! Thin wrappers over `netfilter-helpers-core`; no logic lives here.

use pyo3::prelude::*;

/// The Python extension module `netfilter_helpers._netfilter_helpers`.
#[pymodule]
pub mod _netfilter_helpers {
    use netfilter_helpers_core::catalogue::Helper;
    use pyo3::prelude::*;

    /// The kernel names of every helper in the catalogue.
    #[pyfunction]
    pub fn helper_names() -> Vec<&'static str> {
        Helper::ALL.iter().map(|h| h.name()).collect()
    }

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}

/// The helper names, for Rust callers of this crate.
pub fn helper_names() -> Vec<&'static str> {
    _netfilter_helpers::helper_names()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::helper_names().len(), 12);
    }
}
