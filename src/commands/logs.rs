//! `unitgen logs [NAME] [-n NS] ...`: the journal of the selected apps, through `journalctl`,
//! merged across instances in time order, each line showing which instance wrote it. These
//! are the lines the apps wrote; systemd's own messages about the units are in `unitgen show`
//! and `journalctl -u`.
//!
//! The last `--lines` of the window are read newest first (`journalctl -r`, which stops at
//! `--since`) and printed oldest first; `--follow` then goes on after the last of them (its
//! cursor), so that no line is shown twice or missed in between. (journalctl's `-n` with
//! `--since` gives the *oldest* lines of the window instead.)

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::process::{Command, Stdio};

use super::{Failure, Problem};
use crate::adapters::journal;
use crate::cli::{Global, LogsArgs};

/// Print (and maybe follow) the logs.
pub fn run(global: &Global, args: &LogsArgs) -> Result<(), Failure> {
    let hosts = super::fleet::hosts_of(&args.remote)?;
    if !hosts.is_empty() {
        return super::fleet::logs(global, args, &hosts);
    }
    let units = units(global, args)?;
    if let Some(why) = journal::unreadable(global.user) {
        return Err(Failure::Failed(why));
    }
    let tty = std::io::stdout().is_terminal();
    let follow = args.follow || (tty && !args.nostream);
    let color = global.colored(tty);
    // The apps' own lines (what they wrote), not systemd's messages about the units: those
    // are in `unitgen show` and `journalctl -u`. With `--err`, those at priority "err" (what
    // the apps wrote to standard error, see unitgen.toml(5)). And journald's notes that it
    // dropped lines of theirs: no line is lost without a word.
    let matches = journal::log_matches(&units, global.user, args.err);
    let newest_first = window(args, &matches)?;
    let mut out = std::io::stdout().lock();
    for line in newest_first.iter().rev() {
        if print(&mut out, line, args.json, global.user, color).is_err() {
            return Ok(()); // the reader went away (a closed pipe)
        }
    }
    if !follow {
        return Ok(());
    }
    let _ = out.flush();
    let cursor = newest_first
        .first()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| journal::field(&v, "__CURSOR"))
        .filter(|c| !c.is_empty());
    let mut more = journalctl();
    more.args(follow_args(args, cursor)).args(&matches);
    follow_lines(more, &mut out, |out, line| {
        print(out, line, args.json, global.user, color)
    })
}

/// The instance units of the selected apps; an error when there are none.
fn units(global: &Global, args: &LogsArgs) -> Result<Vec<String>, Failure> {
    let selected = super::selected(global, args.name.as_deref(), &args.namespace, false)?;
    if selected.is_empty() {
        return Err(Failure::usage("no apps are installed"));
    }
    let units: Vec<String> = selected.iter().flat_map(|s| s.instance_units()).collect();
    if units.is_empty() {
        let apps: Vec<String> = selected
            .iter()
            .map(|s| format!("{}/{}", s.namespace, s.app))
            .collect();
        return Err(Failure::Usage(
            Problem::new(format!(
                "{} has no instance installed, so no lines to show",
                apps.join(", ")
            ))
            .help("`unitgen apply FILE` installs them"),
        ));
    }
    Ok(units)
}

fn journalctl() -> Command {
    let mut cmd = Command::new("journalctl");
    cmd.args(["--no-pager", "-q", "-o", "json"]);
    cmd
}

/// The window: its newest `--lines` lines (JSON), newest first.
fn window(args: &LogsArgs, matches: &[String]) -> Result<Vec<String>, Failure> {
    let mut window = journalctl();
    window.args(["-r", "-n", &args.lines.to_string()]);
    if let Some(since) = &args.since {
        window.arg("--since").arg(since);
    }
    let got = window
        .args(matches)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Failure::failed(format!("cannot run journalctl: {e}")))?;
    if !got.status.success() {
        return Err(journalctl_failed(
            args,
            &String::from_utf8_lossy(&got.stderr),
        ));
    }
    Ok(String::from_utf8_lossy(&got.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// What to follow: after the last line shown (its cursor), or every line of the window if
/// none was.
fn follow_args(args: &LogsArgs, cursor: Option<String>) -> Vec<String> {
    let mut flags: Vec<String> = vec!["-f".into()];
    match cursor {
        _ if args.lines == 0 => flags.extend(["-n".into(), "0".into()]),
        Some(c) => flags.extend(["-n".into(), "all".into(), "--after-cursor".into(), c]),
        None => {
            flags.extend(["-n".into(), "all".into()]);
            if let Some(since) = &args.since {
                flags.extend(["--since".into(), since.clone()]);
            }
        }
    }
    flags
}

/// Run `journalctl -f` and print its lines until it ends or the reader goes away.
fn follow_lines<W: Write>(
    mut cmd: Command,
    out: &mut W,
    print: impl Fn(&mut W, &str) -> std::io::Result<()>,
) -> Result<(), Failure> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::failed(format!("cannot run journalctl: {e}")))?;
    let stdout = child.stdout.take().expect("piped");
    let mut closed = false;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if print(out, &line).is_err() {
            closed = true; // the reader went away (a closed pipe)
            break;
        }
        let _ = out.flush();
    }
    if closed {
        let _ = child.kill();
    }
    match child.wait() {
        Ok(st) if !st.success() && !closed => Err(Failure::failed(format!(
            "journalctl stopped following the logs ({st})"
        ))),
        _ => Ok(()),
    }
}

/// What went wrong when journalctl refused: a `--since` it cannot read is bad usage (exit 2).
fn journalctl_failed(args: &LogsArgs, stderr: &str) -> Failure {
    let said = stderr.trim();
    match &args.since {
        Some(since) if said.contains("timestamp") => Failure::Usage(
            Problem::new(format!(
                "--since {since:?} is not a time journalctl can read ({said})"
            ))
            .help(
                "give a time like \"10 min ago\", \"1h ago\", \"today\", \"yesterday\" or \
                 \"2026-11-22 10:00:00\" (see `man systemd.time`)",
            ),
        ),
        _ => Failure::failed(format!("journalctl failed: {said}")),
    }
}

fn print(
    out: &mut impl Write,
    line: &str,
    json: bool,
    user: bool,
    color: bool,
) -> std::io::Result<()> {
    if json {
        writeln!(out, "{line}")
    } else {
        writeln!(out, "{}", format(line, user, color))
    }
}

/// One journal entry as `TIME ns/app@i | message`.
pub(crate) fn format(json: &str, user: bool, color: bool) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_string();
    };
    let field = |k: &str| journal::field(&v, k);
    let time = field("__REALTIME_TIMESTAMP")
        .parse::<u64>()
        .map(crate::status::rfc3339)
        .unwrap_or_default();
    let suppressed = journal::suppression(&v, user);
    let unit = suppressed
        .as_ref()
        .map_or_else(|| journal::entry_unit(&v, user), |(u, _)| u.clone());
    let who = unit
        .strip_suffix(".service")
        .and_then(|u| u.split_once('-'))
        .map_or_else(|| unit.clone(), |(ns, rest)| format!("{ns}/{rest}"));
    let (msg, err) = match suppressed {
        Some((_, n)) => (
            format!("[unitgen] journald dropped {n} lines of this instance: it logged faster than its rate limit (log_rate_limit in the ecosystem file)"),
            true,
        ),
        None => (
            field("MESSAGE"),
            field("PRIORITY").parse::<u8>().is_ok_and(|p| p <= 3),
        ),
    };
    if color && err {
        format!("{time} {who} | \x1b[31m{msg}\x1b[0m")
    } else {
        format!("{time} {who} | {msg}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_units_line_names_its_app_not_the_user_manager() {
        let line = r#"{"__REALTIME_TIMESTAMP":"1763893538000000","_SYSTEMD_UNIT":"user@0.service","_SYSTEMD_USER_UNIT":"m2-web@1.service","MESSAGE":"hello","PRIORITY":"6"}"#;
        assert_eq!(
            format(line, true, false),
            "2025-11-23T10:25:38Z m2/web@1 | hello"
        );
        let system = r#"{"__REALTIME_TIMESTAMP":"1763893538000000","_SYSTEMD_UNIT":"m2-web@2.service","MESSAGE":"hi"}"#;
        assert_eq!(
            format(system, false, false),
            "2025-11-23T10:25:38Z m2/web@2 | hi"
        );
    }

    #[test]
    fn journalds_note_of_dropped_lines_is_shown_under_the_instance() {
        let note = r#"{"__REALTIME_TIMESTAMP":"1763893538000000","_SYSTEMD_UNIT":"systemd-journald.service","MESSAGE_ID":"a596d6fe7bfa4994828e72309e95d61e","MESSAGE":"Suppressed 33854 messages from m2-web@1.service","N_DROPPED":"33854","OBJECT_SYSTEMD_UNIT":"m2-web@1.service","PRIORITY":"6"}"#;
        assert_eq!(
            format(note, false, false),
            "2025-11-23T10:25:38Z m2/web@1 | [unitgen] journald dropped 33854 lines of this instance: it logged faster than its rate limit (log_rate_limit in the ecosystem file)"
        );
    }
}
