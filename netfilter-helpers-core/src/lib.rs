#![forbid(unsafe_code)]
#![deny(missing_docs)]
//! netfilter-helpers-core: the pure model of Linux conntrack helpers.
//!
//! Values in, values out: no I/O, no `unsafe`, no FFI types. The modules form layers that read
//! bottom-up; each uses only the layers below it (and none uses another in a circle):
//!
//! | layer | modules | what they hold |
//! |---|---|---|
//! | primitives | [`spelling`], [`net`], [`report`], [`doc`], [`kernel`] | one canonical spelling per closed enum; families and protocols, CIDRs and prefix math, masks, names safe in rule text; severities and located problems; TOML/JSON detection; kernel versions and the mechanisms each offers |
//! | model | [`catalogue`], [`options`], [`registry`], [`dof`] | every helper, module, class and policy; typed module parameters (`modprobe.d`, `/sys`); the names helpers register under the options; the degree-of-freedom table |
//! | expectations | [`expect`], [`parse`], [`conform`], [`policy`], [`judge`] | tuples and expectations; the `/proc` and `conntrack` line formats; the model's verdict; the site's policy; the one judging pipeline (line, stream, threaded buffer) |
//! | rules | [`site`], [`ir`], [`synth`], [`render`] | the site description and its validation; the backend-neutral rules (no text); synthesis; one renderer per backend (iptables, nft, JSON, sysctl, modprobe) |
//! | host | [`audit`] | a host snapshot (read by the caller) judged as a whole |
//!
//! Two data flows run through them:
//!
//! ```text
//! expectation line ─parse─► Expectation ─judge (dof + options, policy)─► Judgement
//! site TOML/JSON ─validate─► ValidSite ─synth─► ir::Ruleset ─render─► iptables / nft / sysctl / modprobe text
//! ```
//!
//! ```
//! use netfilter_helpers_core::{dof, options::ModuleOptions};
//! let table = dof::Table::build(&ModuleOptions::new());
//! assert!(table.to_article_text().contains("ftp"));
//! ```

pub mod audit;
pub mod catalogue;
pub mod conform;
pub mod ctnetlink;
pub mod doc;
pub mod dof;
pub mod expect;
pub mod ir;
pub mod judge;
pub mod kernel;
pub mod net;
pub mod options;
pub mod parse;
pub mod policy;
pub mod registry;
pub mod render;
pub mod report;
pub mod ruleset;
pub mod site;
pub mod spelling;
#[cfg(any(test, feature = "proptest"))]
pub mod strategies;
pub mod synth;
