#![forbid(unsafe_code)]
#![deny(missing_docs)]
//! netfilter-helpers-core: the pure model of Linux conntrack helpers.
//!
//! Values in, values out: no I/O, no `unsafe`, no FFI types. The modules follow the data flow
//! described in `ARCHITECTURE.md`:
//!
//! * [`catalogue`]: every helper, its module, names, ports, families, classes and policies;
//! * [`options`]: typed module parameters, parsed from `modprobe.d` and `/sys`, validated, rendered;
//! * [`dof`]: the degree-of-freedom model, per helper, expectation and option setting;
//! * [`kernel`]: kernel versions and the mechanisms each one offers;
//! * [`expect`]: conntrack tuples and expectations, and their text forms.
//!
//! ```
//! use netfilter_helpers_core::{dof, options::ModuleOptions};
//! let table = dof::Table::build(&ModuleOptions::new());
//! assert!(table.to_article_text().contains("ftp"));
//! ```

pub mod audit;
pub mod catalogue;
pub mod conform;
pub mod doc;
pub mod dof;
pub mod expect;
pub mod ir;
pub mod judge;
pub mod kernel;
pub mod nft_keywords;
pub mod options;
pub mod parse;
pub mod policy;
pub mod render;
pub mod ruleset;
pub mod site;
#[cfg(any(test, feature = "proptest"))]
pub mod strategies;
pub mod synth;
