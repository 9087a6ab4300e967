//! One canonical spelling for every closed enum of the core: the text serde writes and reads,
//! `Display` prints and the bindings show (`"ftp"`, `"nft-json"`, `"log-only"`).
//!
//! ```
//! use netfilter_helpers_core::catalogue::Helper;
//! use netfilter_helpers_core::spelling::Spelling;
//! assert_eq!(Helper::Q931.as_str(), "Q.931");
//! assert_eq!(Helper::from_spelling("sip"), Some(Helper::Sip));
//! assert_eq!(<Helper as Spelling>::VALUES.len(), 12);
//! ```

/// A closed enum with one canonical spelling per value.
pub trait Spelling: Sized + Copy + Eq + 'static {
    /// Every value, in declaration order.
    const VALUES: &'static [Self];

    /// The canonical spelling.
    fn as_str(self) -> &'static str;

    /// The value with this canonical spelling (exact match; aliases are the business of each
    /// type's `FromStr`).
    fn from_spelling(text: &str) -> Option<Self> {
        Self::VALUES.iter().copied().find(|v| v.as_str() == text)
    }
}

/// Implements [`Spelling`] from one table; the `match` is exhaustive, so a new variant without
/// a spelling does not compile.
macro_rules! spelling {
    ($ty:ident { $($var:ident => $text:literal),+ $(,)? }) => {
        impl $crate::spelling::Spelling for $ty {
            const VALUES: &'static [Self] = &[$($ty::$var),+];
            fn as_str(self) -> &'static str {
                match self {
                    $($ty::$var => $text),+
                }
            }
        }
    };
}
pub(crate) use spelling;
