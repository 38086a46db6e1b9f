//! Where the Node preload lives on this machine, and putting it there.
//!
//! `apply` writes this build's copy before any unit that loads it:
//! /var/lib/unitgen/node/preload.cjs for the system manager (unitgen's state, not a file of the
//! package: removing the package leaves the apps able to start), and
//! ~/.local/share/unitgen/node/preload.cjs for a user's.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::core::compile::{PRELOAD, SYSTEM_PRELOAD};

/// The preload path the units of this build name.
pub fn path(user: bool) -> PathBuf {
    if user {
        let data = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from(".local/share"));
        data.join("unitgen/node/preload.cjs")
    } else {
        PathBuf::from(SYSTEM_PRELOAD)
    }
}

/// Put this build's preload at `path` unless it is there already (atomically, mode 0644, so
/// that every app user can read it). Returns whether it wrote.
pub fn install(path: &Path) -> io::Result<bool> {
    if fs::read_to_string(path).is_ok_and(|t| t == PRELOAD) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(dir)?;
    // Every app user reads it, whatever the umask was: .../unitgen and .../unitgen/node 0755.
    use std::os::unix::fs::PermissionsExt;
    for d in [Some(dir), dir.parent()].into_iter().flatten() {
        let mode = fs::metadata(d)?.permissions().mode();
        if (d.ends_with("unitgen") || d.ends_with("node")) && mode & 0o005 != 0o005 {
            fs::set_permissions(d, fs::Permissions::from_mode(mode | 0o755))?;
        }
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".preload.unitgen-")
        .tempfile_in(dir)?;
    tmp.write_all(PRELOAD.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o644))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(true)
}
