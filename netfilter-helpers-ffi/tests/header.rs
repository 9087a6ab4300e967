//! The committed header must be what cbindgen generates from the code.

use std::path::PathBuf;

#[test]
fn header_is_up_to_date() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .with_after_include(format!(
            "\n#define NFH_VERSION_MAJOR {}\n#define NFH_VERSION_MINOR {}\n#define NFH_VERSION_PATCH {}\n",
            env!("CARGO_PKG_VERSION_MAJOR"),
            env!("CARGO_PKG_VERSION_MINOR"),
            env!("CARGO_PKG_VERSION_PATCH")
        ))
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = crate_dir.join("../include/netfilter_helpers.h");
    if std::env::var_os("NFH_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write header");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/netfilter_helpers.h is out of date; regenerate it with:\n  NFH_BLESS=1 cargo test -p netfilter-helpers-ffi --test header"
    );
}
