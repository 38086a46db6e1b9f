//! Logs, read from the journal through `journalctl`.
//!
//! A user manager's units are selected by their fields (`_SYSTEMD_USER_UNIT=` and the user's
//! `_UID=`, or `--user-unit`), never with `journalctl --user`: that reads only the
//! `user-UID.journal` files, and journald keeps a user's lines in the system journal when the
//! journal is not persistent and for root and system users always, so `--user` showed nothing.

use std::collections::{BTreeMap, HashMap};
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

/// The last error lines the app of `unit` wrote (standard error), stack frames left out.
pub fn error_lines_of(unit: &str, user: bool) -> Vec<String> {
    let ident = unit.split(['@', '.']).next().unwrap_or(unit);
    error_lines(unit, ident, user)
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

/// systemd's message ids for what it logs about units (systemd's `sd-messages.h`).
mod message_id {
    /// "Starting …": a start job began (the first start, and every restart, automatic or not).
    pub const STARTING: &str = "7d4958e842da4a758f6c1cdc7b36dcc5";
    /// "Reloaded …": a reload job ended (`JOB_RESULT=done` when it worked).
    pub const RELOADED: &str = "7b05ebc668384222baa8881179cfda54";
    /// "Main process exited, code=…, status=…" (`EXIT_CODE`, `EXIT_STATUS`).
    pub const PROCESS_EXIT: &str = "98e322203f7a4ed290d09fe03c09fe15";
    /// "Failed with result '…'" (`UNIT_RESULT`).
    pub const FAILED_RESULT: &str = "d9b373ed55a64feb8242e02dbe79a49c";
}

/// How long one journalctl run may take, and how much of its output is read.
const RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);
const OUTPUT_LIMIT: usize = 64 << 20;

/// Up to how many units are named to journalctl as matches (more are filtered here).
const UNIT_MATCHES: usize = 200;

/// Run `cmd` and return its standard output, within [`RUN_LIMIT`] and [`OUTPUT_LIMIT`].
fn bounded_output(mut cmd: Command) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run journalctl: {e}"))?;
    let out = child.stdout.take();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(o) = out {
            let _ = o.take(OUTPUT_LIMIT as u64 + 1).read_to_end(&mut buf);
        }
        let _ = tx.send(buf);
    });
    let got = rx.recv_timeout(RUN_LIMIT);
    let _ = child.kill();
    let _ = child.wait();
    match got {
        Ok(buf) if buf.len() > OUTPUT_LIMIT => Err(format!(
            "journalctl printed more than {} MiB",
            OUTPUT_LIMIT >> 20
        )),
        Ok(buf) => Ok(buf),
        Err(_) => Err(format!(
            "journalctl did not finish within {} s",
            RUN_LIMIT.as_secs()
        )),
    }
}

/// The journal's records of the manager (not of any app: `_PID=1`, or the user manager's own
/// scope) about `units` in the current boot, with the message ids `ids`, as journalctl's export
/// format limited to `fields` (and the unit's field, `UNIT` or `USER_UNIT`), oldest first.
fn manager_records(
    units: &[String],
    user: bool,
    ids: &[&str],
    fields: &[&str],
) -> Result<Vec<BTreeMap<String, String>>, String> {
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let unit_field = if user { "USER_UNIT" } else { "UNIT" };
    let mut cmd = Command::new("journalctl");
    cmd.args(["--no-pager", "-q", "-b", "-o", "export"]);
    let mut wanted = vec![unit_field];
    wanted.extend(fields);
    cmd.arg(format!("--output-fields={}", wanted.join(",")));
    if user {
        let uid = nix::unistd::getuid();
        cmd.arg(format!("_SYSTEMD_UNIT=user@{uid}.service"))
            .arg("_SYSTEMD_USER_UNIT=init.scope")
            .arg(format!("_UID={uid}"));
    } else {
        cmd.arg("_PID=1");
    }
    for id in ids {
        cmd.arg(format!("MESSAGE_ID={id}"));
    }
    // journalctl's matching grows faster than linearly with the number of matches of a field
    // (1,000 took over half a second): past a few hundred units, read all the manager's records
    // of these kinds (one line of output each) and keep the units' own here.
    if units.len() <= UNIT_MATCHES {
        for u in units {
            cmd.arg(format!("{unit_field}={u}"));
        }
    }
    let wanted_units: std::collections::HashSet<&str> = units.iter().map(String::as_str).collect();
    let out = bounded_output(cmd)?;
    let mut records = Vec::new();
    let mut entry: BTreeMap<String, String> = BTreeMap::new();
    for line in out.split(|&b| b == b'\n') {
        if line.is_empty() {
            if entry
                .get("UNIT")
                .is_some_and(|u| wanted_units.contains(u.as_str()))
            {
                records.push(std::mem::take(&mut entry));
            }
            entry.clear();
            continue;
        }
        // Binary values (a name line without '=') do not occur in the fields asked for.
        let line = String::from_utf8_lossy(line);
        if let Some((k, v)) = line.split_once('=') {
            let k = if k == unit_field { "UNIT" } else { k };
            if k == "UNIT" || fields.contains(&k) {
                entry.insert(k.to_string(), v.to_string());
            }
        }
    }
    if entry
        .get("UNIT")
        .is_some_and(|u| wanted_units.contains(u.as_str()))
    {
        records.push(entry);
    }
    Ok(records)
}

/// What the journal says about the starts of a unit in the current boot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Starts {
    /// Start jobs begun ("Starting …"): the first start and every restart since, by systemd
    /// (`Restart=`), by hand (`unitgen restart`, `systemctl restart`), by `reload`'s roll or
    /// by `apply`.
    pub starts: u64,
    /// Reloads in place that worked ("Reloaded …": `ExecReload=`).
    pub reloads: u64,
}

impl Starts {
    /// Restarts: every start after the first, and every reload in place.
    pub fn restarts(&self) -> u64 {
        self.starts.saturating_sub(1) + self.reloads
    }
}

/// The starts and reloads of each of `units` in the current boot, from the manager's own
/// records in the journal (as far back as journald keeps them). One journalctl run.
pub fn starts(units: &[String], user: bool) -> Result<HashMap<String, Starts>, String> {
    let records = manager_records(
        units,
        user,
        &[message_id::STARTING, message_id::RELOADED],
        &["MESSAGE_ID", "JOB_RESULT"],
    )?;
    Ok(count_starts(&records))
}

fn count_starts(records: &[BTreeMap<String, String>]) -> HashMap<String, Starts> {
    let mut out: HashMap<String, Starts> = HashMap::new();
    for r in records {
        let (Some(unit), Some(id)) = (r.get("UNIT"), r.get("MESSAGE_ID")) else {
            continue;
        };
        let s = out.entry(unit.clone()).or_default();
        match id.as_str() {
            message_id::STARTING => s.starts += 1,
            message_id::RELOADED if r.get("JOB_RESULT").map(String::as_str) == Some("done") => {
                s.reloads += 1
            }
            _ => {}
        }
    }
    out
}

/// How a main process ended, as systemd logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitRecord {
    /// When, in microseconds since the epoch.
    pub at_us: u64,
    /// `exited`, `killed` or `dumped`.
    pub code: String,
    /// The exit status, or the signal's name.
    pub status: String,
    /// The unit's result that followed ("oom-kill", "signal", "exit-code", "timeout"…), if
    /// it failed.
    pub result: Option<String>,
}

/// The last exit of the main process of each of `units` in the current boot, from the
/// manager's records in the journal.
pub fn last_exits(units: &[String], user: bool) -> Result<HashMap<String, ExitRecord>, String> {
    let records = manager_records(
        units,
        user,
        &[message_id::PROCESS_EXIT, message_id::FAILED_RESULT],
        &[
            "MESSAGE_ID",
            "EXIT_CODE",
            "EXIT_STATUS",
            "UNIT_RESULT",
            "__REALTIME_TIMESTAMP",
        ],
    )?;
    Ok(fold_exits(&records))
}

fn fold_exits(records: &[BTreeMap<String, String>]) -> HashMap<String, ExitRecord> {
    let mut out: HashMap<String, ExitRecord> = HashMap::new();
    for r in records {
        let Some(unit) = r.get("UNIT") else { continue };
        match r.get("MESSAGE_ID").map(String::as_str) {
            Some(message_id::PROCESS_EXIT) => {
                out.insert(
                    unit.clone(),
                    ExitRecord {
                        at_us: r
                            .get("__REALTIME_TIMESTAMP")
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(0),
                        code: r.get("EXIT_CODE").cloned().unwrap_or_default(),
                        status: r.get("EXIT_STATUS").cloned().unwrap_or_default(),
                        result: None,
                    },
                );
            }
            // The result follows the exit it is about (an OOM kill logs no exit of its own).
            Some(message_id::FAILED_RESULT) => {
                let result = r.get("UNIT_RESULT").cloned();
                let at_us = r
                    .get("__REALTIME_TIMESTAMP")
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                out.entry(unit.clone())
                    .and_modify(|e| e.result = result.clone())
                    .or_insert(ExitRecord {
                        at_us,
                        code: String::new(),
                        status: String::new(),
                        result,
                    });
            }
            _ => {}
        }
    }
    out
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
pub fn unreadable(user: bool) -> Option<crate::error::Problem> {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return None;
    }
    unreadable_in(&JOURNAL_DIRS.map(PathBuf::from), uid.as_raw(), user)
}

fn unreadable_in(dirs: &[PathBuf], uid: u32, user: bool) -> Option<crate::error::Problem> {
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
    Some(
        crate::error::Problem::new(format!(
            "{who} cannot read the system journal, {why}: `unitgen logs` would print nothing"
        ))
        .detail(format!(
            "--> {}: readable by root and the groups journald lets in (systemd-journal, adm)",
            file.display()
        ))
        .help(help),
    )
}

/// Can the caller read `path` (file mode, groups and ACLs, as the kernel decides)?
fn readable(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::R_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn restarts_are_starts_after_the_first_plus_reloads_that_worked() {
        let u = "p-api@1.service";
        let start = rec(&[("UNIT", u), ("MESSAGE_ID", message_id::STARTING)]);
        let reloaded = |r: &str| {
            rec(&[
                ("UNIT", u),
                ("MESSAGE_ID", message_id::RELOADED),
                ("JOB_RESULT", r),
            ])
        };
        let got = count_starts(&[
            start.clone(),
            start.clone(),
            reloaded("done"),
            reloaded("failed"),
            start,
        ]);
        assert_eq!(
            got[u],
            Starts {
                starts: 3,
                reloads: 1
            }
        );
        assert_eq!(got[u].restarts(), 3);
        assert_eq!(Starts::default().restarts(), 0);
    }

    #[test]
    fn the_last_exit_carries_the_result_that_followed_it() {
        let u = "p-api@1.service";
        let exit = |code: &str, status: &str, at: &str| {
            rec(&[
                ("UNIT", u),
                ("MESSAGE_ID", message_id::PROCESS_EXIT),
                ("EXIT_CODE", code),
                ("EXIT_STATUS", status),
                ("__REALTIME_TIMESTAMP", at),
            ])
        };
        let result = rec(&[
            ("UNIT", u),
            ("MESSAGE_ID", message_id::FAILED_RESULT),
            ("UNIT_RESULT", "oom-kill"),
        ]);
        let got = fold_exits(&[
            exit("exited", "1", "10"),
            exit("killed", "KILL", "20"),
            result,
        ]);
        assert_eq!(got[u].status, "KILL");
        assert_eq!(got[u].result.as_deref(), Some("oom-kill"));
        assert_eq!(got[u].at_us, 20);
        // A newer exit does not keep an older one's result.
        let got = fold_exits(&[
            exit("killed", "KILL", "20"),
            rec(&[
                ("UNIT", u),
                ("MESSAGE_ID", message_id::FAILED_RESULT),
                ("UNIT_RESULT", "oom-kill"),
            ]),
            exit("exited", "3", "30"),
        ]);
        assert_eq!(got[u].result, None);
        assert_eq!(got[u].status, "3");
    }

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
        let msg = unreadable_in(&dirs, 1000, false)
            .expect("unreadable")
            .to_string();
        assert!(msg.contains("systemd-journal"), "{msg}");
        assert!(msg.contains(&file.display().to_string()), "{msg}");
        // A regular user's own lines are in user-UID.journal when the journal is persistent.
        assert_eq!(unreadable_in(&dirs, 1000, true), None);
        assert!(unreadable_in(&dirs, 999, true).is_some());
    }
}
