//! The state of every instance as `status` shows it: the rows, the words for states, the
//! summaries and the notes, worked out from what [`crate::ops::status`] read.

/// `unitgen status --help`: what each figure is and where it comes from, and the JSON fields.
pub const LONG_HELP: &str = "\
One row per instance (NAME is ns/app@N): PID, USER, STATE, CPU, MEMORY, UPTIME, RESTARTS, \
LISTEN, read from systemd (one round of D-Bus calls), the instances' cgroups and the journal; \
then a summary line per namespace, and a note for each figure this machine cannot give.

STATE: online (running; ready, where the app says so), starting, restarting (its process \
ended after a while; systemd starts it again after restart_delay), crashing (it died within \
1 s of its start, or systemd restarted it less than 1 s ago), errored (failed and left down, \
such as past max_restarts), stopping, stopped.

CPU is recent, not a lifetime average: the share of one core each instance used over the \
100 ms that status spends reading (so 200% is two cores): its cgroup's cpu.stat usage_usec \
is read twice, at least 100 ms apart, and the difference divided by the time between the \
readings. status therefore takes at least 100 ms. `-` where the cgroup has no cpu.stat \
(the cpu controller on cgroup v1), with a note.

MEMORY is the cgroup's memory.current (what memory_max limits); where the memory controller \
is not available to the cgroups (cgroup v1), the sum of the processes' resident memory \
(RSS), with a note.

RESTARTS counts every restart in the current boot: systemd's automatic ones, restarts by hand \
(`unitgen restart`, `systemctl restart`), `unitgen reload` and `apply`'s rolls, and reloads \
in place; that is every start of the instance after its first (systemd's \"Starting\" \
records in the journal, written by the manager itself and read in one journalctl run), plus \
every reload that worked, and never less than systemd's NRestarts. Records that journald \
has removed (SystemMaxUse=) are not counted. Where the journal cannot be read, systemd's \
NRestarts alone (automatic restarts since the last start by hand), with a note.

--json prints one array (like `pm2 jlist`), one object per instance, `null` where there is \
no value: namespace, app, instance (number), unit, state (the word above), active_state and \
sub_state (systemd's), result (systemd's Result of the last run), pid, user (who the main \
process runs as), restarts (as RESTARTS), auto_restarts (systemd's NRestarts), started_at \
(RFC 3339, UTC), uptime_ms, cpu_ns (CPU time since the instance started, ns), cpu_percent \
(as CPU), memory_bytes, memory_source (\"cgroup\" or \"rss\"), tasks (processes and \
threads; null without the pids controller), listen (what its socket listens on), watch (\"on\", \"stopped\" or \"failed\" for an app with \
`watch`, else null); with --host, host (the host it runs on).";

use serde::{Deserialize, Serialize};

use crate::adapters::systemd::ActiveState;

/// One instance, as `status --json` prints it. A value systemd cannot give is `null`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    /// Namespace.
    pub namespace: String,
    /// App.
    pub app: String,
    /// Instance number.
    pub instance: u32,
    /// The unit, such as `prod-api@1.service`.
    pub unit: String,
    /// A PM2 user's word for the state (see [`State`]).
    pub state: State,
    /// systemd's ActiveState.
    pub active_state: String,
    /// systemd's SubState.
    pub sub_state: String,
    /// systemd's Result of the last run.
    pub result: Option<String>,
    /// The main process.
    pub pid: Option<u32>,
    /// Who the main process runs as (its user's name, or its uid).
    pub user: Option<String>,
    /// Restarts in the current boot: automatic (systemd's `Restart=`), by hand (`restart`,
    /// `systemctl restart`), by `reload` and `apply`, reloads in place. Counted from systemd's
    /// own journal records of the instance's starts (see [`crate::adapters::journal::starts`]), and
    /// never below `auto_restarts`; `auto_restarts` alone where the journal cannot be read.
    pub restarts: Option<u64>,
    /// systemd's NRestarts: automatic restarts since the unit was last started by hand.
    pub auto_restarts: Option<u64>,
    /// When the main process started, in RFC 3339 (UTC).
    pub started_at: Option<String>,
    /// Milliseconds since it became active.
    pub uptime_ms: Option<u64>,
    /// CPU time used since the process started, in nanoseconds (the cgroup's counter).
    pub cpu_ns: Option<u64>,
    /// Recent CPU use, in percent of one core (200 is two cores): the growth of the cgroup's
    /// counter over the time between two readings (see [`Figures::cpu_window`]). `null`
    /// without a second reading, when the instance is not running, or without cpu.stat.
    pub cpu_percent: Option<f64>,
    /// Memory in bytes: the cgroup's, or the sum of its processes' resident memory where the
    /// memory controller is not available.
    pub memory_bytes: Option<u64>,
    /// Where `memory_bytes` comes from.
    pub memory_source: Option<MemorySource>,
    /// Tasks (processes and threads).
    pub tasks: Option<u64>,
    /// What its socket listens on.
    pub listen: Vec<String>,
    /// Whether its app is watched (`watch`): `null` when the app has no watch, else the state
    /// of its watcher.
    pub watch: Option<Watching>,
}

/// The state of an app's watcher (`NS-APP-watch.service`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Watching {
    /// It watches: a change restarts the app.
    On,
    /// It does not run (stopped with the app, or not started yet).
    Stopped,
    /// It failed (a watched path is gone, or the kernel's inotify limit was reached): see
    /// `journalctl -u NS-APP-watch`.
    Failed,
}

impl Watching {
    /// From the watcher's ActiveState.
    pub fn from_active(active: ActiveState) -> Self {
        match active {
            ActiveState::Active | ActiveState::Activating | ActiveState::Reloading => Watching::On,
            ActiveState::Failed => Watching::Failed,
            _ => Watching::Stopped,
        }
    }

    /// The word for the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Watching::On => "on",
            Watching::Stopped => "stopped",
            Watching::Failed => "failed",
        }
    }
}

/// Where an instance's memory figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemorySource {
    /// The cgroup's memory.current (the memory controller): what MemoryMax= limits.
    Cgroup,
    /// The sum of the processes' resident memory, where the memory controller is not there.
    Rss,
}

/// Which figures [`crate::ops::status::collect_figures`] measures beyond one round of calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Read each running instance's cpu.stat twice, this long apart at least, for
    /// `cpu_percent`. The window overlaps the rest of the work, so it is the least time a
    /// `collect` takes.
    pub cpu_window: Option<std::time::Duration>,
    /// Count every restart from the journal (one journalctl run), not only systemd's
    /// automatic ones.
    pub all_restarts: bool,
}

/// How long `status` measures CPU use over.
pub const CPU_WINDOW: std::time::Duration = std::time::Duration::from_millis(100);

/// How long a process must stay up for its start to count (PM2's `min_uptime`, and the
/// default of `apply --settle`): one that dies sooner crashed at start.
pub const MIN_UPTIME_US: u64 = 1_000_000;

/// A PM2 user's word for an instance's state, from systemd's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Running (ready, where the app says when it is).
    Online,
    /// Started by hand or by `apply`, not ready yet.
    Starting,
    /// Its process ended after it had been up a while (or was killed); systemd starts it
    /// again after `restart_delay` (PM2's `waiting restart`).
    Restarting,
    /// A crash loop: its last process died less than [`MIN_UPTIME_US`] after it started and
    /// systemd waits to start it again, or systemd restarted it after a death and the new
    /// process is younger than that. Past `max_restarts` it ends `errored`.
    Crashing,
    /// Failed and left down: the start limit was hit, or it failed to start or stop.
    Errored,
    /// Being stopped.
    Stopping,
    /// Not running.
    Stopped,
}

impl State {
    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Starting => "starting",
            Self::Restarting => "restarting",
            Self::Crashing => "crashing",
            Self::Errored => "errored",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// What [`state_word`] decides from: systemd's own values for one instance, all from the one
/// round of calls that `status` makes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed<'a> {
    /// ActiveState.
    pub active: ActiveState,
    /// SubState, such as `running` or `auto-restart`.
    pub sub: &'a str,
    /// NRestarts: automatic restarts since it was last started by hand.
    pub restarts: Option<u64>,
    /// ExecMainStartTimestamp: when the current (or last) main process started, in µs.
    pub main_started_us: Option<u64>,
    /// ExecMainExitTimestamp: when the last main process ended, in µs (unset while it runs).
    pub main_exited_us: Option<u64>,
    /// Now, in µs since the epoch.
    pub now_us: u64,
}

/// A PM2 user's word for systemd's state. A crash loop is told from systemd's own state:
/// SubState `auto-restart` after a process that lived less than [`MIN_UPTIME_US`], or a
/// process restarted by systemd (NRestarts > 0) that is younger than that.
pub fn state_word(o: &Observed) -> State {
    let young =
        |t: Option<u64>, until: u64| t.is_some_and(|t| until.saturating_sub(t) < MIN_UPTIME_US);
    match o.active {
        ActiveState::Activating if o.sub == "auto-restart" => {
            let lived_short = match o.main_exited_us {
                Some(exit) => young(o.main_started_us, exit),
                // No exit time: it cannot have lived longer than it has been gone.
                None => young(o.main_started_us, o.now_us),
            };
            if lived_short {
                State::Crashing
            } else {
                State::Restarting
            }
        }
        ActiveState::Active | ActiveState::Reloading | ActiveState::Activating
            if o.restarts.is_some_and(|n| n > 0) && young(o.main_started_us, o.now_us) =>
        {
            State::Crashing
        }
        ActiveState::Active | ActiveState::Reloading => State::Online,
        ActiveState::Activating => State::Starting,
        ActiveState::Deactivating => State::Stopping,
        ActiveState::Failed => State::Errored,
        ActiveState::Inactive | ActiveState::Maintenance => State::Stopped,
    }
}

/// Microseconds since the epoch as RFC 3339 in UTC.
pub fn rfc3339(us: u64) -> String {
    let secs = (us / 1_000_000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// What [`crate::ops::status::collect_figures`] found.
#[derive(Debug, Clone)]
pub struct Report {
    /// One per instance.
    pub instances: Vec<Instance>,
    /// Why restarts are systemd's automatic ones only, when the journal could not be read.
    pub restarts_partial: Option<String>,
}

/// One namespace's instances, added up (the summary line under `status`'s table).
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The namespace.
    pub namespace: String,
    /// How many instances.
    pub instances: usize,
    /// How many are in each state, in [`State`]'s order, states with none left out.
    pub states: Vec<(State, usize)>,
    /// CPU % of the instances that have a figure (`None`: none has).
    pub cpu_percent: Option<f64>,
    /// Memory of the instances that have a figure.
    pub memory_bytes: Option<u64>,
    /// Restarts of all instances.
    pub restarts: u64,
}

/// One [`Summary`] per namespace, in the order the namespaces first appear.
pub fn summaries(rows: &[Instance]) -> Vec<Summary> {
    const ORDER: [State; 7] = [
        State::Online,
        State::Starting,
        State::Restarting,
        State::Crashing,
        State::Errored,
        State::Stopping,
        State::Stopped,
    ];
    let mut out: Vec<Summary> = Vec::new();
    for ns in rows.iter().map(|r| &r.namespace) {
        if out.iter().any(|s| &s.namespace == ns) {
            continue;
        }
        let mine: Vec<&Instance> = rows.iter().filter(|r| &r.namespace == ns).collect();
        let sum = |f: &dyn Fn(&Instance) -> Option<u64>| {
            mine.iter().filter_map(|r| f(r)).reduce(|a, b| a + b)
        };
        out.push(Summary {
            namespace: ns.clone(),
            instances: mine.len(),
            states: ORDER
                .iter()
                .map(|st| (*st, mine.iter().filter(|r| r.state == *st).count()))
                .filter(|(_, n)| *n > 0)
                .collect(),
            cpu_percent: mine
                .iter()
                .filter_map(|r| r.cpu_percent)
                .reduce(|a, b| a + b),
            memory_bytes: sum(&|r| r.memory_bytes),
            restarts: sum(&|r| r.restarts).unwrap_or(0),
        });
    }
    out
}

/// Why some figures are `-` or not what they seem, once each, for a note under the table.
pub fn notes(report: &Report) -> Vec<String> {
    let running: Vec<&Instance> = report
        .instances
        .iter()
        .filter(|r| r.pid.is_some())
        .collect();
    let mut out = Vec::new();
    if running.iter().any(|r| r.cpu_ns.is_none()) {
        out.push(
            "CPU is `-`: the instances' cgroups have no cpu.stat here (the cpu controller is on \
             cgroup v1)"
                .to_string(),
        );
    }
    if running
        .iter()
        .any(|r| r.memory_source == Some(MemorySource::Rss))
    {
        out.push(
            "MEMORY is the processes' resident memory (RSS): the memory controller is not \
             available to these cgroups here (cgroup v1), so memory_max is not enforced"
                .to_string(),
        );
    }
    if let Some(why) = &report.restarts_partial {
        out.push(format!(
            "RESTARTS counts systemd's automatic restarts only (since the last start by hand): \
             {why}"
        ));
    }
    out
}

/// Bytes as `12.3M`.
pub fn human_bytes(b: u64) -> String {
    let units = ["B", "K", "M", "G", "T"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b}B")
    } else if v >= 100.0 {
        format!("{v:.0}{}", units[i])
    } else {
        format!("{v:.1}{}", units[i])
    }
}

/// Milliseconds as `42s`, `5m`, `3h`, `2d`.
pub fn human_ms(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// `status`'s table and a summary per namespace; with `hosts` (one per row), a HOST column
/// first; a WATCH column only where an app is watched.
pub fn table(
    rows: &[Instance],
    notes: &[String],
    hosts: Option<&[crate::core::fleet::Host]>,
    color: bool,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let watched = rows.iter().any(|r| r.watch.is_some());
    let table: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let host = hosts.and_then(|h| h.get(i)).map(|h| h.to_string());
            host.into_iter().chain(cells(r)).collect()
        })
        .collect();
    let head = [
        "NAME", "PID", "USER", "STATE", "CPU", "MEMORY", "UPTIME", "RESTARTS", "LISTEN", "WATCH",
    ];
    let head: Vec<String> = hosts
        .map(|_| "HOST")
        .into_iter()
        .chain(head)
        .map(str::to_string)
        .collect();
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
    let _ = writeln!(out, "{}", line(&head));
    for (row, r) in table.iter().zip(rows) {
        let text = line(row);
        match color_code(r.state).filter(|_| color) {
            Some(code) => writeln!(out, "\x1b[{code}m{text}\x1b[0m"),
            None => writeln!(out, "{text}"),
        }
        .unwrap_or_default();
    }
    if rows.is_empty() {
        out.push_str(if hosts.is_some() {
            "(no apps installed on the hosts that answered)\n"
        } else {
            "(no apps installed; `unitgen apply FILE` installs some)\n"
        });
        return out;
    }
    out.push('\n');
    for s in summaries(rows) {
        let _ = writeln!(out, "{}", summary_line(&s));
    }
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

fn dash() -> String {
    "-".to_string()
}

fn percent(p: f64) -> String {
    format!("{p:.1}%")
}

/// One instance's cells, NAME to WATCH.
fn cells(r: &Instance) -> [String; 10] {
    [
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
    ]
}

/// The colour of a row in its state (ANSI SGR); none for the others.
fn color_code(state: State) -> Option<&'static str> {
    Some(match state {
        State::Online => "32",
        State::Errored | State::Crashing => "31",
        State::Starting | State::Stopping | State::Restarting => "33",
        State::Stopped => "2",
    })
}

/// A namespace's summary line under the table.
fn summary_line(s: &Summary) -> String {
    let states: Vec<String> = s.states.iter().map(|(st, n)| format!("{n} {st}")).collect();
    format!(
        "{}: {} instance{} ({}); CPU {}, memory {}, {} restart{}",
        s.namespace,
        s.instances,
        if s.instances == 1 { "" } else { "s" },
        states.join(", "),
        s.cpu_percent.map_or_else(dash, percent),
        s.memory_bytes.map_or_else(dash, human_bytes),
        s.restarts,
        if s.restarts == 1 { "" } else { "s" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000_000;

    fn seen(active: ActiveState, sub: &str) -> Observed<'_> {
        Observed {
            active,
            sub,
            now_us: NOW,
            ..Default::default()
        }
    }

    #[test]
    fn plain_states_keep_their_pm2_words() {
        let w = |a, s| state_word(&seen(a, s));
        assert_eq!(w(ActiveState::Active, "running"), State::Online);
        assert_eq!(w(ActiveState::Reloading, "reload"), State::Online);
        assert_eq!(w(ActiveState::Activating, "start"), State::Starting);
        assert_eq!(
            w(ActiveState::Deactivating, "stop-sigterm"),
            State::Stopping
        );
        assert_eq!(w(ActiveState::Failed, "failed"), State::Errored);
        assert_eq!(w(ActiveState::Inactive, "dead"), State::Stopped);
    }

    #[test]
    fn waiting_to_restart_after_a_quick_death_is_crashing() {
        let o = Observed {
            main_started_us: Some(NOW - 300_000),
            main_exited_us: Some(NOW - 290_000),
            ..seen(ActiveState::Activating, "auto-restart")
        };
        assert_eq!(state_word(&o), State::Crashing);
        // Without the exit time, the time since the start bounds its life.
        let o = Observed {
            main_exited_us: None,
            ..o
        };
        assert_eq!(state_word(&o), State::Crashing);
    }

    #[test]
    fn waiting_to_restart_after_a_long_life_is_restarting() {
        let o = Observed {
            main_started_us: Some(NOW - 3_600_000_000),
            main_exited_us: Some(NOW - 50_000),
            ..seen(ActiveState::Activating, "auto-restart")
        };
        assert_eq!(state_word(&o), State::Restarting);
        // A long restart_delay after a quick death is still a crash loop.
        let o = Observed {
            main_started_us: Some(NOW - 30_000_000),
            main_exited_us: Some(NOW - 29_900_000),
            ..o
        };
        assert_eq!(state_word(&o), State::Crashing);
    }

    #[test]
    fn a_young_process_that_systemd_restarted_is_crashing_until_it_stays_up() {
        for active in [ActiveState::Active, ActiveState::Activating] {
            let young = Observed {
                restarts: Some(4),
                main_started_us: Some(NOW - 20_000),
                ..seen(active, "running")
            };
            assert_eq!(state_word(&young), State::Crashing, "{active:?}");
            let settled = Observed {
                main_started_us: Some(NOW - MIN_UPTIME_US),
                ..young
            };
            assert_ne!(state_word(&settled), State::Crashing, "{active:?}");
        }
        // Started by hand (no automatic restart): young is just young.
        let fresh = Observed {
            restarts: Some(0),
            main_started_us: Some(NOW - 20_000),
            ..seen(ActiveState::Active, "running")
        };
        assert_eq!(state_word(&fresh), State::Online);
    }

    #[test]
    fn the_words_are_what_json_and_the_table_print() {
        assert_eq!(
            serde_json::to_string(&State::Crashing).unwrap(),
            "\"crashing\""
        );
        assert_eq!(format!("{:<9}|", State::Online), "online   |");
    }

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
        insta::assert_snapshot!(table(&rows, &notes, None, false), @r"
        NAME           PID   USER    STATE     CPU    MEMORY  UPTIME  RESTARTS  LISTEN  WATCH
        prod/api@1     4242  deploy  online    97.4%  56.0M   1h      2         3000    -
        prod/api@2     -     deploy  crashing  -      -       -       17        3000    -
        prod/worker@1  -     -       stopped   -      -       -       -         -       stopped

        prod: 3 instances (1 online, 1 crashing, 1 stopped); CPU 97.4%, memory 56.0M, 19 restarts
        note: CPU is `-` where the cgroup has no cpu.stat
        ");
        let unwatched = &rows[..2];
        let text = table(unwatched, &[], None, false);
        assert!(!text.contains("WATCH"), "{text}");
        assert_eq!(
            table(&[], &[], None, false),
            "NAME  PID  USER  STATE  CPU  MEMORY  UPTIME  RESTARTS  LISTEN\n(no apps installed; `unitgen apply FILE` installs some)\n"
        );
    }
}
