//! Logs, read from the journal through `journalctl`.
//!
//! A user manager's units are selected by their fields (`_SYSTEMD_USER_UNIT=` and the user's
//! `_UID=`, or `--user-unit`), never with `journalctl --user`: that reads only the
//! `user-UID.journal` files, and journald keeps a user's lines in the system journal when the
//! journal is not persistent and for root and system users always, so `--user` showed nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The last `n` lines a set of units wrote, oldest first, as `journalctl -o short-iso` shows
/// them: the units' own lines and systemd's messages about them.
pub fn last_lines(units: &[String], n: usize, user: bool) -> String {
    let mut cmd = Command::new("journalctl");
    cmd.args(["--no-pager", "-q", "-o", "short-iso", "-n", &n.to_string()]);
    for u in units {
        cmd.arg(if user { "--user-unit" } else { "-u" }).arg(u);
    }
    match cmd.output() {
        Ok(o) => String::from_utf8_lossy(&o.stdout).trim_end().to_string(),
        Err(e) => format!("(cannot run journalctl: {e})"),
    }
}

/// What to show under a unit that failed: the app's own last error lines first (what it wrote
/// to standard error, at priority "err", its stack frames left out), then the unit's last lines
/// of any kind, each line once. `since_us` (when the failed job began, microseconds since the
/// epoch): journald reads an app's output from a stream and may not have its last words yet
/// when the process has just died, so wait (a second at most) for a line the app wrote since.
pub fn failure_lines(unit: &str, user: bool, since_us: Option<u64>) -> String {
    let units = [unit.to_string()];
    // systemd-cat tags the app's lines with the unit's prefix: `prod-api` of `prod-api@2.service`.
    let ident = unit.split(['@', '.']).next().unwrap_or(unit);
    if let Some(since) = since_us {
        for _ in 0..10 {
            if wrote_since(unit, ident, user, since) {
                break;
            }
            let _ = Command::new("journalctl").arg("--sync").output();
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
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

/// Has the app written a line since `since_us`?
fn wrote_since(unit: &str, ident: &str, user: bool, since_us: u64) -> bool {
    let since = format!("@{}.{:06}", since_us / 1_000_000, since_us % 1_000_000);
    Command::new("journalctl")
        .args([
            "--no-pager",
            "-q",
            "-o",
            "cat",
            "-n",
            "1",
            "--since",
            &since,
        ])
        .args([if user { "--user-unit" } else { "-u" }, unit, "-t", ident])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty())
}

/// The app's last error lines, without the `at …` frames of a stack.
fn error_lines(unit: &str, ident: &str, user: bool) -> Vec<String> {
    let mut cmd = Command::new("journalctl");
    cmd.args([
        "--no-pager",
        "-q",
        "-o",
        "short-iso",
        "-p",
        "err",
        "-n",
        "40",
        if user { "--user-unit" } else { "-u" },
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

/// journalctl's matches for the lines the processes of `units` wrote (not systemd's messages
/// about them): `_SYSTEMD_UNIT=` for the system manager's units; for the calling user's
/// manager, `_SYSTEMD_USER_UNIT=` and the user's `_UID=` (another user's units may have the
/// same names). Matches of one field are ORed, of different fields ANDed. Empty for no units.
pub fn app_matches(units: &[String], user: bool) -> Vec<String> {
    if units.is_empty() {
        return Vec::new();
    }
    let field = if user {
        "_SYSTEMD_USER_UNIT"
    } else {
        "_SYSTEMD_UNIT"
    };
    let mut out: Vec<String> = units.iter().map(|u| format!("{field}={u}")).collect();
    if user {
        out.push(format!("_UID={}", nix::unistd::getuid()));
    }
    out
}

/// The `MESSAGE_ID` of journald's own note "Suppressed N messages from UNIT", written when a
/// unit went past its rate limit (`LogRateLimitBurst=` lines per `LogRateLimitIntervalSec=`):
/// the only trace of the lines it dropped. journald writes it with the next line the unit
/// logs after the interval, and names the unit in `OBJECT_SYSTEMD_UNIT=`
/// (`OBJECT_SYSTEMD_USER_UNIT=` for a user manager's) and the count in `N_DROPPED=`.
pub const SUPPRESSED_ID: &str = "a596d6fe7bfa4994828e72309e95d61e";

/// journalctl's matches for journald's notes that it dropped lines of `units` (see
/// [`SUPPRESSED_ID`]). Empty for no units.
pub fn suppressed_matches(units: &[String], user: bool) -> Vec<String> {
    if units.is_empty() {
        return Vec::new();
    }
    let field = if user {
        "OBJECT_SYSTEMD_USER_UNIT"
    } else {
        "OBJECT_SYSTEMD_UNIT"
    };
    let mut out = vec![
        format!("MESSAGE_ID={SUPPRESSED_ID}"),
        "_SYSTEMD_UNIT=systemd-journald.service".to_string(),
    ];
    out.extend(units.iter().map(|u| format!("{field}={u}")));
    if user {
        out.push(format!("OBJECT_UID={}", nix::unistd::getuid()));
    }
    out
}

/// The matches for what `unitgen logs` shows: the lines the processes of `units` wrote (only
/// those at priority "err" or worse with `err_only`), or journald's notes that it dropped some
/// of them: two terms joined by journalctl's `+` (OR).
pub fn log_matches(units: &[String], user: bool, err_only: bool) -> Vec<String> {
    let mut out = app_matches(units, user);
    if out.is_empty() {
        return out;
    }
    if err_only {
        // journalctl's `-p err` would apply to the notes too, which are "info".
        out.extend((0..=3).map(|p| format!("PRIORITY={p}")));
    }
    out.push("+".to_string());
    out.extend(suppressed_matches(units, user));
    out
}

/// journald's note that it dropped lines: the unit it names and how many it dropped.
pub fn suppression(entry: &serde_json::Value, user: bool) -> Option<(String, u64)> {
    if field(entry, "MESSAGE_ID") != SUPPRESSED_ID {
        return None;
    }
    let unit = field(
        entry,
        if user {
            "OBJECT_SYSTEMD_USER_UNIT"
        } else {
            "OBJECT_SYSTEMD_UNIT"
        },
    );
    let n = field(entry, "N_DROPPED").parse().unwrap_or_else(|_| {
        // "Suppressed 2500 messages from prod-api@1.service"
        field(entry, "MESSAGE")
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    });
    Some((unit, n))
}

/// What journald dropped of some units' lines, from its notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suppressed {
    /// Lines dropped, in all.
    pub lines: u64,
    /// Notes (one per rate-limit interval that dropped lines).
    pub notes: u64,
    /// When the last note was written, in microseconds since the epoch.
    pub last_us: Option<u64>,
}

/// What journald dropped of `units`' lines, from its last (at most 10,000) notes.
pub fn suppressed(units: &[String], user: bool) -> Suppressed {
    let matches = suppressed_matches(units, user);
    let mut out = Suppressed::default();
    if matches.is_empty() {
        return out;
    }
    let Ok(o) = Command::new("journalctl")
        .args(["--no-pager", "-q", "-o", "json", "-n", "10000"])
        .args(&matches)
        .output()
    else {
        return out;
    };
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some((_, n)) = suppression(&v, user) {
            out.lines += n;
            out.notes += 1;
            out.last_us = field(&v, "__REALTIME_TIMESTAMP")
                .parse()
                .ok()
                .or(out.last_us);
        }
    }
    out
}

/// The unit a journal entry (journalctl's `-o json`) came from: for a user manager's units
/// `_SYSTEMD_USER_UNIT` (their `_SYSTEMD_UNIT` is the manager itself, `user@UID.service`).
pub fn entry_unit(entry: &serde_json::Value, user: bool) -> String {
    let (first, second) = if user {
        ("_SYSTEMD_USER_UNIT", "_SYSTEMD_UNIT")
    } else {
        ("_SYSTEMD_UNIT", "_SYSTEMD_USER_UNIT")
    };
    let unit = field(entry, first);
    if unit.is_empty() {
        field(entry, second)
    } else {
        unit
    }
}

/// A field of a journal entry as text (journalctl gives binary values as arrays of bytes).
pub fn field(entry: &serde_json::Value, key: &str) -> String {
    match &entry[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(bytes) => String::from_utf8_lossy(
            &bytes
                .iter()
                .filter_map(|b| b.as_u64().map(|b| b as u8))
                .collect::<Vec<_>>(),
        )
        .into_owned(),
        _ => String::new(),
    }
}

/// The journal's directories: persistent first, then volatile.
const JOURNAL_DIRS: [&str; 2] = ["/var/log/journal", "/run/log/journal"];

/// Why the caller cannot read the journal files that hold the apps' lines, if so: then
/// journalctl skips those files without a word and prints nothing. `None` when it can
/// (root, a member of a group journald lets read, such as `systemd-journal` or `adm`, or a
/// user whose own lines journald keeps in a `user-UID.journal` file).
pub fn unreadable(user: bool) -> Option<String> {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return None;
    }
    unreadable_in(&JOURNAL_DIRS.map(PathBuf::from), uid.as_raw(), user)
}

fn unreadable_in(dirs: &[PathBuf], uid: u32, user: bool) -> Option<String> {
    // Files journald writes the system's lines to, as (path, readable by the caller).
    let mut system: Vec<(PathBuf, bool)> = Vec::new();
    let mut persistent = false;
    for (i, base) in dirs.iter().enumerate() {
        let Ok(machines) = std::fs::read_dir(base) else {
            continue;
        };
        for m in machines.flatten() {
            let dir = m.path();
            if !dir.is_dir() {
                continue;
            }
            persistent |= i == 0;
            let Ok(files) = std::fs::read_dir(&dir) else {
                // Not even listed: as good as unreadable.
                system.push((dir.join("system.journal"), false));
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if name.starts_with("system") && name.contains(".journal") {
                    let path = f.path();
                    let ok = readable(&path);
                    system.push((path, ok));
                }
            }
        }
    }
    if system.is_empty() || system.iter().any(|(_, ok)| *ok) {
        return None;
    }
    // journald keeps a user's lines in user-UID.journal (readable by that user) when the
    // journal is persistent and the user is not a system user; else in the system journal.
    if user && persistent && (1000..61184).contains(&uid) {
        return None;
    }
    let name = nix::unistd::User::from_uid(uid.into())
        .ok()
        .flatten()
        .map(|u| u.name);
    let who = name
        .as_ref()
        .map_or_else(|| format!("uid {uid}"), |n| format!("{n} (uid {uid})"));
    let login = name.unwrap_or_else(|| "$USER".to_string());
    let file = &system[0].0;
    let group = format!("`sudo usermod -aG systemd-journal {login}`, then log in again");
    let (why, help) = match (user, persistent) {
        (false, _) => (
            "where the apps' lines are".to_string(),
            format!("run it as root (`sudo unitgen logs ...`), or join group systemd-journal: {group}"),
        ),
        (true, true) => (
            "where journald keeps the lines of a system user's apps (uid below 1000)".to_string(),
            format!("join group systemd-journal: {group}"),
        ),
        (true, false) => (
            "where journald keeps every user's lines here: the journal is not persistent (no /var/log/journal)".to_string(),
            format!(
                "join group systemd-journal: {group}; or make the journal persistent, and journald \
                 keeps your lines from then on in a file of your own: \
                 `sudo mkdir -p /var/log/journal && sudo systemctl restart systemd-journald`"
            ),
        ),
    };
    Some(format!(
        "error: {who} cannot read the system journal, {why}: `unitgen logs` would print nothing\n  \
         --> {}: readable by root and the groups journald lets in (systemd-journal, adm)\n  \
         = help: {help}",
        file.display()
    ))
}

/// Can the caller read `path` (file mode, groups and ACLs, as the kernel decides)?
fn readable(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::R_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_units_are_matched_by_their_own_field_and_the_uid() {
        let units = ["p-api@1.service".to_string(), "p-api@2.service".to_string()];
        assert_eq!(
            app_matches(&units, false),
            [
                "_SYSTEMD_UNIT=p-api@1.service",
                "_SYSTEMD_UNIT=p-api@2.service"
            ]
        );
        let user = app_matches(&units, true);
        assert_eq!(user[0], "_SYSTEMD_USER_UNIT=p-api@1.service");
        assert_eq!(user[2], format!("_UID={}", nix::unistd::getuid()));
        assert!(
            app_matches(&[], true).is_empty(),
            "no units: no match at all"
        );
    }

    #[test]
    fn journalds_notes_of_dropped_lines_are_read_and_asked_for() {
        let note = serde_json::json!({
            "MESSAGE_ID": SUPPRESSED_ID,
            "MESSAGE": "Suppressed 2500 messages from p-api@1.service",
            "N_DROPPED": "2500",
            "OBJECT_SYSTEMD_UNIT": "p-api@1.service",
        });
        assert_eq!(
            suppression(&note, false),
            Some(("p-api@1.service".to_string(), 2500))
        );
        assert_eq!(
            suppression(&serde_json::json!({"MESSAGE": "hi"}), false),
            None
        );
        let units = ["p-api@1.service".to_string()];
        assert_eq!(
            log_matches(&units, false, true),
            [
                "_SYSTEMD_UNIT=p-api@1.service",
                "PRIORITY=0",
                "PRIORITY=1",
                "PRIORITY=2",
                "PRIORITY=3",
                "+",
                &format!("MESSAGE_ID={SUPPRESSED_ID}"),
                "_SYSTEMD_UNIT=systemd-journald.service",
                "OBJECT_SYSTEMD_UNIT=p-api@1.service",
            ]
        );
        assert!(log_matches(&[], false, false).is_empty());
    }

    #[test]
    fn a_user_units_line_is_labelled_with_the_user_unit() {
        let entry = serde_json::json!({
            "_SYSTEMD_UNIT": "user@1000.service",
            "_SYSTEMD_USER_UNIT": "p-api@2.service",
            "MESSAGE": [104, 105],
        });
        assert_eq!(entry_unit(&entry, true), "p-api@2.service");
        assert_eq!(field(&entry, "MESSAGE"), "hi");
        let system = serde_json::json!({ "_SYSTEMD_UNIT": "p-api@1.service" });
        assert_eq!(entry_unit(&system, false), "p-api@1.service");
        assert_eq!(entry_unit(&system, true), "p-api@1.service");
    }

    #[test]
    fn journal_access_is_told_from_the_files() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let persistent = tmp.path().join("var");
        let volatile = tmp.path().join("run");
        let machine = persistent.join("0123");
        std::fs::create_dir_all(&machine).unwrap();
        std::fs::create_dir_all(&volatile).unwrap();
        let dirs = [persistent.clone(), volatile.clone()];
        // No journal files at all: nothing to say.
        assert_eq!(unreadable_in(&dirs, 1000, false), None);
        let file = machine.join("system.journal");
        std::fs::write(&file, "").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(unreadable_in(&dirs, 1000, false), None);
        if nix::unistd::geteuid().is_root() {
            return; // root reads every file: the unreadable case cannot be made here
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
        let msg = unreadable_in(&dirs, 1000, false).expect("unreadable");
        assert!(msg.contains("systemd-journal"), "{msg}");
        assert!(msg.contains(&file.display().to_string()), "{msg}");
        // A regular user's own lines are in user-UID.journal when the journal is persistent.
        assert_eq!(unreadable_in(&dirs, 1000, true), None);
        assert!(unreadable_in(&dirs, 999, true).is_some());
    }
}
