//! `unitgen status [NAME] [-n NS] [--json]`: one row per instance.

use super::Failure;
use crate::adapters::systemd::block_on;
use crate::cli::{Global, StatusArgs};
use crate::ops::status::collect_figures;
use crate::status::{human_bytes, human_ms, notes, summaries, Figures, Instance, State};

/// Print the table, or with `--json` one JSON array for scripts.
pub fn run(global: &Global, args: &StatusArgs) -> Result<(), Failure> {
    let hosts = super::fleet::hosts_of(&args.remote)?;
    if !hosts.is_empty() {
        return super::fleet::status(global, args, &hosts);
    }
    let selected = super::selected(global, args.name.as_deref(), &args.namespace, false)?;
    let t0 = std::time::Instant::now();
    tracing::debug!("selected {} apps", selected.len());
    let sd = super::connect(global, std::time::Duration::from_secs(10))?;
    tracing::debug!("connected by {:?}", t0.elapsed());
    let figures = Figures {
        cpu_window: Some(crate::status::CPU_WINDOW),
        all_restarts: true,
    };
    let report = block_on(collect_figures(&sd, &selected, figures))?;
    let printer = global.printer();
    if args.json {
        return printer.json(&report.instances);
    }
    print_table(printer, &report.instances, &notes(&report), None);
    Ok(())
}

fn percent(p: f64) -> String {
    format!("{p:.1}%")
}

/// The table and a summary per namespace; with `hosts` (one per row), a HOST column first;
/// a WATCH column only where an app is watched.
/// Print the table (see [`table_text`]).
pub(crate) fn print_table(
    printer: crate::printer::Printer,
    rows: &[Instance],
    notes: &[String],
    hosts: Option<&[crate::core::fleet::Host]>,
) {
    printer.output(table_text(rows, notes, hosts, printer.color()));
}

pub(crate) fn table_text(
    rows: &[Instance],
    notes: &[String],
    hosts: Option<&[crate::core::fleet::Host]>,
    color: bool,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let dash = || "-".to_string();
    let watched = rows.iter().any(|r| r.watch.is_some());
    let table: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let host = hosts.and_then(|h| h.get(i)).map(|h| h.to_string());
            host.into_iter()
                .chain([
                    format!("{}/{}@{}", r.namespace, r.app, r.instance),
                    r.pid.map_or_else(dash, |p| p.to_string()),
                    r.user.clone().unwrap_or_else(dash),
                    r.state.to_string(),
                    r.cpu_percent.map_or_else(dash, percent),
                    r.memory_bytes.map_or_else(dash, human_bytes),
                    r.uptime_ms.map_or_else(dash, human_ms),
                    r.restarts.map_or_else(dash, |n| n.to_string()),
                    if r.listen.is_empty() {
                        dash()
                    } else {
                        r.listen.join(",")
                    },
                    r.watch.map_or_else(dash, |w| w.as_str().to_string()),
                ])
                .collect()
        })
        .collect();
    let head = [
        "NAME", "PID", "USER", "STATE", "CPU", "MEMORY", "UPTIME", "RESTARTS", "LISTEN", "WATCH",
    ];
    let head: Vec<&str> = hosts.map(|_| "HOST").into_iter().chain(head).collect();
    let columns = if watched { head.len() } else { head.len() - 1 };
    let mut width: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for row in &table {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells[..columns]
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(
        out,
        "{}",
        line(&head.iter().map(|h| h.to_string()).collect::<Vec<_>>())
    );
    for (row, r) in table.iter().zip(rows) {
        let text = line(row);
        if color {
            let code = match r.state {
                State::Online => "32",
                State::Errored | State::Crashing => "31",
                State::Starting | State::Stopping | State::Restarting => "33",
                State::Stopped => "2",
            };
            let _ = writeln!(out, "\x1b[{code}m{text}\x1b[0m");
        } else {
            let _ = writeln!(out, "{text}");
        }
    }
    if rows.is_empty() && hosts.is_some() {
        let _ = writeln!(out, "(no apps installed on the hosts that answered)");
        return out;
    } else if rows.is_empty() {
        let _ = writeln!(
            out,
            "(no apps installed; `unitgen apply FILE` installs some)"
        );
        return out;
    }
    let _ = writeln!(out);
    for s in summaries(rows) {
        let states: Vec<String> = s.states.iter().map(|(st, n)| format!("{n} {st}")).collect();
        let _ = writeln!(
            out,
            "{}: {} instance{} ({}); CPU {}, memory {}, {} restart{}",
            s.namespace,
            s.instances,
            if s.instances == 1 { "" } else { "s" },
            states.join(", "),
            s.cpu_percent.map_or_else(dash, percent),
            s.memory_bytes.map_or_else(dash, human_bytes),
            s.restarts,
            if s.restarts == 1 { "" } else { "s" },
        );
    }
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instance as `status --json` would print it.
    fn row(app: &str, i: u32, state: &str, more: serde_json::Value) -> Instance {
        let mut v = serde_json::json!({
            "namespace": "prod", "app": app, "instance": i,
            "unit": format!("prod-{app}@{i}.service"), "state": state,
            "active_state": "active", "sub_state": "running", "listen": [],
        });
        v.as_object_mut()
            .unwrap()
            .extend(more.as_object().unwrap().clone());
        serde_json::from_value(v).expect("an instance")
    }

    #[test]
    fn the_table_and_its_summary() {
        let rows = [
            row(
                "api",
                1,
                "online",
                serde_json::json!({"pid": 4242, "user": "deploy", "cpu_percent": 97.4,
                    "memory_bytes": 58_720_256u64, "uptime_ms": 3_723_000u64, "restarts": 2,
                    "listen": ["3000"]}),
            ),
            row(
                "api",
                2,
                "crashing",
                serde_json::json!({"user": "deploy", "restarts": 17, "listen": ["3000"]}),
            ),
            row(
                "worker",
                1,
                "stopped",
                serde_json::json!({"watch": "stopped"}),
            ),
        ];
        let notes = ["CPU is `-` where the cgroup has no cpu.stat".to_string()];
        insta::assert_snapshot!(table_text(&rows, &notes, None, false), @r"
        NAME           PID   USER    STATE     CPU    MEMORY  UPTIME  RESTARTS  LISTEN  WATCH
        prod/api@1     4242  deploy  online    97.4%  56.0M   1h      2         3000    -
        prod/api@2     -     deploy  crashing  -      -       -       17        3000    -
        prod/worker@1  -     -       stopped   -      -       -       -         -       stopped

        prod: 3 instances (1 online, 1 crashing, 1 stopped); CPU 97.4%, memory 56.0M, 19 restarts
        note: CPU is `-` where the cgroup has no cpu.stat
        ");
        let unwatched = &rows[..2];
        let text = table_text(unwatched, &[], None, false);
        assert!(!text.contains("WATCH"), "{text}");
        assert_eq!(
            table_text(&[], &[], None, false),
            "NAME  PID  USER  STATE  CPU  MEMORY  UPTIME  RESTARTS  LISTEN\n(no apps installed; `unitgen apply FILE` installs some)\n"
        );
    }
}
