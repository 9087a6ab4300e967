//! How the C API's enums are decoded: one macro, used by every `#[repr(u32)]` enum that
//! crosses the ABI. A leaf module: it imports nothing from this crate.

/// Declares how a `#[repr(u32)]` C enum is decoded: `from_u32`, a `match` on the numbers the
/// declaration holds (never a position in a list), and `ALL`, every value in declaration
/// order. The variant list must name every variant: the generated `match` over the enum fails
/// to compile otherwise. (The enum itself is written out where it is declared, so that
/// cbindgen sees it.)
macro_rules! c_enum_numbers {
    ($name:ident { $($v:ident),+ $(,)? }) => {
        impl $name {
            /// Every value, in declaration order (not an ABI order: the numbers are the ABI).
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The value with this number, or `None` for a number the enum does not declare.
            pub const fn from_u32(n: u32) -> Option<$name> {
                #![allow(non_upper_case_globals)]
                $(const $v: u32 = $name::$v as u32;)+
                match n {
                    $($v => ::core::option::Option::Some($name::$v),)+
                    _ => ::core::option::Option::None,
                }
            }
        }

        const _: () = {
            // Fails to compile when the list above misses a variant.
            #[allow(dead_code)]
            fn every_variant_is_listed(v: $name) {
                match v {
                    $($name::$v => {})+
                }
            }
        };
    };
}
pub(crate) use c_enum_numbers;
