//! Locks: one per namespace (two `apply`s of one namespace queue, two of different namespaces
//! run side by side), and one for the whole machine, held while an `apply` checks port claims
//! and writes its files, so that of two namespaces claiming one port at the same moment exactly
//! one wins.
//!
//! A lock is a `flock` on a file in a directory only its owner can enter (`/run/unitgen`,
//! mode 0700, for the system manager; `$XDG_RUNTIME_DIR/unitgen` for a user's), so no other
//! user can hold it to block or steer root. Every wait is bounded and names who holds the lock.

use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

/// A held lock; dropping it releases it.
pub struct Lock {
    _lock: Flock<File>,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another unitgen held it for the whole wait.
    #[error("another unitgen ({holder}) has held {} for {} s; gave up waiting", path.display(), waited.as_secs())]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as well as can be told.
        holder: String,
        /// How long unitgen waited.
        waited: Duration,
    },
    /// The lock directory or file could not be made or opened.
    #[error("cannot use the lock {}: {source}", path.display())]
    Io {
        /// The lock file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The directory of the locks.
pub fn lock_dir(user: bool) -> PathBuf {
    if user {
        if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
            return PathBuf::from(d).join("unitgen");
        }
        return std::env::temp_dir().join(format!("unitgen-{}", nix::unistd::getuid()));
    }
    PathBuf::from("/run/unitgen")
}

/// Make the directory (0700, ours) or check that it is: a directory someone else owns or can
/// write to would let them hold or swap our locks.
fn private_dir(dir: &Path) -> Result<(), LockError> {
    let io = |source| LockError::Io {
        path: dir.to_path_buf(),
        source,
    };
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(e)),
    }
    let meta = fs::symlink_metadata(dir).map_err(io)?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.is_dir() || meta.uid() != me {
        return Err(io(std::io::Error::other(
            "it is not a directory owned by this user; remove it",
        )));
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

/// Take the lock named `name` (`NS.lock`, `claims.lock`), waiting at most `limit` while
/// another unitgen holds it, and saying so once.
fn take(name: &str, user: bool, limit: Duration) -> Result<Lock, LockError> {
    let dir = lock_dir(user);
    private_dir(&dir)?;
    let path = dir.join(name);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let mut file = File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&path)
        .map_err(io)?;
    let start = Instant::now();
    let mut said = false;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut l) => {
                // Say who holds it, for whoever waits next.
                let _ = l.set_len(0);
                let _ = l.rewind();
                let _ = write!(l, "{}", std::process::id());
                return Ok(Lock { _lock: l });
            }
            Err((f, nix::errno::Errno::EWOULDBLOCK)) => file = f,
            Err((_, e)) => return Err(io(e.into())),
        }
        let holder = holder(&mut file);
        if start.elapsed() >= limit {
            return Err(LockError::Busy {
                path,
                holder,
                waited: start.elapsed(),
            });
        }
        if !said {
            eprintln!(
                "waiting for another unitgen ({holder}) that holds {}",
                path.display()
            );
            said = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The process that wrote its PID into the lock file, with its command line.
fn holder(file: &mut File) -> String {
    let mut s = String::new();
    let _ = file.rewind();
    let _ = file.take(32).read_to_string(&mut s);
    let Ok(pid) = s.trim().parse::<u32>() else {
        return "unknown process".into();
    };
    let cmd = fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .split('\0')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    if cmd.is_empty() {
        format!("PID {pid}")
    } else {
        format!("PID {pid}: {cmd}")
    }
}

/// Take the lock of namespace `ns`.
pub fn namespace(ns: &str, user: bool, limit: Duration) -> Result<Lock, LockError> {
    take(&format!("{ns}.lock"), user, limit)
}

/// Take the machine-wide lock under which port claims are checked and files written.
pub fn claims(user: bool, limit: Duration) -> Result<Lock, LockError> {
    take("claims.lock", user, limit)
}
