//! Where the Node preload lives on this machine, and putting it there.
//!
//! The Debian package installs it as /usr/lib/unitgen/node/preload.cjs. A build from source
//! (or a package of another version) installs its own copy when `apply` needs it:
//! /usr/local/lib/unitgen/node/preload.cjs for the system manager, and
//! ~/.local/share/unitgen/node/preload.cjs for a user's. Units name whichever is this build's.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::compile::{PACKAGED_PRELOAD, PRELOAD};

/// The preload path the units of this build name.
pub fn path(user: bool) -> PathBuf {
    if fs::read_to_string(PACKAGED_PRELOAD).is_ok_and(|t| t == PRELOAD) {
        return PathBuf::from(PACKAGED_PRELOAD);
    }
    if user {
        let data = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from(".local/share"));
        data.join("unitgen/node/preload.cjs")
    } else {
        PathBuf::from("/usr/local/lib/unitgen/node/preload.cjs")
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
    let mut tmp = tempfile::Builder::new()
        .prefix(".preload.unitgen-")
        .tempfile_in(dir)?;
    tmp.write_all(PRELOAD.as_bytes())?;
    tmp.as_file().sync_all()?;
    use std::os::unix::fs::PermissionsExt;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o644))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(true)
}
