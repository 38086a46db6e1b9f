//! `systemd-analyze verify` on unit files in a directory: what it says, empty when all is
//! well. Shared by test binaries (`#[path]` module).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Verify the units `names` in `dir`; with `user`, as units of a user manager (with a
/// runtime directory of their own). Returns what it said, with its exit status when it failed.
pub fn verify<S: AsRef<std::ffi::OsStr>>(dir: &Path, names: &[S], user: bool) -> String {
    let runtime = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("systemd-analyze");
    if user {
        cmd.arg("--user").env("XDG_RUNTIME_DIR", runtime.path());
    }
    let out = cmd
        .arg("verify")
        .args(names)
        .current_dir(dir)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .expect("systemd-analyze is needed by the tests (Debian package systemd)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        said.trim().to_string()
    } else {
        format!("exit status {}\n{said}", out.status)
    }
}
