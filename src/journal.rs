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

/// What to show under a unit that failed: the app's own last error lines first (what it wrote
/// to standard error, at priority "err", its stack frames left out), then the unit's last lines
/// of any kind, each line once.
pub fn failure_lines(unit: &str, user: bool) -> String {
    let units = [unit.to_string()];
    // systemd-cat tags the app's lines with the unit's prefix: `prod-api` of `prod-api@2.service`.
    let ident = unit.split(['@', '.']).next().unwrap_or(unit);
    let errors = error_lines(unit, ident, user);
    let last = last_lines(&units, 12, user);
    let mut out: Vec<&str> = errors.iter().map(String::as_str).collect();
    for l in last.lines() {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out.join("\n")
}

/// The app's last error lines, without the `at …` frames of a stack.
fn error_lines(unit: &str, ident: &str, user: bool) -> Vec<String> {
    let mut cmd = Command::new("journalctl");
    if user {
        cmd.arg("--user");
    }
    cmd.args([
        "--no-pager",
        "-q",
        "-o",
        "short-iso",
        "-p",
        "err",
        "-n",
        "40",
        "-u",
        unit,
        "-t",
        ident,
    ]);
    let text = match cmd.output() {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(_) => return Vec::new(),
    };
    let lines: Vec<String> = text
        .lines()
        .filter(|l| {
            let msg = l.split_once("]: ").map_or(*l, |(_, m)| m);
            !msg.trim_start().starts_with("at ")
        })
        .map(str::to_string)
        .collect();
    lines[lines.len().saturating_sub(8)..].to_vec()
}
