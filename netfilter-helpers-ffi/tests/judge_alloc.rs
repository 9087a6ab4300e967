//! `nfh_judge_count` allocates nothing of its own: exactly what the core's
//! `Judge::count_buffer` allocates for the same buffer, counted on this thread.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr::null;

use netfilter_helpers_core::judge::Judge;
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_ffi::*;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn count_adds_no_allocation_to_the_core() {
    let lines = [
        "299 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=55446 dport=21 class=0 helper=ftp",
        "179 l3proto = 2 proto=17 src=203.0.113.1 dst=192.168.1.2 sport=0 dport=5000 sip/audio",
        "299 proto=6 src=10.71.2.2 dst=10.71.2.3 sport=0 dport=50001 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=55456 dport=21 class=0 helper=ftp",
        "bogus",
        "",
    ];
    let mut text = Vec::new();
    for i in 0..5000 {
        text.extend_from_slice(lines[i % lines.len()].as_bytes());
        text.push(b'\n');
    }
    let core = Judge::new(&ModuleOptions::new(), None);
    let judge = unsafe { nfh_judge_new(null(), null()) };
    // One thread: everything happens on this thread, where the counter counts.
    let want = allocations(|| {
        std::hint::black_box(core.count_buffer(&text, 1));
    });
    let mut out = nfh_counts::default();
    let got = allocations(|| {
        assert_eq!(
            unsafe { nfh_judge_count(judge, text.as_ptr(), text.len(), 1, &mut out) },
            nfh_result::Ok
        );
    });
    assert_eq!(
        got, want,
        "nfh_judge_count allocates what count_buffer does, no more"
    );
    assert_eq!(
        (out.lines, out.conforming, out.unparsable),
        (4000, 2000, 1000)
    );
    // What the core allocates today (the parser's helper and policy names, the error's
    // quoted text): reported, not required here.
    println!("count_buffer: {want} allocations for {} lines", out.lines);
    unsafe { nfh_judge_free(judge) };
}
