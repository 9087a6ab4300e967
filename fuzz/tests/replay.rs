//! Replays the saved corpus through the fuzz targets' bodies on the stable toolchain, without
//! libFuzzer: every file of `corpus/<target>/` goes through `netfilter_helpers_fuzz::<target>`.
//! Inputs a fuzz run found (`artifacts/<target>/crash-*`) can be replayed the same way with
//! `NFH_FUZZ_REPLAY=artifacts/<target>/crash-… cargo test --manifest-path fuzz/Cargo.toml`.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use netfilter_helpers_fuzz::TARGETS;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Runs `body` on every file, collecting every failure instead of stopping at the first.
fn replay(target: &str, body: fn(&[u8]), inputs: &[PathBuf]) -> Vec<String> {
    let mut failures = Vec::new();
    for path in inputs {
        let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body(&data))) {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            failures.push(format!("{target}: {}: {msg}", path.display()));
        }
    }
    failures
}

#[test]
fn every_target_has_a_seeded_corpus() {
    for (target, _) in TARGETS {
        let n = files(&corpus_dir(target)).len();
        assert!(n > 0, "corpus/{target}/ is empty");
    }
    let mut names: Vec<String> =
        fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz_targets"))
            .expect("fuzz_targets/")
            .map(|e| e.expect("entry").path())
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
    names.sort();
    let mut listed: Vec<String> = TARGETS.iter().map(|(t, _)| t.to_string()).collect();
    listed.sort();
    assert_eq!(names, listed, "fuzz_targets/*.rs and TARGETS differ");
}

#[test]
fn corpus_replays_without_findings() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (target, body) in TARGETS {
        let inputs = files(&corpus_dir(target));
        count += inputs.len();
        failures.extend(replay(target, *body, &inputs));
    }
    assert!(
        failures.is_empty(),
        "{} of {count} corpus inputs fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `NFH_FUZZ_REPLAY=<file or dir>[:<file or dir>...]`: replays those inputs through the target
/// named by their parent directory (`artifacts/<target>/crash-…`, `corpus/<target>/…`), relative
/// to the current directory or to the repository root.
#[test]
fn replay_inputs_from_env() {
    let Some(list) = std::env::var_os("NFH_FUZZ_REPLAY") else {
        return;
    };
    let mut failures = Vec::new();
    for path in std::env::split_paths(&list) {
        // `cargo test` runs in fuzz/: paths relative to the repository root work too.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let path = if path.exists() { path } else { root.join(path) };
        let (dir, inputs) = if path.is_dir() {
            (path.clone(), files(&path))
        } else {
            (
                path.parent().expect("parent").to_path_buf(),
                vec![path.clone()],
            )
        };
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (target, body) = TARGETS
            .iter()
            .find(|(t, _)| *t == name)
            .unwrap_or_else(|| panic!("{}: parent directory names no target", path.display()));
        failures.extend(replay(target, *body, &inputs));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
