//! Logs, read from the journal through `journalctl`.

use std::process::Command;

/// The last `n` lines a set of units wrote, oldest first, as `journalctl -o cat` shows them.
pub fn last_lines(units: &[String], n: usize, user: bool) -> String {
    let mut cmd = Command::new("journalctl");
    if user {
        cmd.arg("--user");
    }
    cmd.args(["--no-pager", "-q", "-o", "short-iso", "-n", &n.to_string()]);
    for u in units {
        cmd.arg("-u").arg(u);
    }
    match cmd.output() {
        Ok(o) => String::from_utf8_lossy(&o.stdout).trim_end().to_string(),
        Err(e) => format!("(cannot run journalctl: {e})"),
    }
}
