//! The Rust side of `bench/run.sh`: `Judge::count_buffer` on one thread over the corpus file
//! `bench/bench.c --corpus` writes, best of 5, in the format `run.sh` reads.
//!
//! ```sh
//! cargo bench -p netfilter-helpers-ffi --bench judge_count -- target/c-tests/corpus.txt
//! ```
//!
//! Without a corpus file it says so and does nothing (so building all targets runs it cheaply).

use std::hint::black_box;
use std::time::{Duration, Instant};

use netfilter_helpers_core::judge::Judge;
use netfilter_helpers_core::options::ModuleOptions;

const RUNS: usize = 5;

fn main() {
    let Some(path) = std::env::args().skip(1).find(|a| !a.starts_with("--")) else {
        println!("judge_count: no corpus file given (bench/run.sh passes one); nothing measured");
        return;
    };
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let judge = Judge::new(&ModuleOptions::new(), None);
    let mut best = Duration::MAX;
    let mut counts = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let c = judge.count_buffer(black_box(&text), 1);
        best = best.min(t.elapsed());
        counts = Some(c);
    }
    let c = counts.expect("RUNS > 0");
    assert!(
        c.lines > 0 && c.conforming == c.lines && c.unparsable == 0,
        "the corpus conforms: {c:?}"
    );
    let s = best.as_secs_f64();
    println!(
        "count {} lines (Rust, Judge::count_buffer, 1 thread, best of {RUNS}): {:.1} ms, {:.2} ns/line, {:.2} M lines/s, {:.0} MB/s",
        c.lines,
        s * 1e3,
        s * 1e9 / c.lines as f64,
        c.lines as f64 / s / 1e6,
        text.len() as f64 / 1e6 / s
    );
}
