//! `optimc replay` reads its trace in memory proportional to the numbers it holds, and writes
//! its output as it goes (issue 11 point 12: it took about 32 times the trace's size, a
//! `serde_json::Value` per number and every epoch's parameters held until the end). One test in
//! its own binary: the allocator below keeps the peak of the bytes allocated and not yet freed.

use optimc::{Config, Trainer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

#[path = "../src/cli/replay/recording.rs"]
#[allow(dead_code)]
mod recording;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A trace of `epochs` epochs for parameters `w` (`big` values) and `b` (10), with short
/// numbers (`0.5`, `-2`): the text spends least per number there, so the parsed form weighs
/// most against it (a `serde_json::Value` of 32 bytes per 5 or so bytes of text).
fn trace(epochs: usize, big: usize) -> String {
    const SHORT: [&str; 8] = ["0.5", "-2", "1", "0.25", "-0.5", "3", "-1", "0.125"];
    let values = |n: usize, salt: usize| {
        let items: Vec<&str> = (0..n)
            .map(|i| SHORT[(i * 7 + salt) % SHORT.len()])
            .collect();
        format!("[{}]", items.join(","))
    };
    let mut text = format!(
        r#"{{"epochs":{epochs},"metrics":null,"init":{{"w":{},"b":{}}},"grads":["#,
        values(big, 0),
        values(10, 1)
    );
    for e in 0..epochs {
        let sep = if e == 0 { "" } else { "," };
        write!(
            text,
            r#"{sep}{{"b":{},"w":{}}}"#,
            values(10, e),
            values(big, e)
        )
        .unwrap();
    }
    text.push_str("]}");
    text
}

/// The most bytes live at once while `f` ran, beyond those live before.
fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let result = f();
    (result, PEAK.load(Ordering::SeqCst) - before)
}

#[test]
fn replay_holds_about_the_numbers_of_its_trace_not_a_json_tree() {
    let text = trace(400, 2000);
    assert!(text.len() > 3_000_000, "{} bytes", text.len());
    let (recording, reading) = peak_during(|| recording::Recording::from_json(&text));
    let mut recording = recording.unwrap();
    // The numbers as f32 (4 bytes, up to twice that while their array grows) are at most 1.6
    // times this text; a `serde_json::Value` tree takes about 9 times it.
    assert!(
        reading < 2 * text.len(),
        "reading {} bytes of trace took {reading} bytes",
        text.len()
    );
    let config = Config::from_source("t.optim", "optimizer = adam(lr = 0.01)\n").unwrap();
    let registered: Vec<(&str, &[usize])> = recording
        .names
        .iter()
        .map(String::as_str)
        .zip(recording.shapes.iter().map(Vec::as_slice))
        .collect();
    let mut trainer = Trainer::with_shapes(&config, &registered).unwrap();
    let mut out = Counted(0);
    let (result, replaying) = peak_during(|| recording.replay(&mut trainer, &mut out));
    assert!(result.is_ok());
    // The output is several times as long as the trace (every parameter after every epoch, in
    // full precision); it is written as it is made, not held.
    assert!(out.0 > 2 * text.len(), "{} bytes written", out.0);
    assert!(
        replaying < text.len() / 10,
        "replaying {} bytes of trace took {replaying} bytes",
        text.len()
    );
}

/// A writer that keeps only the count of bytes written.
struct Counted(usize);

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
