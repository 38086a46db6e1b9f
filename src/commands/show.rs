//! `unitgen show NAME [-n NS]`: one app in depth ([`crate::show`] gathers, this prints).

use std::fmt::Write;

use super::Failure;

/// A line into the text (writing to a `String` cannot fail).
macro_rules! w {
    ($o:expr, $($arg:tt)*) => {{
        let _ = writeln!($o, $($arg)*);
    }};
}
use crate::adapters::systemd::block_on;
use crate::cli::{Global, TargetArgs};
use crate::ops::show::gather;
use crate::show::AppDetails;
use crate::status::Figures;

/// Print each selected app: with a failing one, the reason of its last exit and its last error
/// lines first; then its command, files, environment (secrets masked), limits, instances and
/// recent logs.
pub fn run(global: &Global, args: &TargetArgs) -> Result<(), Failure> {
    let hosts = super::fleet::hosts_of(&args.remote)?;
    if !hosts.is_empty() {
        return super::fleet::show(global, args, &hosts);
    }
    let printer = global.printer();
    let selected = super::selected(global, Some(&args.name), &args.namespace, true)?;
    let sd = super::connect(global, std::time::Duration::from_secs(10))?;
    let env_dir = super::target(global).env_dir;
    let figures = Figures {
        cpu_window: Some(crate::status::CPU_WINDOW),
        all_restarts: true,
    };
    for (k, s) in selected.iter().enumerate() {
        let d = block_on(gather(&sd, s, &env_dir, figures))?;
        if k > 0 {
            printer.line("");
        }
        printer.text(text(&d));
    }
    Ok(())
}

fn dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// What `show` prints about one app.
fn text(d: &AppDetails) -> String {
    let mut o = String::new();
    failing(&mut o, d);
    units(&mut o, d);
    limits(&mut o, d);
    environment(&mut o, d);
    instances(&mut o, d);
    logs(&mut o, d);
    o
}

/// For a failing app first: why it is down, and what it said.
fn failing(o: &mut String, d: &AppDetails) {
    w!(o, "{}", d.name);
    if d.failing {
        for i in d.instances.iter().filter(|i| {
            matches!(
                i.row.state,
                crate::status::State::Crashing | crate::status::State::Errored
            )
        }) {
            let why = i
                .last_exit
                .as_ref()
                .and_then(|e| e.reason.as_ref().map(|r| format!("{r} at {}", e.at)))
                .or_else(|| i.row.result.clone().map(|r| format!("failed: {r}")))
                .unwrap_or_else(|| "no exit recorded in this boot".into());
            w!(
                o,
                "  FAILING       @{} {}: {why} ({} restarts)",
                i.row.instance,
                i.row.state,
                dash(i.row.restarts)
            );
        }
        if let Some(last) = d.errors.last() {
            w!(o, "  last error    {last}");
        }
    }
}

/// The command, user, unit files, socket, timer and watcher.
fn units(o: &mut String, d: &AppDetails) {
    w!(o, "  command       {}", shell_words(&d.command));
    if d.exec_start != d.command {
        w!(o, "  exec_start    {}", shell_words(&d.exec_start));
    }
    w!(o, "  cwd           {}", dash(d.cwd.as_ref()));
    w!(o, "  user          {}", d.user);
    w!(o, "  unit file     {}", dash(d.unit_file.as_ref()));
    for f in &d.drop_ins {
        w!(o, "  drop-in       {f}");
    }
    if let Some(sock) = &d.socket {
        w!(
            o,
            "  socket        {} ({})",
            sock.unit,
            sock.listen.join(", ")
        );
        if let Some(f) = &sock.file {
            w!(o, "    file        {f}");
        }
    }
    if let Some(t) = &d.timer {
        w!(
            o,
            "  timer         {} ({}; next {})",
            t.unit,
            t.schedule.join(", "),
            dash(t.next.as_ref())
        );
        if let Some(f) = &t.file {
            w!(o, "    file        {f}");
        }
    }
    if let Some((unit, state)) = &d.watch {
        w!(
            o,
            "  watch         {unit} ({}; `journalctl -u {unit}` says what it saw)",
            state.as_str()
        );
    }
}

/// The limits, and a note where the memory controller is missing.
fn limits(o: &mut String, d: &AppDetails) {
    w!(o, "  limits");
    for l in &d.limits {
        w!(o, "    {:<14} {}", l.key, l.value);
    }
    let memory_limited = d
        .limits
        .iter()
        .any(|l| l.key.starts_with("memory_") && l.value != "none");
    if memory_limited && !d.memory_controller {
        w!(o, "    note           the memory controller is not available here: memory limits are written but not enforced");
    }
}

/// The environment files and variables (secret-looking values masked).
fn environment(o: &mut String, d: &AppDetails) {
    w!(o, "  environment");
    for f in &d.env {
        w!(o, "    {}", f.path.display());
        match &f.vars {
            Ok(vars) => {
                for (k, v) in vars {
                    w!(o, "      {k}={v}");
                }
            }
            Err(why) => w!(o, "      ({why})"),
        }
    }
    for (k, v) in &d.environment {
        w!(o, "    {k}={v} (Environment=)");
    }
}

/// One line per instance.
fn instances(o: &mut String, d: &AppDetails) {
    w!(o, "  instances");
    for i in &d.instances {
        let r = &i.row;
        let exit = i.last_exit.as_ref().map_or_else(
            || "no failure in this boot".to_string(),
            |e| match &e.reason {
                Some(reason) => format!("{reason} at {}", e.at),
                None => format!("clean at {}", e.at),
            },
        );
        w!(
            o,
            "    @{:<3} {:<10} pid {:<8} cpu {:<7} memory {:<9} restarts {:<4} last exit: {exit}",
            r.instance,
            r.state.as_str(),
            dash(r.pid),
            r.cpu_percent
                .map_or_else(|| "-".into(), |p| format!("{p:.1}%")),
            r.memory_bytes.map_or_else(|| "-".into(), crate::show::size),
            dash(r.restarts),
        );
    }
}

/// The log limit, dropped lines and recent logs.
fn logs(o: &mut String, d: &AppDetails) {
    if let Some(limit) = &d.log_limit {
        w!(o, "  log limit     {limit}");
    }
    if d.dropped.lines > 0 {
        w!(o,
            "  dropped logs  {} lines, by journald's rate limit ({} times, last {}): raise log_rate_limit",
            d.dropped.lines,
            d.dropped.notes,
            d.dropped
                .last_us
                .map_or_else(|| "-".to_string(), crate::status::rfc3339)
        );
    }
    w!(
        o,
        "  recent logs{}",
        if d.failing { " (errors first)" } else { "" }
    );
    for l in d.logs.lines() {
        w!(o, "    {l}");
    }
}

/// Arguments as a shell would take them back.
fn shell_words(argv: &[String]) -> String {
    shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
}
