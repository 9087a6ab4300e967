//! The README's "Use it" section: its Rust example is a doctest of this crate (see
//! `src/lib.rs`); this checks what a doctest cannot, the Cargo dependency it shows.

use std::path::Path;

fn use_it_section() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let start = readme
        .find("\n## Use it\n")
        .expect("README has a \"Use it\" section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 4);
    rest[..end].to_string()
}

/// The fenced blocks of one language in a Markdown text.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let open = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(&open) {
        let body = &rest[i + open.len()..];
        let end = body.find("\n```").expect("closed code block");
        out.push(body[..=end].to_string());
        rest = &body[end..];
    }
    out
}

#[test]
fn the_section_has_one_example_per_language() {
    let section = use_it_section();
    for lang in ["toml", "rust", "c", "python"] {
        assert_eq!(
            blocks(&section, lang).len(),
            1,
            "one ```{lang} block in \"Use it\""
        );
    }
}

#[test]
fn the_cargo_dependency_names_the_core_crate_at_its_path() {
    let section = use_it_section();
    let toml = &blocks(&section, "toml")[0];
    assert!(toml.starts_with("[dependencies]\n"), "{toml}");
    let line = toml
        .lines()
        .find(|l| l.starts_with("netfilter-helpers-core = "))
        .expect("a netfilter-helpers-core dependency");
    let path = line
        .split("path = \"")
        .nth(1)
        .and_then(|p| p.split('"').next())
        .expect("a path dependency");
    // The path is written from a project next to a checkout named netfilter-helpers.
    let inside = path
        .strip_prefix("../netfilter-helpers/")
        .expect("a path into a netfilter-helpers checkout");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(inside)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    assert!(
        text.contains("name = \"netfilter-helpers-core\""),
        "{}",
        manifest.display()
    );
}

#[test]
fn the_rust_example_uses_the_same_line_and_site_as_the_others() {
    let section = use_it_section();
    let rust = &blocks(&section, "rust")[0];
    for lang in ["c", "python"] {
        let other = &blocks(&section, lang)[0];
        for needle in [
            "dst=10.0.1.99",
            "master-dst=198.51.100.21",
            "name = \\\"ftp-out\\\"",
        ] {
            let plain = needle.replace("\\\"", "\"");
            assert!(
                rust.contains(&plain) || rust.contains(needle),
                "the Rust example lacks {plain}"
            );
            assert!(
                other.contains(&plain) || other.contains(needle),
                "the {lang} example lacks {plain}"
            );
        }
    }
}
