//! The whole degree-of-freedom table under one set of options, and its text forms.

use serde::Serialize;

use super::*;
use crate::options::ModuleOptions;

/// The degree-of-freedom table for a set of module options.
///
/// ```
/// use netfilter_helpers_core::dof::Table;
/// use netfilter_helpers_core::options::ModuleOptions;
/// let t = Table::build(&ModuleOptions::new());
/// let text = t.to_article_text();
/// assert!(text.starts_with("Module"));
/// assert!(text.lines().any(|l| l.starts_with("ftp") && l.contains("loose = 0 (default)")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct Table {
    /// The rows, in catalogue order.
    pub rows: Vec<ExpectationRule>,
}

impl Table {
    /// The table under these options.
    ///
    /// ```
    /// use netfilter_helpers_core::{dof::{ExpectationKind, Table}, options::ModuleOptions};
    /// let t = Table::build(&ModuleOptions::new());
    /// assert_eq!(t.rows.len(), ExpectationKind::ALL.len());
    /// ```
    pub fn build(options: &ModuleOptions) -> Table {
        Table {
            rows: all_rules(options),
        }
    }

    fn render(&self, cell: impl Fn(Freedom, Attribute) -> String, headers: [&str; 7]) -> String {
        let mut rows: Vec<[String; 7]> = Vec::with_capacity(self.rows.len() + 1);
        rows.push(headers.map(str::to_string));
        for r in &self.rows {
            let module = if r.kind.label() == "data" {
                r.helper.to_string()
            } else {
                format!("{} {}", r.helper, r.kind.label())
            };
            rows.push([
                module,
                cell(r.freedoms.src_addr, Attribute::SrcAddr),
                cell(r.freedoms.src_port, Attribute::SrcPort),
                cell(r.freedoms.dst_addr, Attribute::DstAddr),
                cell(r.freedoms.dst_port, Attribute::DstPort),
                cell(r.freedoms.l4, Attribute::L4),
                r.option_text.clone(),
            ]);
        }
        let mut widths = [0usize; 7];
        for row in &rows {
            for (i, c) in row.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for row in &rows {
            let mut line = String::new();
            for (i, c) in row.iter().enumerate() {
                line.push_str(c);
                if i < 6 {
                    line.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// The table with the article's keywords (`Fixed`, `In CMD`, `Full`, `0-65535`,
    /// `Iface Network`) and column names.
    ///
    /// ```
    /// use netfilter_helpers_core::{dof::Table, options::ModuleOptions};
    /// let text = Table::build(&ModuleOptions::new()).to_article_text();
    /// let header = text.lines().next().unwrap();
    /// assert!(header.starts_with("Module") && header.ends_with("Option"));
    /// assert!(text.contains("Iface Network"));
    /// ```
    pub fn to_article_text(&self) -> String {
        self.render(
            |f, a| f.article_keyword(a),
            [
                "Module",
                "Source address",
                "Source Port",
                "Destination address",
                "Destination port",
                "Protocol",
                "Option",
            ],
        )
    }

    /// The table with the precise codes (`M(peer)`, `P=M(sender)`, `P`, `*`, `NET`, `H`).
    ///
    /// ```
    /// use netfilter_helpers_core::{dof::Table, options::ModuleOptions};
    /// let text = Table::build(&ModuleOptions::new()).to_precise_text();
    /// let tftp = text.lines().find(|l| l.starts_with("tftp")).unwrap();
    /// assert_eq!(tftp.split_whitespace().collect::<Vec<_>>(), ["tftp", "M(responder)", "*", "M(initiator)", "M(initiator)", "udp"]);
    /// ```
    pub fn to_precise_text(&self) -> String {
        self.render(
            |f, _| f.code(),
            [
                "Helper", "Src addr", "Src port", "Dst addr", "Dst port", "L4", "Options",
            ],
        )
    }
}
