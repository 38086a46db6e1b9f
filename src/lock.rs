//! One lock per namespace: two `apply`s of one namespace queue, two of different namespaces
//! run side by side. A `flock` on a file under the runtime directory, released on exit.

use std::fs::{self, File};
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};

/// A held lock; dropping it releases it.
pub struct NamespaceLock {
    _lock: Flock<File>,
}

fn lock_dir(user: bool) -> PathBuf {
    if user {
        if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
            return PathBuf::from(d).join("unitgen");
        }
        return std::env::temp_dir().join(format!("unitgen-{}", nix::unistd::getuid()));
    }
    PathBuf::from("/run/unitgen")
}

/// Take the lock of namespace `ns`, waiting (and saying so) while another unitgen holds it.
pub fn namespace(ns: &str, user: bool) -> std::io::Result<NamespaceLock> {
    let dir = lock_dir(user);
    fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{ns}.lock"));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(l) => return Ok(NamespaceLock { _lock: l }),
        Err((f, nix::errno::Errno::EWOULDBLOCK)) => f,
        Err((_, e)) => return Err(e.into()),
    };
    eprintln!(
        "waiting for another unitgen working on namespace {ns} ({})",
        path.display()
    );
    let l = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| std::io::Error::from(e))?;
    Ok(NamespaceLock { _lock: l })
}
