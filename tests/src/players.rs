//! Running the Python protocol players (`tests/lab/players.py`) inside namespaces.
//!
//! A [`Player`] is `ip netns exec NS python3 -u tests/lab/players.py ROLE ARGS…` with piped
//! stdin/stdout/stderr. The script reports progress as lines on stdout (`READY`, `GOT …`,
//! `REPLY …`, `DONE …`, see the script's docstring); [`Player::expect`] waits for a line with a
//! given first word, with a timeout, and fails with the player's stderr and everything it
//! printed so far.
//!
//! Players exit when their stdin is closed. Dropping a [`Player`] closes stdin, gives the
//! process a short grace period to exit cleanly (closing its sockets), then kills it. While a
//! client player is alive its master connection stays open, and with it the master conntrack
//! and its expectations.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::netns::{CommandError, Netns};

/// Absolute path of `players.py`.
pub const PLAYERS_PY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/players.py");

/// Python interpreter used for the players (looked up in `PATH` inside the namespace).
pub const PYTHON: &str = "python3";

/// Grace period between closing a player's stdin and killing it.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// An error of the lab harness: a failed command or a player that misbehaved.
#[derive(Debug, Clone)]
pub enum LabError {
    /// A setup or inspection command failed.
    Command(CommandError),
    /// A player could not be spawned, exited, or did not print what was awaited in time.
    Player(String),
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabError::Command(err) => err.fmt(f),
            LabError::Player(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for LabError {}

impl From<CommandError> for LabError {
    fn from(err: CommandError) -> Self {
        LabError::Command(err)
    }
}

/// A running protocol player.
#[derive(Debug)]
pub struct Player {
    label: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Player {
    /// Spawns `players.py role args…` inside `ns`. Does not wait for anything.
    pub fn spawn(ns: &Netns, role: &str, args: &[String]) -> Result<Player, LabError> {
        Player::spawn_script(ns, PLAYERS_PY, role, args)
    }

    /// Spawns `python3 -u <script> role args…` inside `ns`: another player script with the
    /// same line protocol (`tests/lab/scripted.py`, `tests/lab/watch_load.py`). Does not wait
    /// for anything.
    pub fn spawn_script(
        ns: &Netns,
        script: &str,
        role: &str,
        args: &[String],
    ) -> Result<Player, LabError> {
        let label = format!("{role} in {} ({} {})", ns.name(), role, args.join(" "));
        let mut cmd = ns.command(PYTHON);
        cmd.arg("-u")
            .arg(script)
            .arg(role)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| LabError::Player(format!("cannot spawn player {label}: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr_pipe = child.stderr.take();

        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = stdout {
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    match line {
                        Ok(line) => {
                            if tx.send(line).is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = stderr_pipe {
            let sink = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Ok(Player {
            label,
            child,
            stdin,
            lines,
            seen: Vec::new(),
            stderr,
        })
    }

    /// Description used in error messages (role, namespace, arguments).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Every stdout line received so far (including those consumed by [`Player::expect`]).
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// What the player wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits up to `timeout` for a stdout line whose first word is `token` (e.g. `READY`,
    /// `DONE`, `GOT`) and returns the remaining words. Lines with other first words are
    /// recorded in [`Player::seen`] and skipped.
    pub fn expect(&mut self, token: &str, timeout: Duration) -> Result<Vec<String>, LabError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    let mut words = line.split_whitespace();
                    if words.next() == Some(token) {
                        return Ok(words.map(str::to_owned).collect());
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(self.failure(&format!("no `{token}` line within {timeout:?}")));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // Give the stderr reader a moment to collect the traceback.
                    thread::sleep(Duration::from_millis(100));
                    let status = self.child.try_wait().ok().flatten();
                    return Err(self.failure(&format!(
                        "player exited ({status:?}) before printing `{token}`"
                    )));
                }
            }
        }
    }

    /// Waits up to `timeout` for the next stdout line (any first word), records it in
    /// [`Player::seen`] and returns it; `Ok(None)` when nothing came in time. Fails only when
    /// the player exited (with its output and stderr in the error).
    pub fn next_line(&mut self, timeout: Duration) -> Result<Option<String>, LabError> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.seen.push(line.clone());
                Ok(Some(line))
            }
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => {
                thread::sleep(Duration::from_millis(100));
                let status = self.child.try_wait().ok().flatten();
                Err(self.failure(&format!("player exited ({status:?})")))
            }
        }
    }

    /// Every line received within `window` whose first word is `token`, as its remaining
    /// words (other lines are recorded in [`Player::seen`] only). Returns early, with what it
    /// has, if the player exits.
    pub fn collect(&mut self, token: &str, window: Duration) -> Vec<Vec<String>> {
        let deadline = Instant::now() + window;
        let mut found = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return found;
            }
            match self.next_line(left) {
                Ok(Some(line)) => {
                    let mut words = line.split_whitespace();
                    if words.next() == Some(token) {
                        found.push(words.map(str::to_owned).collect());
                    }
                }
                Ok(None) | Err(_) => return found,
            }
        }
    }

    /// The most recent `REPLY` text seen on stdout, if any.
    pub fn last_reply(&self) -> Option<String> {
        self.seen
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("REPLY ").map(str::to_owned))
    }

    fn failure(&self, what: &str) -> LabError {
        LabError::Player(format!(
            "player {}: {what}\n--- stdout so far ---\n{}\n--- stderr ---\n{}",
            self.label,
            self.seen.join("\n"),
            self.stderr().trim_end()
        ))
    }

    /// Writes `line` and a newline to the player's stdin (e.g. `GO` to a paused scripted
    /// player).
    pub fn send_line(&mut self, line: &str) -> Result<(), LabError> {
        use std::io::Write;
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| self_closed(&self.label))?;
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| {
                LabError::Player(format!("player {}: cannot write stdin: {e}", self.label))
            })
    }

    /// Closes stdin (the player closes its sockets and exits), waits up to a short grace period,
    /// then kills it if needed. Called by `Drop`; calling it earlier ends the exchange.
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + EXIT_GRACE;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn self_closed(label: &str) -> LabError {
    LabError::Player(format!("player {label}: stdin already closed"))
}

impl Drop for Player {
    fn drop(&mut self) {
        self.stop();
    }
}
