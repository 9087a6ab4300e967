//! netfilter-helpers-netlink: the kernel's live conntrack expectations over ctnetlink.
//!
//! The I/O half of watching expectations; the bytes are decoded and encoded by the core's
//! sans-I/O [`netfilter_helpers_core::ctnetlink`] module, and judged by the core's
//! [`Judge`]. This crate only moves datagrams, on
//! [`netlink_sys`] sockets:
//!
//! * [`Requests`]: a `NETLINK_NETFILTER` socket for requests: [`Requests::dump`] reads the
//!   expectation table, [`Requests::delete`] deletes one expectation by tuple and id (the
//!   kernel's `ctnetlink_del_expect` finds it by tuple and deletes it only while the id still
//!   matches);
//! * [`Watcher`]: subscribes to the NEW and DESTROY expectation events **before** it dumps the
//!   table, so no expectation created meanwhile is missed, deduplicates by the kernel's id,
//!   dumps again when the kernel reports lost events (`ENOBUFS`), and stops when its stop flag
//!   is set (within [`WatchOptions::poll`]);
//! * every socket can be opened in another network namespace ([`WatchOptions::netns`], a path
//!   such as `/run/netns/NAME`): a short-lived thread enters it (`setns`) and opens the sockets
//!   there; a socket stays in the namespace it was opened in.
//!
//! Errors say what is wrong: [`Error::PermissionDenied`] without `CAP_NET_ADMIN`,
//! [`Error::NoConntrack`] when the kernel has no ctnetlink expectation subsystem, and messages
//! that do not decode are reported ([`Event::Malformed`], [`Dump::problems`]), never dropped.
//!
//! `unsafe` is used in three small functions only, each with its justification: `setns(2)`
//! (no safe wrapper in `std`), and two `setsockopt(2)` calls `netlink-sys` does not offer
//! (`SO_RCVTIMEO`, `SO_RCVBUFFORCE`).
//!
//! ```no_run
//! use netfilter_helpers_netlink::{Event, WatchOptions, Watcher};
//! use netfilter_helpers_core::{judge::Judge, options::ModuleOptions};
//!
//! let judge = Judge::new(&ModuleOptions::new(), None);
//! let mut watcher = Watcher::open(&WatchOptions::default())?;
//! while let Some(event) = watcher.next_event()? {
//!     if let Event::Existing(m) | Event::New(m) = &event {
//!         if !m.conforms(&judge) {
//!             println!("deleting {}: {:?}", m.expectation().to_conntrack_line(None), watcher.delete(m)?);
//!         }
//!     }
//! }
//! # Ok::<(), netfilter_helpers_netlink::Error>(())
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use netfilter_helpers_core::ctnetlink::{
    self, DecodeError, ExpectKey, ExpectMessage, Message, MessageKind, NETLINK_NETFILTER,
    NFNLGRP_CONNTRACK_EXP_DESTROY, NFNLGRP_CONNTRACK_EXP_NEW,
};
use netfilter_helpers_core::judge::{Judge, Judgement};
use netlink_sys::{Socket, SocketAddr};

/// An error of the netlink side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel refused for lack of privilege.
    #[error(
        "permission denied while {what}: ctnetlink needs CAP_NET_ADMIN in the network namespace (run as root, or grant the capability)"
    )]
    PermissionDenied {
        /// What was being done.
        what: &'static str,
    },
    /// The kernel has no ctnetlink expectation subsystem (or no netfilter netlink at all).
    #[error(
        "conntrack is not available while {what}: the kernel has no ctnetlink expectation subsystem (load nf_conntrack_netlink, or build the kernel with CONFIG_NF_CT_NETLINK)"
    )]
    NoConntrack {
        /// What was being done.
        what: &'static str,
    },
    /// The network namespace could not be opened or entered.
    #[error("cannot enter the network namespace {}: {source}", path.display())]
    Netns {
        /// Its path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A socket call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
    /// The kernel answered a request with an error.
    #[error("the kernel refused {what}: {} (errno {errno})", io::Error::from_raw_os_error(*errno))]
    Kernel {
        /// The request.
        what: &'static str,
        /// The (positive) errno.
        errno: i32,
    },
    /// The kernel did not answer a request in time.
    #[error("no answer from the kernel to {what} within {timeout:?}")]
    Timeout {
        /// The request.
        what: &'static str,
        /// How long we waited.
        timeout: Duration,
    },
}

/// This crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn os_error(what: &'static str, e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => Error::PermissionDenied { what },
        Some(libc::EPROTONOSUPPORT | libc::EAFNOSUPPORT) => Error::NoConntrack { what },
        _ => Error::Io { what, source: e },
    }
}

fn kernel_error(what: &'static str, negative_errno: i32) -> Error {
    let errno = negative_errno.saturating_neg();
    match errno {
        libc::EPERM | libc::EACCES => Error::PermissionDenied { what },
        libc::EOPNOTSUPP => Error::NoConntrack { what },
        _ => Error::Kernel { what, errno },
    }
}

/// Runs `f` on a thread that entered the network namespace at `netns` (none: the caller's
/// namespace, on the calling thread). Sockets opened there stay in that namespace.
pub fn in_netns<T: Send>(netns: Option<&Path>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let Some(path) = netns else {
        return f();
    };
    let file = File::open(path).map_err(|source| Error::Netns {
        path: path.to_owned(),
        source,
    })?;
    std::thread::scope(|s| {
        s.spawn(|| {
            enter_netns(&file).map_err(|source| Error::Netns {
                path: path.to_owned(),
                source,
            })?;
            f()
        })
        .join()
        .unwrap_or_else(|_| {
            Err(Error::Io {
                what: "opening sockets in a network namespace",
                source: io::Error::other("the namespace thread panicked"),
            })
        })
    })
}

/// `setns(fd, CLONE_NEWNET)` for the calling thread only (the thread is dedicated to it and
/// ends after opening its sockets).
#[allow(unsafe_code)]
fn enter_netns(file: &File) -> io::Result<()> {
    // SAFETY: setns takes a file descriptor we own and keep open for the duration of the call
    // and a flag constant; it touches no memory of ours. std has no wrapper for it.
    let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `setsockopt(fd, SOL_SOCKET, name, &value)` for an integer option.
#[allow(unsafe_code)]
fn set_int_option(fd: RawFd, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the pointer and length describe `value`, a live c_int on our stack, for the
    // duration of the call; the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `SO_RCVTIMEO`: a blocking receive returns `EAGAIN` after `timeout`.
#[allow(unsafe_code)]
fn set_receive_timeout(fd: RawFd, timeout: Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: the pointer and length describe `tv`, a live timeval on our stack, for the
    // duration of the call; the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Largest datagram read at once (the kernel's dump skbs are at most 32 KiB).
const RECV_BUFFER: usize = 256 * 1024;

/// A `NETLINK_NETFILTER` socket bound to a kernel-assigned port id.
struct Link {
    socket: Socket,
    port_id: u32,
    buf: Vec<u8>,
}

enum Received {
    /// A datagram is in `buf`.
    Data,
    /// The receive timed out.
    Timeout,
    /// The socket dropped messages (`ENOBUFS`).
    Lost,
}

impl Link {
    fn open(groups: &[u32], timeout: Duration, rcvbuf: Option<usize>) -> Result<Link> {
        let what = "opening a NETLINK_NETFILTER socket";
        let mut socket = Socket::new(NETLINK_NETFILTER as isize).map_err(|e| os_error(what, e))?;
        let addr = socket
            .bind_auto()
            .map_err(|e| os_error("binding the netlink socket", e))?;
        for g in groups {
            socket
                .add_membership(*g)
                .map_err(|e| os_error("subscribing to expectation events", e))?;
        }
        let fd = socket.as_raw_fd();
        if let Some(size) = rcvbuf {
            let size = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
            // SO_RCVBUFFORCE passes rmem_max with CAP_NET_ADMIN; SO_RCVBUF is capped by it.
            set_int_option(fd, libc::SO_RCVBUFFORCE, size)
                .or_else(|_| set_int_option(fd, libc::SO_RCVBUF, size))
                .map_err(|e| os_error("sizing the event socket's buffer", e))?;
        }
        set_receive_timeout(fd, timeout).map_err(|e| os_error("setting SO_RCVTIMEO", e))?;
        Ok(Link {
            socket,
            port_id: addr.port_number(),
            buf: Vec::with_capacity(RECV_BUFFER),
        })
    }

    fn send(&self, bytes: &[u8], what: &'static str) -> Result<()> {
        self.socket
            .send_to(bytes, &SocketAddr::new(0, 0), 0)
            .map(drop)
            .map_err(|e| os_error(what, e))
    }

    fn recv(&mut self, what: &'static str) -> Result<Received> {
        loop {
            self.buf.clear();
            match self.socket.recv(&mut self.buf, 0) {
                Ok(_) => return Ok(Received::Data),
                Err(e) => match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) => return Ok(Received::Timeout),
                    Some(libc::ENOBUFS) => return Ok(Received::Lost),
                    _ => return Err(os_error(what, e)),
                },
            }
        }
    }
}

/// The expectation table, as one dump read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    /// The expectations.
    pub expectations: Vec<ExpectMessage>,
    /// Messages of the dump that did not decode.
    pub problems: Vec<DecodeError>,
}

/// What a deletion request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Deletion {
    /// The kernel deleted the expectation.
    Deleted,
    /// It was gone already (`ENOENT`): a connection matched it, it expired or was deleted, or
    /// its id changed (a new expectation took the tuple).
    Gone,
}

/// A socket for requests: dumps and deletions.
pub struct Requests {
    link: Link,
    seq: u32,
    timeout: Duration,
}

impl std::fmt::Debug for Requests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requests")
            .field("port_id", &self.link.port_id)
            .field("seq", &self.seq)
            .finish()
    }
}

impl Requests {
    /// Opens a request socket in the network namespace at `netns` (none: the caller's).
    pub fn open(netns: Option<&Path>) -> Result<Requests> {
        in_netns(netns, Requests::open_here)
    }

    fn open_here() -> Result<Requests> {
        let timeout = Duration::from_secs(5);
        Ok(Requests {
            link: Link::open(&[], timeout, None)?,
            seq: 0,
            timeout,
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Reads the whole expectation table of the socket's namespace (both families).
    pub fn dump(&mut self) -> Result<Dump> {
        const WHAT: &str = "dumping the expectation table";
        let seq = self.next_seq();
        self.link.send(&ctnetlink::dump_request(seq, None), WHAT)?;
        let mut dump = Dump::default();
        loop {
            match self.link.recv(WHAT)? {
                Received::Data => {}
                Received::Timeout => {
                    return Err(Error::Timeout {
                        what: WHAT,
                        timeout: self.timeout,
                    });
                }
                Received::Lost => {
                    return Err(Error::Io {
                        what: WHAT,
                        source: io::Error::from_raw_os_error(libc::ENOBUFS),
                    });
                }
            }
            for m in ctnetlink::messages(&self.link.buf) {
                match m {
                    Ok(Message::Expect(e)) if e.header.seq == seq => dump.expectations.push(e),
                    Ok(Message::Done { header, error }) if header.seq == seq => {
                        return if error < 0 {
                            Err(dump_error(error))
                        } else {
                            Ok(dump)
                        };
                    }
                    Ok(Message::Error { header, error }) if header.seq == seq => {
                        return Err(dump_error(error));
                    }
                    Err(e) => dump.problems.push(e),
                    // Replies to earlier requests, acknowledgements: not ours.
                    Ok(_) => {}
                }
            }
        }
    }

    /// Deletes one expectation by tuple, id and zone.
    pub fn delete(&mut self, key: &ExpectKey) -> Result<Deletion> {
        const WHAT: &str = "deleting an expectation";
        let seq = self.next_seq();
        self.link.send(&ctnetlink::delete_request(seq, key), WHAT)?;
        loop {
            match self.link.recv(WHAT)? {
                Received::Data => {}
                Received::Timeout => {
                    return Err(Error::Timeout {
                        what: WHAT,
                        timeout: self.timeout,
                    });
                }
                Received::Lost => continue,
            }
            for m in ctnetlink::messages(&self.link.buf) {
                match m {
                    Ok(Message::Ack { header }) if header.seq == seq => {
                        return Ok(Deletion::Deleted);
                    }
                    Ok(Message::Error { header, error }) if header.seq == seq => {
                        return if error == -libc::ENOENT {
                            Ok(Deletion::Gone)
                        } else {
                            Err(kernel_error(WHAT, error))
                        };
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A dump that fails with `EINVAL` or `EOPNOTSUPP` met no ctnetlink expectation subsystem
/// (`nfnetlink_rcv_msg` answers `-EINVAL` when the subsystem is not registered after trying
/// to load its module).
fn dump_error(error: i32) -> Error {
    const WHAT: &str = "dumping the expectation table";
    if error == -libc::EINVAL {
        Error::NoConntrack { what: WHAT }
    } else {
        kernel_error(WHAT, error)
    }
}

/// How to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchOptions {
    /// The network namespace to watch (a path such as `/run/netns/NAME`); none: the caller's.
    pub netns: Option<PathBuf>,
    /// How often a blocked [`Watcher::next_event`] looks at the stop flag.
    pub poll: Duration,
    /// The event socket's receive buffer, in bytes (forced past `rmem_max` when allowed).
    pub receive_buffer: usize,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            netns: None,
            poll: Duration::from_millis(100),
            receive_buffer: 8 << 20,
        }
    }
}

impl WatchOptions {
    /// Options for the namespace at `path`.
    ///
    /// ```
    /// use netfilter_helpers_netlink::WatchOptions;
    /// let o = WatchOptions::in_netns("/run/netns/lab");
    /// assert_eq!(o.netns.unwrap().to_str(), Some("/run/netns/lab"));
    /// ```
    pub fn in_netns(path: impl Into<PathBuf>) -> WatchOptions {
        WatchOptions {
            netns: Some(path.into()),
            ..WatchOptions::default()
        }
    }

    /// Sets the receive buffer size.
    ///
    /// ```
    /// use netfilter_helpers_netlink::WatchOptions;
    /// assert_eq!(WatchOptions::default().with_receive_buffer(4096).receive_buffer, 4096);
    /// ```
    pub fn with_receive_buffer(mut self, bytes: usize) -> WatchOptions {
        self.receive_buffer = bytes;
        self
    }
}

/// What the watcher saw.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// An expectation found in the table (when watching starts, or when it dumps again after
    /// lost events).
    Existing(ExpectMessage),
    /// A new expectation (a NEW event).
    New(ExpectMessage),
    /// An expectation was destroyed: matched by its connection, expired or deleted (a DESTROY
    /// event, or missing from the table dumped again after lost events).
    Destroyed(ExpectMessage),
    /// The kernel dropped events (the socket's buffer overflowed); the table was dumped again
    /// and the differences follow as [`Event::Existing`] and [`Event::Destroyed`].
    Lost,
    /// A message that does not decode.
    Malformed(DecodeError),
}

/// Watches the expectations of one network namespace.
pub struct Watcher {
    events: Link,
    requests: Requests,
    /// Live expectations by id (with their last message, to report them destroyed after a
    /// resynchronisation).
    known: HashMap<u32, ExpectMessage>,
    queue: VecDeque<Event>,
    stop: Arc<AtomicBool>,
    /// Messages of other subsystems or types seen on the event socket.
    skipped: u64,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("known", &self.known.len())
            .field("queued", &self.queue.len())
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl Watcher {
    /// Subscribes to NEW and DESTROY expectation events, then dumps the table: the first
    /// events are the existing expectations ([`Event::Existing`]).
    pub fn open(options: &WatchOptions) -> Result<Watcher> {
        let (events, requests) = in_netns(options.netns.as_deref(), || {
            let events = Link::open(
                &[NFNLGRP_CONNTRACK_EXP_NEW, NFNLGRP_CONNTRACK_EXP_DESTROY],
                options.poll,
                Some(options.receive_buffer),
            )?;
            Ok((events, Requests::open_here()?))
        })?;
        let mut w = Watcher {
            events,
            requests,
            known: HashMap::new(),
            queue: VecDeque::new(),
            stop: Arc::new(AtomicBool::new(false)),
            skipped: 0,
        };
        w.resync(false)?;
        Ok(w)
    }

    /// The flag that stops the watcher: once set (from any thread, or a signal handler),
    /// [`Watcher::next_event`] returns `Ok(None)` within [`WatchOptions::poll`].
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Uses `flag` as the stop flag (e.g. one a signal handler sets).
    pub fn with_stop_flag(mut self, flag: Arc<AtomicBool>) -> Watcher {
        self.stop = flag;
        self
    }

    /// How many expectations the watcher knows to be live.
    pub fn live(&self) -> usize {
        self.known.len()
    }

    /// Messages of other subsystems or types seen on the event socket (skipped).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Dumps the table and queues the differences with what the watcher knew.
    fn resync(&mut self, after_loss: bool) -> Result<()> {
        let dump = self.requests.dump()?;
        if after_loss {
            self.queue.push_back(Event::Lost);
        }
        self.queue
            .extend(dump.problems.into_iter().map(Event::Malformed));
        let mut seen = HashSet::new();
        for e in dump.expectations {
            match e.id {
                Some(id) => {
                    seen.insert(id);
                    if self.known.insert(id, e.clone()).is_none() {
                        self.queue.push_back(Event::Existing(e));
                    }
                }
                None => self.queue.push_back(Event::Existing(e)),
            }
        }
        if after_loss {
            let gone: Vec<u32> = self
                .known
                .keys()
                .filter(|id| !seen.contains(id))
                .copied()
                .collect();
            for id in gone {
                if let Some(mut e) = self.known.remove(&id) {
                    e.kind = MessageKind::Destroy;
                    e.line.event = Some(netfilter_helpers_core::parse::Event::Destroy);
                    self.queue.push_back(Event::Destroyed(e));
                }
            }
        }
        Ok(())
    }

    /// The next event; `Ok(None)` once the stop flag is set.
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        self.next_event_within(false)
    }

    /// Whether the stop flag is set.
    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The next event, or `Ok(None)` when none came within about one
    /// [`WatchOptions::poll`] or the stop flag is set: for callers that must do
    /// something else between waits (a Python binding checking for signals).
    pub fn poll_event(&mut self) -> Result<Option<Event>> {
        self.next_event_within(true)
    }

    fn next_event_within(&mut self, give_up: bool) -> Result<Option<Event>> {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            if let Some(e) = self.queue.pop_front() {
                return Ok(Some(e));
            }
            match self.events.recv("receiving expectation events")? {
                Received::Timeout if give_up => return Ok(None),
                Received::Timeout => continue,
                Received::Lost => {
                    self.resync(true)?;
                    continue;
                }
                Received::Data => {}
            }
            let mut out = Vec::new();
            for m in ctnetlink::messages(&self.events.buf) {
                match m {
                    Ok(Message::Expect(e)) => match (e.kind, e.id) {
                        (MessageKind::New, Some(id)) => {
                            if let std::collections::hash_map::Entry::Vacant(v) =
                                self.known.entry(id)
                            {
                                v.insert(e.clone());
                                out.push(Event::New(e));
                            }
                        }
                        (MessageKind::Destroy, Some(id)) => {
                            self.known.remove(&id);
                            out.push(Event::Destroyed(e));
                        }
                        (MessageKind::Destroy, None) => out.push(Event::Destroyed(e)),
                        _ => out.push(Event::New(e)),
                    },
                    Ok(Message::Noop) => {}
                    Ok(_) => self.skipped += 1,
                    Err(e) => out.push(Event::Malformed(e)),
                }
            }
            self.queue.extend(out);
        }
    }

    /// Deletes an expectation the watcher reported (by its tuple, id and zone).
    pub fn delete(&mut self, message: &ExpectMessage) -> Result<Deletion> {
        self.requests.delete(&message.key())
    }

    /// Reads the whole table now (without changing what the watcher reports).
    pub fn dump(&mut self) -> Result<Dump> {
        self.requests.dump()
    }
}

/// An event with what the judge said of it and, when enforcing, what the deletion found.
#[derive(Debug)]
#[non_exhaustive]
pub struct Judged {
    /// The event.
    pub event: Event,
    /// The judgement of an [`Event::Existing`] or [`Event::New`] expectation.
    pub judgement: Option<Judgement>,
    /// When enforcing and the expectation does not conform: the deletion's outcome.
    pub deletion: Option<Result<Deletion>>,
    /// When the event was taken from the socket (wall clock).
    pub received: SystemTime,
    /// When the kernel answered the deletion (wall clock).
    pub answered: Option<SystemTime>,
}

impl Watcher {
    /// The next event, judged by `judge` (the core's one pipeline) and, when `enforce` is set
    /// and the expectation does not conform, deleted at once: the deletion is sent as soon as
    /// the core's allocation-free check ([`Judge::conforms_parsed`]) has decided, before the
    /// full judgement is built. `Ok(None)` once the stop flag is set. `nfh watch` and the lab
    /// go through this.
    pub fn next_judged(&mut self, judge: &Judge, enforce: bool) -> Result<Option<Judged>> {
        let Some(event) = self.next_event()? else {
            return Ok(None);
        };
        Ok(Some(self.judged(event, judge, enforce)))
    }

    /// [`Watcher::next_judged`] that gives up after about one [`WatchOptions::poll`] without
    /// an event (see [`Watcher::poll_event`]; [`Watcher::is_stopped`] tells the two apart).
    pub fn poll_judged(&mut self, judge: &Judge, enforce: bool) -> Result<Option<Judged>> {
        let Some(event) = self.poll_event()? else {
            return Ok(None);
        };
        Ok(Some(self.judged(event, judge, enforce)))
    }

    fn judged(&mut self, event: Event, judge: &Judge, enforce: bool) -> Judged {
        let received = SystemTime::now();
        let (judgement, deletion, answered) = match &event {
            Event::Existing(m) | Event::New(m) => {
                // Delete first (the allocation-free check decides), explain after: the full
                // judgement (findings, option hints) is built once the hole is closed.
                let deletion = (enforce && !m.conforms(judge)).then(|| self.delete(m));
                let answered = deletion.as_ref().map(|_| SystemTime::now());
                (Some(m.judge(judge)), deletion, answered)
            }
            _ => (None, None, None),
        };
        Judged {
            event,
            judgement,
            deletion,
            received,
            answered,
        }
    }
}

impl Iterator for Watcher {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_to_do() {
        let e = kernel_error("dumping the expectation table", -libc::EPERM);
        assert!(e.to_string().contains("CAP_NET_ADMIN"), "{e}");
        let e = dump_error(-libc::EINVAL);
        assert!(e.to_string().contains("nf_conntrack_netlink"), "{e}");
        let e = kernel_error("deleting an expectation", -libc::EBUSY);
        assert!(matches!(e, Error::Kernel { errno, .. } if errno == libc::EBUSY));
        assert!(e.to_string().contains("errno 16"), "{e}");
    }

    #[test]
    fn a_missing_namespace_is_named() {
        let e = Requests::open(Some(Path::new("/run/netns/nfh-no-such-namespace"))).unwrap_err();
        assert!(matches!(e, Error::Netns { .. }));
        assert!(e.to_string().contains("nfh-no-such-namespace"), "{e}");
    }
}
