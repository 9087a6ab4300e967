//! The one judging pipeline: is this expectation acceptable?
//!
//! A [`Judge`] holds the module options in force and, optionally, the site's policy. It gives
//! one answer type, [`Judgement`] (the model's verdict and the policy's findings), and one
//! rule for "conforms": nothing worse than info, from either. Everything that judges
//! expectations (the `nfh` command, the C API, the Python module, the host audit) goes
//! through it:
//!
//! * one expectation ([`Judge::judge`]) or one parsed line ([`Judge::judge_parsed`]);
//! * one line of text ([`Judge::judge_line`]);
//! * a stream of lines from any [`BufRead`] ([`Judge::stream`]): per-line results with line
//!   numbers, in constant memory, whatever the input (no line is held beyond
//!   [`MAX_LINE`] bytes);
//! * a byte buffer spread over threads ([`Judge::judge_buffer`], [`Judge::count_buffer`]):
//!   scoped threads, results in input order, memory bounded by the work in flight.
//!
//! ```
//! use netfilter_helpers_core::judge::{Detail, Judge};
//! use netfilter_helpers_core::options::ModuleOptions;
//! use netfilter_helpers_core::policy::SitePolicy;
//!
//! let policy = SitePolicy::from_toml("[helpers.irc]\nmin_port = 6000\n").unwrap();
//! let judge = Judge::new(&ModuleOptions::new(), Some(policy));
//! let text = b"299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc\nbogus\n";
//! let results: Vec<_> = judge.stream(&text[..], Detail::Full).collect::<Result<_, _>>().unwrap();
//! assert_eq!(results.len(), 2);
//! assert!(!results[0].conforms); // the model allows it, the policy's port floor does not
//! assert_eq!(results[1].line, 2);
//! assert!(results[1].outcome.is_err());
//! ```

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

use serde::Serialize;

use crate::conform::{Code, Finding, Validator, Verdict};
use crate::expect::Expectation;
use crate::options::ModuleOptions;
use crate::parse::{
    MAX_LINE, ParseError, ParseErrorKind, ParsedLine, find_newline, parse_line, trim,
};
use crate::policy::SitePolicy;
use crate::report::Severity;

/// Judges expectations by the model under a set of module options and, optionally, a site
/// policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Judge {
    validator: Validator,
    policy: Option<SitePolicy>,
}

/// The answer about one expectation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
#[non_exhaustive]
pub struct Judgement {
    /// The model's verdict: could the kernel's helper have made it, under these options?
    pub verdict: Verdict,
    /// What the site's policy says against it (empty without a policy).
    pub policy: Vec<Finding>,
}

impl Judgement {
    /// A judgement from its two parts (for bindings that rebuild one, such as unpickling).
    pub fn new(verdict: Verdict, policy: Vec<Finding>) -> Judgement {
        Judgement { verdict, policy }
    }

    /// The one rule: the expectation conforms when neither the model nor the policy found
    /// anything worse than info.
    ///
    /// ```
    /// use netfilter_helpers_core::judge::Judgement;
    /// assert!(Judgement::default().conforms());
    /// ```
    pub fn conforms(&self) -> bool {
        self.findings().all(|f| f.severity == Severity::Info)
    }

    /// The model's findings, then the policy's.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.verdict.findings.iter().chain(&self.policy)
    }

    /// The judgement of a parsed line by a validator and, if given, a policy: the one place
    /// where the model's verdict and the policy's findings come together (a [`Judge`] uses
    /// it; so can a caller that keeps the two apart, as the C API does).
    pub fn of(validator: &Validator, policy: Option<&SitePolicy>, line: &ParsedLine) -> Judgement {
        Judgement {
            verdict: validator.check_line(line),
            policy: policy
                .map(|p| p.check(&line.expectation))
                .unwrap_or_default(),
        }
    }

    /// The same for an expectation without a line (no timeout known).
    pub fn of_expectation(
        validator: &Validator,
        policy: Option<&SitePolicy>,
        exp: &Expectation,
    ) -> Judgement {
        Judgement {
            verdict: validator.check(exp),
            policy: policy.map(|p| p.check(exp)).unwrap_or_default(),
        }
    }

    /// What `Judgement::of(..).conforms()` says, without building anything.
    pub fn conforms_of(
        validator: &Validator,
        policy: Option<&SitePolicy>,
        line: &ParsedLine,
    ) -> bool {
        validator.conforms(line) && policy.is_none_or(|p| p.allows(&line.expectation))
    }
}

/// How much a stream or buffer judgement builds for lines that conform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detail {
    /// A full [`Judgement`] for every line (the helper and kind of conforming lines too).
    Full,
    /// A [`Judgement`] only for lines that do not conform; conforming lines are checked on the
    /// allocation-free path and carry none.
    Findings,
}

/// The result for one line of a stream or buffer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct Judged {
    /// 1-based line number.
    pub line: usize,
    /// Whether it conforms (false for lines that do not parse).
    pub conforms: bool,
    /// The parsed line and its judgement (`None` for a conforming line under
    /// [`Detail::Findings`]), or why the line does not parse.
    pub outcome: Result<(ParsedLine, Option<Judgement>), ParseError>,
}

impl Judged {
    /// The helper name as written in the line, if it parsed and named one.
    pub fn helper_name(&self) -> Option<&str> {
        self.outcome
            .as_ref()
            .ok()
            .and_then(|(p, _)| p.expectation.helper.as_deref())
    }
}

impl Judge {
    /// A judge for these options and policy.
    pub fn new(options: &ModuleOptions, policy: Option<SitePolicy>) -> Judge {
        Judge {
            validator: Validator::new(options),
            policy,
        }
    }

    /// The model validator.
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The site policy, if any.
    pub fn policy(&self) -> Option<&SitePolicy> {
        self.policy.as_ref()
    }

    /// Judges one expectation (no timeout known).
    pub fn judge(&self, exp: &Expectation) -> Judgement {
        Judgement::of_expectation(&self.validator, self.policy.as_ref(), exp)
    }

    /// Judges one parsed line (its timeout and class name count too).
    pub fn judge_parsed(&self, line: &ParsedLine) -> Judgement {
        Judgement::of(&self.validator, self.policy.as_ref(), line)
    }

    /// Whether a parsed line conforms (what `judge_parsed(..).conforms()` says), without
    /// building anything.
    pub fn conforms_parsed(&self, line: &ParsedLine) -> bool {
        Judgement::conforms_of(&self.validator, self.policy.as_ref(), line)
    }

    /// Parses and judges one line.
    ///
    /// ```
    /// use netfilter_helpers_core::judge::Judge;
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let j = Judge::new(&ModuleOptions::new(), None);
    /// let (_, judgement) = j.judge_line(b"299 l3proto = 2 proto=17 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc").unwrap();
    /// assert!(!judgement.conforms()); // DCC is TCP
    /// assert!(j.judge_line(b"bogus").is_err());
    /// ```
    pub fn judge_line(&self, line: &[u8]) -> Result<(ParsedLine, Judgement), ParseError> {
        let parsed = parse_line(line)?;
        let j = self.judge_parsed(&parsed);
        Ok((parsed, j))
    }

    /// One line's result; `None` for lines that carry no expectation (blank, the conntrack
    /// summary line).
    fn judged(&self, number: usize, raw: &[u8], detail: Detail) -> Option<Judged> {
        let l = trim(raw);
        if l.is_empty() || l.starts_with(b"conntrack v") {
            return None;
        }
        Some(match parse_line(l) {
            Err(mut e) => {
                e.line = number;
                Judged {
                    line: number,
                    conforms: false,
                    outcome: Err(e),
                }
            }
            Ok(p) => {
                if detail == Detail::Findings && self.conforms_parsed(&p) {
                    Judged {
                        line: number,
                        conforms: true,
                        outcome: Ok((p, None)),
                    }
                } else {
                    let j = self.judge_parsed(&p);
                    Judged {
                        line: number,
                        conforms: j.conforms(),
                        outcome: Ok((p, Some(j))),
                    }
                }
            }
        })
    }

    /// Judges a stream of lines as they arrive, in constant memory: an iterator of per-line
    /// results, ended by the first read error. A line longer than
    /// [`MAX_LINE`] is reported as too long (quoting only its first
    /// bytes) and skipped without being held in memory.
    pub fn stream<R: BufRead>(&self, reader: R, detail: Detail) -> Stream<'_, R> {
        Stream {
            judge: self,
            reader,
            detail,
            buf: Vec::with_capacity(256),
            line: 0,
            done: false,
        }
    }

    /// Judges a buffer of lines on `threads` threads (0: as many as the machine has), calling
    /// `f` with each result in input order, on the calling thread. The buffer is cut at
    /// newlines into pieces of about 64 KiB, which the threads take in order (the calling
    /// thread included, handing results on between its own pieces), a window of eight
    /// pieces per thread at a time, so memory stays bounded by what one window yields.
    pub fn judge_buffer(&self, buf: &[u8], threads: usize, detail: Detail, f: impl FnMut(Judged)) {
        let mut f = f;
        let mut carry = Carry::new();
        self.judge_buffer_from(buf, &mut carry, threads, detail, None, &mut f);
        carry.hand_on(&mut f);
    }

    /// [`Judge::judge_buffer`] that asks `stop` on the calling thread before each piece it
    /// takes (so a binding can run its signal handlers there, or read a flag its interrupt
    /// handler set); returns the number of lines the buffer held (its newlines, and one more for an
    /// unterminated last line), or `None` when it stopped before the end.
    ///
    /// ```
    /// use netfilter_helpers_core::judge::{Detail, Judge};
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let j = Judge::new(&ModuleOptions::new(), None);
    /// let mut n = 0;
    /// assert_eq!(j.judge_buffer_until(b"bogus\n", 1, Detail::Full, || true, |_| n += 1), None);
    /// assert_eq!(n, 0);
    /// assert_eq!(j.judge_buffer_until(b"bogus\n\nx", 0, Detail::Full, || false, |_| n += 1), Some(3));
    /// assert_eq!(n, 2);
    /// ```
    pub fn judge_buffer_until(
        &self,
        buf: &[u8],
        threads: usize,
        detail: Detail,
        mut stop: impl FnMut() -> bool,
        f: impl FnMut(Judged),
    ) -> Option<usize> {
        let mut f = f;
        let mut carry = Carry::new();
        let n = self.judge_buffer_from(buf, &mut carry, threads, detail, Some(&mut stop), &mut f);
        carry.hand_on(&mut f);
        n
    }

    /// Judges everything `reader` yields on `threads` threads (0: as many as the machine
    /// has), calling `f` with each result in input order, in constant memory: blocks of up to
    /// 1 MiB are cut after their last newline and judged as buffers; whatever a read returns
    /// is judged at once, so a live source (`conntrack -E expect`) gets its verdicts as its
    /// lines arrive. A line longer than [`MAX_LINE`] is reported as
    /// too long and skipped. Stops at the first read error, which it returns.
    ///
    /// ```
    /// use netfilter_helpers_core::judge::{Detail, Judge};
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let j = Judge::new(&ModuleOptions::new(), None);
    /// let mut seen = Vec::new();
    /// let text = b"bogus\n\n299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc";
    /// j.judge_reader(&text[..], 2, Detail::Findings, |r| seen.push((r.line, r.conforms))).unwrap();
    /// assert_eq!(seen, [(1, false), (3, true)]);
    /// ```
    pub fn judge_reader<R: io::Read>(
        &self,
        reader: R,
        threads: usize,
        detail: Detail,
        mut f: impl FnMut(Judged),
    ) -> io::Result<()> {
        let mut blocks = Blocks::new(reader);
        let mut carry = Carry::new();
        // The buffer of the block judged last, to read the next one into.
        let mut spare: Option<Vec<u8>> = None;
        loop {
            let block = blocks.next(|| Some(spare.take().unwrap_or_else(|| vec![0u8; BLOCK])));
            match block {
                None => {
                    carry.hand_on(&mut f);
                    return Ok(());
                }
                Some(Block::Lines(buf, range)) => {
                    self.judge_buffer_from(&buf[range], &mut carry, threads, detail, None, &mut f);
                    spare = Some(buf);
                }
                Some(Block::TooLong(near)) => {
                    carry.hand_on(&mut f);
                    f(too_long(carry.line, near));
                    carry.line += 1;
                }
                Some(Block::Failed(e)) => {
                    carry.hand_on(&mut f);
                    return Err(e);
                }
            }
        }
    }

    /// [`Judge::judge_reader`] with reading overlapped with judging: a thread of its own reads
    /// blocks of up to 1 MiB (at most four in flight, so memory stays constant) while the
    /// calling thread judges the previous ones on `threads` threads and delivers each result,
    /// in input order, to `each`. `idle` is called whenever every result so far has been
    /// delivered and the next block has not arrived yet (flush output there, so a live
    /// `conntrack -E expect` gets its verdicts as its lines arrive).
    ///
    /// `each` returns [`ControlFlow::Break`] to stop early (the output went away); the call
    /// then returns `Ok(false)` at once, and the reading thread ends at its next read. A line
    /// longer than [`MAX_LINE`] is reported as too long and skipped. Returns `Ok(true)` at the
    /// end of input, or the first read error.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use netfilter_helpers_core::judge::{Detail, Judge};
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let j = Judge::new(&ModuleOptions::new(), None);
    /// let text: &'static [u8] = b"bogus\n\n299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc";
    /// let mut seen = Vec::new();
    /// let done = j.judge_read_ahead(text, 2, Detail::Findings, |r| {
    ///     seen.push((r.line, r.conforms));
    ///     ControlFlow::Continue(())
    /// }, || {}).unwrap();
    /// assert!(done);
    /// assert_eq!(seen, [(1, false), (3, true)]);
    /// ```
    pub fn judge_read_ahead<R: io::Read + Send + 'static>(
        &self,
        reader: R,
        threads: usize,
        detail: Detail,
        mut each: impl FnMut(Judged) -> ControlFlow<()>,
        mut idle: impl FnMut(),
    ) -> io::Result<bool> {
        let (full_tx, full_rx) = mpsc::sync_channel::<Block>(2);
        let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
        std::thread::Builder::new()
            .name("nfh-read-ahead".into())
            .spawn(move || read_blocks(reader, &full_tx, &free_rx))?;
        let mut carry = Carry::new();
        let stopped = std::cell::Cell::new(false);
        let mut deliver = |r: Judged| {
            if !stopped.get() && each(r).is_break() {
                stopped.set(true);
            }
        };
        loop {
            let block = match full_rx.try_recv() {
                Ok(b) => b,
                Err(mpsc::TryRecvError::Empty) => {
                    // Everything judged so far goes out before waiting for more.
                    carry.hand_on(&mut deliver);
                    if stopped.get() {
                        return Ok(false);
                    }
                    idle();
                    match full_rx.recv() {
                        Ok(b) => b,
                        Err(_) => return Ok(true),
                    }
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    carry.hand_on(&mut deliver);
                    return Ok(!stopped.get());
                }
            };
            match block {
                Block::Lines(buf, range) => {
                    self.judge_buffer_from(
                        &buf[range],
                        &mut carry,
                        threads,
                        detail,
                        None,
                        &mut deliver,
                    );
                    // The reader may be gone already (end of input): nothing to give back.
                    let _ = free_tx.send(buf);
                }
                Block::TooLong(near) => {
                    carry.hand_on(&mut deliver);
                    deliver(too_long(carry.line, near));
                    carry.line += 1;
                }
                Block::Failed(e) => {
                    carry.hand_on(&mut deliver);
                    return Err(e);
                }
            }
            if stopped.get() {
                return Ok(false);
            }
        }
    }

    /// Judges a buffer as the next part of a stream. The buffer is cut at newlines into
    /// pieces; `threads - 1` scoped threads and the calling thread take pieces in order from
    /// a shared counter, so no thread waits for another between pieces. The calling thread
    /// first hands on what the previous buffer left pending (while the others start on this
    /// one), then, between pieces of its own, hands on every result that is next in line;
    /// results still out of order when the pieces run out wait in `carry` for the next call
    /// (or for [`Carry::hand_on`]). Returns the number of lines the buffer held (its
    /// newlines, and one more for an unterminated last line), or `None` when `stop`, asked
    /// on the calling thread before each piece it takes, said so (everything in order by
    /// then is handed on).
    fn judge_buffer_from(
        &self,
        buf: &[u8],
        carry: &mut Carry,
        threads: usize,
        detail: Detail,
        stop: Option<&mut dyn FnMut() -> bool>,
        f: &mut impl FnMut(Judged),
    ) -> Option<usize> {
        // A window of a few pieces per thread at a time: results waiting to be handed on
        // never exceed one window's, however large the buffer.
        let window = thread_count(threads) * WINDOW_PIECES * PIECE;
        let mut stop = stop;
        let mut total = 0;
        for (start, end) in pieces(buf, window) {
            let stop = stop.as_mut().map(|s| &mut **s as &mut dyn FnMut() -> bool);
            total += self.judge_window(&buf[start..end], carry, threads, detail, stop, f)?;
        }
        Some(total)
    }

    /// [`Judge::judge_buffer_from`] over one window.
    fn judge_window(
        &self,
        buf: &[u8],
        carry: &mut Carry,
        threads: usize,
        detail: Detail,
        stop: Option<&mut dyn FnMut() -> bool>,
        f: &mut impl FnMut(Judged),
    ) -> Option<usize> {
        let pieces = pieces(buf, PIECE);
        let pool = Mutex::new(std::mem::take(&mut carry.spare));
        let work = |piece: (usize, usize)| {
            let mut out = pool
                .lock()
                .map(|mut p| p.pop().unwrap_or_default())
                .unwrap_or_default();
            let lines = self.judge_piece(buf, piece, detail, &mut out);
            (out, lines)
        };
        // Results of this buffer by piece; `done` of them are in `carry.pending` already.
        let ready: Vec<Option<(Vec<Judged>, usize)>> = pieces.iter().map(|_| None).collect();
        let mut done = 0;
        let mut total = 0;
        let mut settle = |ready: &mut Vec<Option<(Vec<Judged>, usize)>>, carry: &mut Carry| {
            while let Some(slot) = ready.get_mut(done)
                && let Some(r) = slot.take()
            {
                total += r.1;
                carry.pending.push(r);
                done += 1;
            }
        };
        let ready = std::cell::RefCell::new(ready);
        let carry = std::cell::RefCell::new(carry);
        let finished = share_pieces(
            &pieces,
            threads,
            &work,
            stop,
            |i, r| ready.borrow_mut()[i] = Some(r),
            || {
                let mut c = carry.borrow_mut();
                settle(&mut ready.borrow_mut(), &mut c);
                c.hand_on(f);
            },
        );
        let carry = carry.into_inner();
        settle(&mut ready.borrow_mut(), carry);
        let mut spare = pool.into_inner().unwrap_or_default();
        spare.append(&mut carry.spare);
        carry.spare = spare;
        if !finished {
            carry.hand_on(f);
            return None;
        }
        Some(total)
    }

    /// Counts the lines of a buffer on `threads` threads (0: as many as the machine has):
    /// the same answers as [`Judge::judge_buffer`], with nothing built for any line.
    ///
    /// ```
    /// use netfilter_helpers_core::judge::Judge;
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let j = Judge::new(&ModuleOptions::new(), None);
    /// let text = b"299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc\n\nbogus\n";
    /// let c = j.count_buffer(text, 2);
    /// assert_eq!((c.lines, c.conforming, c.unparsable), (2, 1, 1));
    /// ```
    pub fn count_buffer(&self, buf: &[u8], threads: usize) -> Counts {
        self.count_buffer_until(buf, threads, || false)
            .unwrap_or_default()
    }

    /// [`Judge::count_buffer`] that asks `stop` on the calling thread before each piece of
    /// about 64 KiB it takes (so a caller can check for signals there, without a thread of
    /// its own); `None` when it stopped before the end.
    pub fn count_buffer_until(
        &self,
        buf: &[u8],
        threads: usize,
        mut stop: impl FnMut() -> bool,
    ) -> Option<Counts> {
        let count = |(start, end): (usize, usize)| -> Counts {
            let mut c = Counts::default();
            for raw in split_lines(&buf[start..end]) {
                let l = trim(raw);
                if l.is_empty() || l.starts_with(b"conntrack v") {
                    continue;
                }
                c.lines += 1;
                match parse_line(l) {
                    Ok(p) => {
                        if self.conforms_parsed(&p) {
                            c.conforming += 1;
                        }
                    }
                    Err(_) => c.unparsable += 1,
                }
            }
            c
        };
        let mut total = Counts::default();
        let stop: &mut dyn FnMut() -> bool = &mut stop;
        share_pieces(
            &pieces(buf, PIECE),
            threads,
            &count,
            Some(stop),
            |_, c| total = total.plus(c),
            || {},
        )
        .then_some(total)
    }

    /// Judges one piece into `out` (emptied first), its lines numbered from 0; returns how
    /// many lines it holds (its newlines, and one more for an unterminated last line).
    fn judge_piece(
        &self,
        buf: &[u8],
        (start, end): (usize, usize),
        detail: Detail,
        out: &mut Vec<Judged>,
    ) -> usize {
        let piece = &buf[start..end];
        out.clear();
        let mut lines = 0;
        for raw in split_lines(piece) {
            if let Some(r) = self.judged(lines, raw, detail) {
                out.push(r);
            }
            lines += 1;
        }
        // The splitter yields an empty last line after a final newline.
        if piece.ends_with(b"\n") {
            lines -= 1;
        }
        lines
    }
}

/// What a stream carries from one buffer to the next: the number of the next line to hand
/// on, the results judged but not handed on yet (per piece, numbered from 0, with the
/// piece's line count), and emptied result vectors to reuse.
struct Carry {
    line: usize,
    pending: Vec<(Vec<Judged>, usize)>,
    spare: Vec<Vec<Judged>>,
}

impl Carry {
    fn new() -> Carry {
        Carry {
            line: 1,
            pending: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// Hands on the pending results, in order, with their line numbers.
    fn hand_on(&mut self, f: &mut impl FnMut(Judged)) {
        for (mut judged, lines) in self.pending.drain(..) {
            for mut r in judged.drain(..) {
                r.line += self.line;
                if let Err(e) = &mut r.outcome {
                    e.line = r.line;
                }
                f(r);
            }
            self.line += lines;
            self.spare.push(judged);
        }
    }
}

/// What the read-ahead thread hands over.
enum Block {
    /// Complete lines (or the unterminated last line at the end of input): `buf[range]`.
    Lines(Vec<u8>, std::ops::Range<usize>),
    /// A line longer than [`MAX_LINE`], skipped; its first bytes.
    TooLong(String),
    /// A read error; nothing follows.
    Failed(io::Error),
}

/// The size of the blocks a stream is read in.
const BLOCK: usize = 1 << 20;

/// The result for a line longer than [`MAX_LINE`], quoting its first bytes.
fn too_long(line: usize, near: String) -> Judged {
    Judged {
        line,
        conforms: false,
        outcome: Err(ParseError {
            line,
            kind: ParseErrorKind::TooLong,
            near,
        }),
    }
}

/// A stream cut into blocks of complete lines: each read fills a block of [`BLOCK`] bytes as
/// far as it goes, the block is cut after its last newline, and the incomplete tail moves to
/// the next block; a line that cannot end within [`MAX_LINE`] is reported once
/// ([`Block::TooLong`]) and skipped to its end without being held.
struct Blocks<R> {
    reader: R,
    buf: Vec<u8>,
    /// `buf[..filled]` holds the start of the next block.
    filled: usize,
    /// Skipping the rest of a line already reported as too long.
    skipping: bool,
    /// A too-long line to report after the block handed out.
    too_long: Option<String>,
    ended: bool,
}

impl<R: io::Read> Blocks<R> {
    fn new(reader: R) -> Blocks<R> {
        Blocks {
            reader,
            buf: vec![0u8; BLOCK],
            filled: 0,
            skipping: false,
            too_long: None,
            ended: false,
        }
    }

    /// The next block, or `None` at the end of input. A block of lines takes the buffer with
    /// it; `fresh` gives the one to go on with (at least [`BLOCK`] bytes; `None` ends the
    /// stream).
    fn next(&mut self, fresh: impl FnOnce() -> Option<Vec<u8>>) -> Option<Block> {
        if let Some(near) = self.too_long.take() {
            return Some(Block::TooLong(near));
        }
        let mut fresh = Some(fresh);
        loop {
            if self.ended {
                return None;
            }
            let n = match self.reader.read(&mut self.buf[self.filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.ended = true;
                    return Some(Block::Failed(e));
                }
            };
            let end = self.filled + n;
            self.ended = n == 0;
            let mut start = 0;
            if self.skipping {
                match find_newline(&self.buf[..end]) {
                    Some(i) => {
                        self.skipping = false;
                        start = i + 1;
                    }
                    None => {
                        self.filled = 0;
                        continue;
                    }
                }
            }
            // Every complete line; at the end of input, the last one too.
            let cut = if n == 0 {
                end
            } else {
                match self.buf[start..end].iter().rposition(|b| *b == b'\n') {
                    Some(i) => start + i + 1,
                    None => start,
                }
            };
            let rest = end - cut;
            if rest > MAX_LINE {
                self.too_long =
                    Some(String::from_utf8_lossy(&self.buf[cut..cut + 40]).into_owned());
                self.skipping = true;
                self.filled = 0;
            } else {
                self.filled = rest;
            }
            if cut > start {
                let Some(mut next) = fresh.take().and_then(|f| f()) else {
                    self.ended = true;
                    return None;
                };
                if rest <= MAX_LINE {
                    next[..rest].copy_from_slice(&self.buf[cut..end]);
                }
                let done = std::mem::replace(&mut self.buf, next);
                return Some(Block::Lines(done, start..cut));
            }
            if rest <= MAX_LINE {
                self.buf.copy_within(cut..end, 0);
            }
            if let Some(near) = self.too_long.take() {
                return Some(Block::TooLong(near));
            }
        }
    }
}

/// The read-ahead thread of [`Judge::judge_read_ahead`]: reads blocks and sends them on. At
/// most four blocks exist at once (two queued, one being judged, one being read).
fn read_blocks<R: io::Read>(
    reader: R,
    full: &mpsc::SyncSender<Block>,
    free: &mpsc::Receiver<Vec<u8>>,
) {
    const MAX_BLOCKS: usize = 4;
    let mut made = 1;
    let mut blocks = Blocks::new(reader);
    let fresh = |made: &mut usize| -> Option<Vec<u8>> {
        if let Ok(b) = free.try_recv() {
            return Some(b);
        }
        if *made < MAX_BLOCKS {
            *made += 1;
            return Some(vec![0u8; BLOCK]);
        }
        free.recv().ok()
    };
    while let Some(b) = blocks.next(|| fresh(&mut made)) {
        if full.send(b).is_err() {
            return;
        }
    }
}

/// Line counts of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[non_exhaustive]
pub struct Counts {
    /// Lines that carry an expectation or fail to parse (blank lines and the conntrack
    /// summary are not counted).
    pub lines: usize,
    /// Lines that conform.
    pub conforming: usize,
    /// Lines that do not parse.
    pub unparsable: usize,
}

impl Counts {
    fn plus(self, o: Counts) -> Counts {
        Counts {
            lines: self.lines + o.lines,
            conforming: self.conforming + o.conforming,
            unparsable: self.unparsable + o.unparsable,
        }
    }
}

/// Counts per helper and finding code, for `--summary`.
///
/// ```
/// use netfilter_helpers_core::judge::{Detail, Judge, Summary};
/// use netfilter_helpers_core::options::ModuleOptions;
/// let j = Judge::new(&ModuleOptions::new(), None);
/// let mut s = Summary::default();
/// for r in j.stream(&b"299 l3proto = 2 proto=17 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc\n"[..], Detail::Findings) {
///     s.add(&r.unwrap());
/// }
/// assert_eq!(s.lines, 1);
/// assert_eq!(s.by_helper["irc"].failing, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Lines judged (parsed or not).
    pub lines: usize,
    /// Lines that conform.
    pub conforming: usize,
    /// Lines that do not parse.
    pub unparsable: usize,
    /// Per helper name as written (`(no helper)` when none).
    pub by_helper: BTreeMap<String, HelperCounts>,
    /// Findings per code, model and policy together.
    pub by_code: BTreeMap<Code, usize>,
}

/// The lines of one helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[non_exhaustive]
pub struct HelperCounts {
    /// Conforming lines.
    pub conforming: usize,
    /// Lines with findings.
    pub failing: usize,
}

impl Summary {
    /// Counts one result.
    pub fn add(&mut self, r: &Judged) {
        self.lines += 1;
        match &r.outcome {
            Err(_) => self.unparsable += 1,
            Ok((p, j)) => {
                let name = p.expectation.helper.as_deref().unwrap_or("(no helper)");
                let h = match self.by_helper.get_mut(name) {
                    Some(h) => h,
                    None => self.by_helper.entry(name.to_string()).or_default(),
                };
                if r.conforms {
                    self.conforming += 1;
                    h.conforming += 1;
                } else {
                    h.failing += 1;
                }
                for f in j.iter().flat_map(Judgement::findings) {
                    *self.by_code.entry(f.code).or_default() += 1;
                }
            }
        }
    }
}

/// The iterator of [`Judge::stream`].
#[derive(Debug)]
pub struct Stream<'j, R> {
    judge: &'j Judge,
    reader: R,
    detail: Detail,
    buf: Vec<u8>,
    line: usize,
    done: bool,
}

impl<R: BufRead> Stream<'_, R> {
    /// Reads the next line into `buf`; `Ok(false)` at the end. Returns whether the line was
    /// cut because it was too long (then `buf` holds only its start).
    fn read_line(&mut self) -> io::Result<Option<bool>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(any.then_some(too_long));
            }
            any = true;
            let (take, end) = match find_newline(chunk) {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            let room = (MAX_LINE + 1).saturating_sub(self.buf.len());
            if take > room {
                too_long = true;
            }
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            let used = if end { take + 1 } else { take };
            self.reader.consume(used);
            if end {
                return Ok(Some(too_long));
            }
        }
    }
}

impl<R: BufRead> Iterator for Stream<'_, R> {
    type Item = io::Result<Judged>;

    fn next(&mut self) -> Option<io::Result<Judged>> {
        while !self.done {
            let too_long = match self.read_line() {
                Ok(Some(t)) => t,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.line += 1;
            if too_long || self.buf.len() > MAX_LINE {
                let n = self.buf.len().min(40);
                return Some(Ok(Judged {
                    line: self.line,
                    conforms: false,
                    outcome: Err(ParseError {
                        line: self.line,
                        kind: ParseErrorKind::TooLong,
                        near: String::from_utf8_lossy(&self.buf[..n]).into_owned(),
                    }),
                }));
            }
            let buf = std::mem::take(&mut self.buf);
            let r = self.judge.judged(self.line, &buf, self.detail);
            self.buf = buf;
            if let Some(r) = r {
                return Some(Ok(r));
            }
        }
        None
    }
}

fn thread_count(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    }
}

/// Splits at `\n` (the parser's word-at-a-time splitter); a trailing piece without a
/// newline is a line too.
fn split_lines(b: &[u8]) -> crate::parse::Lines<'_> {
    crate::parse::Lines { rest: Some(b) }
}

/// The size of the pieces threads take: small, so that the threads finish a buffer at nearly
/// the same time.
const PIECE: usize = 64 * 1024;
/// Pieces per thread in one window of a buffer (see `Judge::judge_buffer_from`).
const WINDOW_PIECES: usize = 8;

/// Runs `work` over `pieces` on `threads` threads (0: as many as the machine has), the
/// calling one included: `threads - 1` scoped threads and the calling thread take pieces in
/// order from a shared counter, so no thread waits for another between pieces. `ready`
/// receives each result with its piece's index, on the calling thread, as results arrive
/// (not necessarily in order); `between` runs on the calling thread before each piece it
/// takes and once every piece is taken (hand results on there); `stop` is asked there too,
/// and when it says so no piece is taken any more. Returns `false` when stopped, after the
/// pieces under way are finished (their results are dropped).
fn share_pieces<T: Send>(
    pieces: &[(usize, usize)],
    threads: usize,
    work: &(impl Fn((usize, usize)) -> T + Sync),
    mut stop: Option<&mut dyn FnMut() -> bool>,
    mut ready: impl FnMut(usize, T),
    mut between: impl FnMut(),
) -> bool {
    let n = pieces.len();
    let workers = thread_count(threads).min(n).saturating_sub(1);
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<(usize, T)>();
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(piece) = pieces.get(i) else { break };
                    if tx.send((i, work(*piece))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        loop {
            for (i, r) in rx.try_iter() {
                ready(i, r);
            }
            between();
            if stop.as_mut().is_some_and(|s| s()) {
                next.store(n, Ordering::Relaxed);
                return false;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(piece) = pieces.get(i) else { break };
            ready(i, work(*piece));
        }
        // Every piece is taken: wait for the others' last results.
        for (i, r) in rx.iter() {
            ready(i, r);
        }
        true
    })
}

/// Pieces of a buffer of about `piece` bytes, each cut after a newline: (start, end).
fn pieces(buf: &[u8], piece: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(buf.len() / piece + 1);
    let mut start = 0;
    while start < buf.len() {
        let mut end = (start + piece).min(buf.len());
        if end < buf.len() {
            end = match find_newline(&buf[end..]) {
                Some(i) => end + i + 1,
                None => buf.len(),
            };
        }
        out.push((start, end));
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc";
    const BAD: &str = "299 l3proto = 2 proto=17 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc";

    fn corpus(n: usize) -> Vec<u8> {
        let mut t = Vec::new();
        for i in 0..n {
            let line = match i % 5 {
                0 | 1 => GOOD,
                2 => BAD,
                3 => "",
                _ => "bogus line",
            };
            t.extend_from_slice(line.as_bytes());
            t.push(b'\n');
        }
        t
    }

    #[test]
    fn stream_buffer_and_count_agree() {
        let text = corpus(50_000);
        let judge = Judge::new(&ModuleOptions::new(), None);
        let streamed: Vec<Judged> = judge
            .stream(&text[..], Detail::Full)
            .collect::<Result<_, _>>()
            .unwrap();
        for threads in [1, 3] {
            let mut buffered = Vec::new();
            judge.judge_buffer(&text, threads, Detail::Full, |r| buffered.push(r));
            assert_eq!(buffered, streamed, "{threads} threads");
            let c = judge.count_buffer(&text, threads);
            assert_eq!(c.lines, streamed.len());
            assert_eq!(c.conforming, streamed.iter().filter(|r| r.conforms).count());
            assert_eq!(
                c.unparsable,
                streamed.iter().filter(|r| r.outcome.is_err()).count()
            );
        }
        // Line numbers are the input's.
        assert_eq!(streamed[0].line, 1);
        assert_eq!(streamed[3].line, 5);
        // The fast path gives the same answers, with nothing built for conforming lines.
        let quick: Vec<Judged> = judge
            .stream(&text[..], Detail::Findings)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            quick.iter().map(|r| r.conforms).collect::<Vec<_>>(),
            streamed.iter().map(|r| r.conforms).collect::<Vec<_>>()
        );
        assert!(
            quick
                .iter()
                .filter(|r| r.conforms)
                .all(|r| matches!(r.outcome, Ok((_, None))))
        );
    }

    #[test]
    fn reader_agrees_with_stream_across_blocks_and_long_lines() {
        // More than one 1 MiB block, a long line spanning blocks, no final newline.
        let mut text = corpus(20_000);
        text.extend(std::iter::repeat_n(b'y', 3 * MAX_LINE));
        text.push(b'\n');
        text.extend_from_slice(&corpus(9_000));
        text.extend_from_slice(GOOD.as_bytes());
        let judge = Judge::new(&ModuleOptions::new(), None);
        let streamed: Vec<Judged> = judge
            .stream(&text[..], Detail::Full)
            .collect::<Result<_, _>>()
            .unwrap();
        // A reader that returns at most 1000 bytes at a time, as a pipe might.
        struct Trickle<'a>(&'a [u8]);
        impl io::Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(out.len()).min(1000);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        for threads in [1, 2] {
            let mut got = Vec::new();
            judge
                .judge_reader(&text[..], threads, Detail::Full, |r| got.push(r))
                .unwrap();
            assert_eq!(got, streamed);
            let mut got = Vec::new();
            judge
                .judge_reader(Trickle(&text), threads, Detail::Full, |r| got.push(r))
                .unwrap();
            assert_eq!(got, streamed);
            // Read ahead on a thread of its own: the same results, in the same order, from
            // whole blocks and from a trickle.
            struct Owned(Vec<u8>, usize);
            impl io::Read for Owned {
                fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                    let n = (self.0.len() - self.1)
                        .min(out.len())
                        .min(self.1 % 7 * 150 + 1000);
                    out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                    self.1 += n;
                    Ok(n)
                }
            }
            let mut got = Vec::new();
            let done = judge
                .judge_read_ahead(
                    io::Cursor::new(text.clone()),
                    threads,
                    Detail::Full,
                    |r| {
                        got.push(r);
                        ControlFlow::Continue(())
                    },
                    || {},
                )
                .unwrap();
            assert!(done);
            assert_eq!(got, streamed);
            let mut got = Vec::new();
            let mut idle = 0;
            judge
                .judge_read_ahead(
                    Owned(text.clone(), 0),
                    threads,
                    Detail::Full,
                    |r| {
                        got.push(r);
                        ControlFlow::Continue(())
                    },
                    || idle += 1,
                )
                .unwrap();
            assert_eq!(got, streamed);
            assert!(idle > 0);
            // Stopping early delivers nothing more and says so.
            let mut n = 0;
            let done = judge
                .judge_read_ahead(
                    io::Cursor::new(text.clone()),
                    threads,
                    Detail::Full,
                    |_| {
                        n += 1;
                        if n == 5 {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue(())
                        }
                    },
                    || {},
                )
                .unwrap();
            assert!(!done);
            assert_eq!(n, 5);
        }
    }

    #[test]
    fn empty_buffers_on_any_number_of_threads() {
        let judge = Judge::new(&ModuleOptions::new(), None);
        for threads in [0, 1, 2, 7] {
            assert_eq!(judge.count_buffer(b"", threads), Counts::default());
            let mut n = 0;
            assert_eq!(
                judge.judge_buffer_until(b"", threads, Detail::Full, || false, |_| n += 1),
                Some(0)
            );
            assert_eq!(n, 0);
        }
    }

    #[test]
    fn stopping_is_asked_between_pieces() {
        let judge = Judge::new(&ModuleOptions::new(), None);
        let text = corpus(40_000);
        let mut asked = 0;
        let all = judge.count_buffer(&text, 2);
        assert_eq!(
            judge.count_buffer_until(&text, 2, || {
                asked += 1;
                false
            }),
            Some(all)
        );
        assert!(asked > 1, "{asked}");
        let mut asked = 0;
        assert_eq!(
            judge.count_buffer_until(&text, 2, || {
                asked += 1;
                asked == 2
            }),
            None
        );
    }

    #[test]
    fn read_ahead_reports_read_errors_after_the_lines_before_them() {
        struct Failing(Vec<u8>);
        impl io::Read for Failing {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::Error::other("disk gone"));
                }
                let n = self.0.len().min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0.drain(..n);
                Ok(n)
            }
        }
        let judge = Judge::new(&ModuleOptions::new(), None);
        let mut got = 0;
        let e = judge
            .judge_read_ahead(
                Failing(corpus(100)),
                1,
                Detail::Full,
                |_| {
                    got += 1;
                    ControlFlow::Continue(())
                },
                || {},
            )
            .unwrap_err();
        assert_eq!(e.to_string(), "disk gone");
        let mut want = 0;
        judge.judge_buffer(&corpus(100), 1, Detail::Full, |_| want += 1);
        assert!(want > 0);
        assert_eq!(got, want);
    }

    #[test]
    fn long_lines_are_reported_and_skipped() {
        let mut text = vec![b'x'; 5 * MAX_LINE];
        text.push(b'\n');
        text.extend_from_slice(GOOD.as_bytes());
        let judge = Judge::new(&ModuleOptions::new(), None);
        // A tiny reader buffer, so the long line spans many reads.
        let reader = io::BufReader::with_capacity(7, &text[..]);
        let r: Vec<Judged> = judge
            .stream(reader, Detail::Full)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(r.len(), 2);
        let e = r[0].outcome.as_ref().unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::TooLong);
        assert_eq!(e.near.len(), 40);
        assert!(r[1].conforms && r[1].line == 2);
    }

    #[test]
    fn policy_findings_count_against_conformance() {
        let p = SitePolicy::from_toml("[helpers.irc]\nmin_port = 6000\n").unwrap();
        let judge = Judge::new(&ModuleOptions::new(), Some(p));
        let (_, j) = judge.judge_line(GOOD.as_bytes()).unwrap();
        assert!(j.verdict.conforms());
        assert!(!j.policy.is_empty());
        assert!(!j.conforms());
        let parsed = parse_line(GOOD.as_bytes()).unwrap();
        assert!(!judge.conforms_parsed(&parsed));
    }
}
