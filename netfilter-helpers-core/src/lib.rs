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
//!
//! # Quick start
//!
//! The crate is not on crates.io; depend on it by path (or git):
//!
//! ```toml
//! [dependencies]
//! netfilter-helpers-core = { path = "../netfilter-helpers/netfilter-helpers-core" }
//! ```
//!
//! Judge an expectation line (from `/proc/net/nf_conntrack_expect` or `conntrack -L expect`)
//! against what the kernel's helper can create, then validate a site and render its rules
//! (the same example as the README's "Use it" section, which also shows C and Python):
//!
//! ```
//! use netfilter_helpers_core::judge::Judge;
//! use netfilter_helpers_core::options::ModuleOptions;
//! use netfilter_helpers_core::render::{Backend, render};
//! use netfilter_helpers_core::site::Site;
//! use netfilter_helpers_core::synth::synthesize;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Judge a line under the kernel-default module options (no site policy).
//! let judge = Judge::new(&ModuleOptions::new(), None);
//! let line = b"300 proto=6 src=198.51.100.21 dst=10.0.1.99 sport=0 dport=50000 \
//!     mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 \
//!     master-src=10.0.1.7 master-dst=198.51.100.21 sport=40000 dport=21 class=0 helper=ftp";
//! let (_, judgement) = judge.judge_line(line)?;
//! // An FTP data connection to a host other than the client that sent the PORT command:
//! // only `ftp.loose=1` lets the payload do that (an FTP bounce).
//! assert!(!judgement.conforms());
//!
//! // Validate a site and render its rules for nftables.
//! let site = Site::from_toml(
//!     r#"
//!     [[interfaces]]
//!     name = "wan0"
//!     default_route = true
//!     networks = ["198.51.100.2/24"]
//!
//!     [[interfaces]]
//!     name = "lan0"
//!     networks = ["10.0.1.1/24"]
//!
//!     [[services]]
//!     name = "ftp-out"
//!     helper = "ftp"
//!     direction = "outbound"
//!     clients = ["10.0.1.0/24"]
//!     "#,
//! )?
//! .validate()?;
//! let nft = render(&synthesize(&site), Backend::Nft)?;
//! assert!(nft.contains("table inet nfh") && nft.contains("ct helper set"));
//! # Ok(())
//! # }
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
