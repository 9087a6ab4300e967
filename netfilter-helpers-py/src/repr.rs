//! `repr` helpers for the value classes. A leaf module: it imports nothing from
//! this crate.

/// Builds `Name(arg, key=value, ...)`.
pub(crate) struct Repr {
    out: String,
    first: bool,
}

impl Repr {
    pub(crate) fn new(name: &str) -> Repr {
        Repr {
            out: format!("{name}("),
            first: true,
        }
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push_str(", ");
        }
        self.first = false;
    }

    /// A positional argument, already in repr form.
    pub(crate) fn arg(mut self, repr: impl AsRef<str>) -> Repr {
        self.sep();
        self.out.push_str(repr.as_ref());
        self
    }

    /// A keyword argument, already in repr form.
    pub(crate) fn kw(mut self, key: &str, repr: impl AsRef<str>) -> Repr {
        self.sep();
        self.out.push_str(key);
        self.out.push('=');
        self.out.push_str(repr.as_ref());
        self
    }

    pub(crate) fn finish(mut self) -> String {
        self.out.push(')');
        self.out
    }
}

/// Python's repr of a string (quotes and escapes as Python writes them).
pub(crate) fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The repr of an optional value (`None` or the given repr).
pub(crate) fn opt_repr<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map_or_else(|| "None".to_string(), f)
}

/// The repr of a list.
pub(crate) fn list_repr<T>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> String) -> String {
    let parts: Vec<String> = items.into_iter().map(f).collect();
    format!("[{}]", parts.join(", "))
}

/// The repr of a bool.
pub(crate) fn bool_repr(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}
