//! `unitgen logs [NAME] [-n NS] ...`: the journal of the selected apps, through `journalctl`,
//! merged across instances in time order, each line showing which instance wrote it. These
//! are the lines the apps wrote; systemd's own messages about the units are in `unitgen show`
//! and `journalctl -u`.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::process::{Command, Stdio};

use super::{unit_dir, Failure};
use crate::cli::{Global, LogsArgs};
use crate::selector::select;

/// Print (and maybe follow) the logs.
pub fn run(g: &Global, a: &LogsArgs) -> Result<(), Failure> {
    let selected = select(
        &unit_dir(g),
        a.name.as_deref(),
        a.namespace.as_deref(),
        false,
    )
    .map_err(Failure::Usage)?;
    if selected.is_empty() {
        return Err(Failure::Usage("no apps are installed".into()));
    }
    let tty = std::io::stdout().is_terminal();
    let follow = a.follow || (tty && !a.nostream);
    let mut cmd = Command::new("journalctl");
    if g.user {
        cmd.arg("--user");
    }
    cmd.args(["--no-pager", "-q", "-o", "json", "-n", &a.lines.to_string()]);
    if follow {
        cmd.arg("-f");
    }
    if a.err {
        // Lines the app wrote to standard error carry priority "err" (see unitgen.toml(5)).
        cmd.args(["-p", "err"]);
    }
    if let Some(since) = &a.since {
        cmd.arg("--since").arg(since);
    }
    // The apps' own lines (what they wrote), not systemd's messages about the units: those
    // are in `unitgen show` and `journalctl -u`. Several matches of one field are ORed.
    let field = if g.user {
        "_SYSTEMD_USER_UNIT"
    } else {
        "_SYSTEMD_UNIT"
    };
    for s in &selected {
        for unit in s.instance_units() {
            cmd.arg(format!("{field}={unit}"));
        }
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::Failed(format!("cannot run journalctl: {e}")))?;
    let stdout = child.stdout.take().expect("piped");
    let color = g.colored(tty);
    let mut out = std::io::stdout().lock();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let written = if a.json {
            writeln!(out, "{line}")
        } else {
            writeln!(out, "{}", format(&line, color))
        };
        if written.is_err() {
            break; // the reader went away (a closed pipe)
        }
        if follow {
            let _ = out.flush();
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}

/// One journal entry as `TIME ns/app@i | message`.
fn format(json: &str, color: bool) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_string();
    };
    let field = |k: &str| -> String {
        match &v[k] {
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
    };
    let time = field("__REALTIME_TIMESTAMP")
        .parse::<u64>()
        .map(crate::status::rfc3339)
        .unwrap_or_default();
    let unit = field("_SYSTEMD_UNIT");
    let unit = if unit.is_empty() {
        field("_SYSTEMD_USER_UNIT")
    } else {
        unit
    };
    let who = unit
        .strip_suffix(".service")
        .and_then(|u| u.split_once('-'))
        .map_or_else(|| unit.clone(), |(ns, rest)| format!("{ns}/{rest}"));
    let msg = field("MESSAGE");
    let err = field("PRIORITY").parse::<u8>().is_ok_and(|p| p <= 3);
    if color && err {
        format!("{time} {who} | \x1b[31m{msg}\x1b[0m")
    } else {
        format!("{time} {who} | {msg}")
    }
}
