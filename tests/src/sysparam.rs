//! Module parameter guards and the process-wide lab lock.
//!
//! Helper module parameters (`/sys/module/<module>/parameters/<param>`) are global to the
//! machine, not per network namespace, so a scenario that flips e.g. `nf_conntrack_ftp loose`
//! affects every namespace. Two rules keep tests independent:
//!
//! * every lab scenario holds [`lab_lock`] for its whole duration (the `require_lab!` macro
//!   returns that guard), so lab tests never overlap: not in one process (the default
//!   multi-threaded test runner) and not across processes (two `cargo test` runs, or test
//!   binaries run side by side), because the guard also holds an exclusive `flock` on
//!   [`LAB_LOCK_FILE`];
//! * a parameter is changed only through a [`ParamGuard`], which writes the old value back on
//!   drop — including during unwinding after a failed assertion.
//!
//! Only parameters with a write bit (mode 0600) can be changed at runtime: `nf_conntrack_ftp
//! loose`, `nf_conntrack_sip sip_direct_media` / `sip_direct_signalling` / `sip_external_media`
//! / `sip_timeout`, `nf_conntrack_h323 gkrouted_only` / `callforward_filter` /
//! `default_rrq_ttl`, `nf_conntrack_amanda master_timeout`. Read-only ones (`ports`, irc
//! `max_dcc_channels`, …) make [`ParamGuard::set`] fail with a clear error.
//!
//! Boolean parameters (`loose`, `callforward_filter`) read back as `Y`/`N`; writing `1`/`0`
//! (or `Y`/`N`) works. Integer parameters read back as decimal.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The file whose exclusive lock serialises lab scenarios across processes.
pub const LAB_LOCK_FILE: &str = "/run/lock/netfilter-helpers-lab.lock";

static LAB_LOCK: Mutex<()> = Mutex::new(());

/// The lab lock: this process's mutex plus the machine-wide `flock` on [`LAB_LOCK_FILE`]; both
/// are released on drop.
pub struct LabLock {
    _file: Option<fs::File>,
    _guard: MutexGuard<'static, ()>,
}

/// Takes the lab lock (recovering from poisoning: a previous test that panicked while holding
/// it has already restored its parameters through its guards' `Drop`). Blocks while another
/// process holds the machine-wide lock. If the lock file cannot be opened (no `/run/lock`),
/// only the in-process mutex is taken.
pub fn lab_lock() -> LabLock {
    let guard = LAB_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LAB_LOCK_FILE)
        .ok()
        .filter(|f| f.lock().is_ok());
    LabLock {
        _file: file,
        _guard: guard,
    }
}

/// Path of a module parameter file.
pub fn param_path(module: &str, param: &str) -> PathBuf {
    PathBuf::from(format!("/sys/module/{module}/parameters/{param}"))
}

/// Reads a module parameter (trimmed), e.g. `read_param("nf_conntrack_ftp", "loose")` → `"N"`.
pub fn read_param(module: &str, param: &str) -> io::Result<String> {
    let path = param_path(module, param);
    fs::read_to_string(&path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))
}

fn write_param(path: &PathBuf, value: &str) -> io::Result<()> {
    fs::write(path, value).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot write {value:?} to {}: {e}", path.display()),
        )
    })
}

/// Sets a module parameter and restores the previous value when dropped.
#[derive(Debug)]
#[must_use = "the parameter is restored as soon as the guard is dropped"]
pub struct ParamGuard {
    path: PathBuf,
    previous: String,
    value: String,
}

impl ParamGuard {
    /// Writes `value` to `/sys/module/<module>/parameters/<param>` after saving the current
    /// value. Fails if the file is missing, has no write permission bit, or the kernel rejects
    /// the value.
    pub fn set(module: &str, param: &str, value: &str) -> io::Result<ParamGuard> {
        let path = param_path(module, param);
        let meta = fs::metadata(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        if meta.permissions().mode() & 0o200 == 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is read-only (mode {:o}): it can only be set at module load time",
                    path.display(),
                    meta.permissions().mode() & 0o777
                ),
            ));
        }
        let previous = read_param(module, param)?;
        write_param(&path, value)?;
        Ok(ParamGuard {
            path,
            previous,
            value: value.to_owned(),
        })
    }

    /// The value found before the guard was created (restored on drop).
    pub fn previous(&self) -> &str {
        &self.previous
    }

    /// The value the guard wrote.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl Drop for ParamGuard {
    fn drop(&mut self) {
        if let Err(err) = write_param(&self.path, &self.previous) {
            // Cannot propagate from Drop; make the leak loud.
            eprintln!("netfilter-helpers-tests: PARAMETER NOT RESTORED: {err}");
        }
    }
}
