//! The state of every instance: systemd's unit list and a few properties per instance, fetched
//! as one round of concurrent D-Bus calls, plus the counters of each instance's cgroup.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::selector::Selected;
use crate::systemd::{num, text, ActiveState, Props, Systemd};

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
    /// Automatic restarts since the unit was last started by hand.
    pub restarts: Option<u64>,
    /// When the main process started, in RFC 3339 (UTC).
    pub started_at: Option<String>,
    /// Milliseconds since it became active.
    pub uptime_ms: Option<u64>,
    /// CPU time used, in nanoseconds.
    pub cpu_ns: Option<u64>,
    /// Memory in bytes: the cgroup's, or the sum of its processes' resident memory where the
    /// memory controller is not available.
    pub memory_bytes: Option<u64>,
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
    pub fn from_active(active: &str) -> Self {
        match ActiveState::parse(active) {
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

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
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

/// Resident memory of the processes of a cgroup, from /proc (for when MemoryCurrent is unset).
fn cgroup_rss(cgroup: &str) -> Option<u64> {
    if cgroup.is_empty() {
        return None;
    }
    let procs = std::fs::read_to_string(format!("/sys/fs/cgroup{cgroup}/cgroup.procs")).ok()?;
    let page = 4096u64;
    let mut total = 0u64;
    let mut any = false;
    for pid in procs.split_whitespace() {
        if let Ok(statm) = std::fs::read_to_string(format!("/proc/{pid}/statm")) {
            if let Some(rss) = statm
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
            {
                total += rss * page;
                any = true;
            }
        }
    }
    any.then_some(total)
}

/// Who a process runs as: the owner of its /proc entry, by name where the user database has one.
fn user_of(pid: u32) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata(format!("/proc/{pid}")).ok()?.uid();
    Some(
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map_or_else(|| uid.to_string(), |u| u.name),
    )
}

/// The cgroup of a process, from /proc (cgroup v2's single line).
fn cgroup_of(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_string)
}

/// One row; `listed` is the (active, sub) state from the unit list, `None` when not loaded.
fn instance(s: &Selected, i: u32, listed: Option<(&str, &str)>, props: Option<&Props>) -> Instance {
    let unit = crate::names::instance(&s.namespace, &s.app, i);
    let empty = Props::new();
    let p = props.unwrap_or(&empty);
    let (active, sub) = listed.unwrap_or(("inactive", "dead"));
    let state = ActiveState::parse(active);
    let (active, sub) = (active.to_string(), sub.to_string());
    let running = matches!(state, ActiveState::Active | ActiveState::Reloading);
    let pid = num(p, "MainPID").filter(|&n| n > 0).map(|n| n as u32);
    let started = num(p, "ExecMainStartTimestamp").filter(|&t| t > 0);
    let restarts = num(p, "NRestarts");
    let now = now_us();
    let word = state_word(&Observed {
        active: state,
        sub: &sub,
        restarts,
        main_started_us: started,
        main_exited_us: num(p, "ExecMainExitTimestamp").filter(|&t| t > 0),
        now_us: now,
    });
    // CPU, memory and tasks come from the unit's cgroup, the files systemd itself reads for
    // CPUUsageNSec, MemoryCurrent and TasksCurrent: three fewer D-Bus calls per instance.
    // Where the memory controller is off, memory.current is missing: sum the processes.
    let cg = pid.filter(|_| running).and_then(cgroup_of);
    let cg_file = |f: &str| {
        cg.as_ref()
            .and_then(|c| std::fs::read_to_string(format!("/sys/fs/cgroup{c}/{f}")).ok())
    };
    let cpu_ns = cg_file("cpu.stat").and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("usage_usec "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|us| us * 1000)
    });
    let tasks = cg_file("pids.current").and_then(|t| t.trim().parse::<u64>().ok());
    let memory = cg_file("memory.current")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .or_else(|| cg.as_deref().and_then(cgroup_rss));
    Instance {
        namespace: s.namespace.clone(),
        app: s.app.clone(),
        instance: i,
        unit,
        state: word,
        result: text(p, "Result"),
        pid,
        user: pid.and_then(user_of),
        restarts,
        started_at: started.map(rfc3339),
        uptime_ms: if running {
            started.map(|t| now.saturating_sub(t) / 1000)
        } else {
            None
        },
        cpu_ns,
        memory_bytes: memory,
        tasks,
        listen: s.installed.listen.clone(),
        watch: None,
        active_state: active,
        sub_state: sub,
    }
}

/// The status of every instance of the selected apps.
pub async fn collect(
    sd: &Systemd,
    selected: &[Selected],
) -> Result<Vec<Instance>, crate::systemd::Error> {
    let t0 = std::time::Instant::now();
    let mut patterns: Vec<String> = selected
        .iter()
        .map(|s| format!("{}-{}@*.service", s.namespace, s.app))
        .collect();
    patterns.extend(selected.iter().filter_map(|s| s.installed.watch.clone()));
    let loaded = if patterns.is_empty() {
        Default::default()
    } else {
        sd.list(&patterns).await?
    };
    let paths: Vec<(String, String)> = loaded
        .iter()
        .filter(|(n, _)| n.contains('@'))
        .map(|(n, (_, _, p))| (n.clone(), p.clone()))
        .collect();
    tracing::debug!("listed {} units in {:?}", loaded.len(), t0.elapsed());
    const SERVICE: &str = "org.freedesktop.systemd1.Service";
    let wanted = [
        (SERVICE, "Result"),
        (SERVICE, "MainPID"),
        (SERVICE, "NRestarts"),
        (SERVICE, "ExecMainStartTimestamp"),
    ];
    let mut props: std::collections::HashMap<String, Props> = sd
        .some_properties(&paths, &wanted)
        .await
        .into_iter()
        .collect();
    // An instance waiting to be restarted whose last process started over MIN_UPTIME ago:
    // only its exit time tells a crash at start (then a long restart_delay) from a death
    // after a while. Rare (during a crash loop the start is recent), so asked only then.
    let now = now_us();
    let waiting: Vec<(String, String)> = paths
        .iter()
        .filter(|(n, _)| {
            loaded
                .get(n)
                .is_some_and(|(_, sub, _)| sub == "auto-restart")
                && props
                    .get(n)
                    .and_then(|p| num(p, "ExecMainStartTimestamp"))
                    .is_some_and(|t| now.saturating_sub(t) >= MIN_UPTIME_US)
        })
        .cloned()
        .collect();
    if !waiting.is_empty() {
        for (n, p) in sd
            .some_properties(&waiting, &[(SERVICE, "ExecMainExitTimestamp")])
            .await
        {
            props.entry(n).or_default().extend(p);
        }
    }
    tracing::debug!("read their properties by {:?}", t0.elapsed());
    let mut out = Vec::new();
    for s in selected {
        let mut numbers = s.installed.instances.clone();
        // Instances still loaded beyond the wanted count (being stopped, or left by hand).
        for name in loaded.keys() {
            if let Some(i) = crate::names::UnitName::instance_of(name, &s.namespace, &s.app) {
                if !numbers.contains(&i) {
                    numbers.push(i);
                }
            }
        }
        numbers.sort_unstable();
        for i in numbers {
            if s.instance.is_some_and(|want| want != i) {
                continue;
            }
            let unit = crate::names::instance(&s.namespace, &s.app, i);
            let listed = loaded.get(&unit).map(|(a, b, _)| (a.as_str(), b.as_str()));
            let mut row = instance(s, i, listed, props.get(&unit));
            row.watch = s.installed.watch.as_ref().map(|w| {
                loaded
                    .get(w)
                    .map_or(Watching::Stopped, |(a, _, _)| Watching::from_active(a))
            });
            out.push(row);
        }
    }
    Ok(out)
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
}
