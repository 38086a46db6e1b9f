//! Reading the state of every instance: systemd's unit list and a few properties per instance,
//! fetched as one round of concurrent D-Bus calls, plus the counters of each instance's cgroup
//! and, for restarts, the journal. The rows and the words they use are [`crate::status`]'s.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::adapters::systemd::{num, text, ActiveState, Listed, Props, Systemd};
use crate::selector::Selected;
use crate::status::{
    rfc3339, state_word, Figures, Instance, MemorySource, Observed, Report, Watching, MIN_UPTIME_US,
};

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
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

/// Who a process runs as: the owner of its /proc entry, by name where the user database has
/// one (each uid looked up once: the lookup reads the user database).
fn user_of(pid: u32, names: &mut std::collections::HashMap<u32, String>) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata(format!("/proc/{pid}")).ok()?.uid();
    Some(
        names
            .entry(uid)
            .or_insert_with(|| {
                nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                    .ok()
                    .flatten()
                    .map_or_else(|| uid.to_string(), |u| u.name)
            })
            .clone(),
    )
}

/// When a process started, in µs since the epoch: its start in /proc (clock ticks since boot)
/// plus the time of the boot. What systemd records as ExecMainStartTimestamp, to a tick.
fn process_start_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22, counted after the command's closing parenthesis (field 2).
    let ticks: u64 = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&h| h > 0)? as u64;
    let boot = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).ok()?;
    let since_boot_us = boot.tv_sec() as u64 * 1_000_000 + boot.tv_nsec() as u64 / 1000;
    let booted_at = now_us().checked_sub(since_boot_us)?;
    Some(booted_at + ticks * 1_000_000 / hz)
}

/// The cgroup of a process, from /proc (cgroup v2's single line).
fn cgroup_of(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_string)
}

/// A cgroup's CPU counter (cpu.stat's usage_usec) in nanoseconds.
fn cpu_usage_ns(cgroup: &str) -> Option<u64> {
    let t = std::fs::read_to_string(format!("/sys/fs/cgroup{cgroup}/cpu.stat")).ok()?;
    t.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|us| us * 1000)
}

/// One row; `listed` is the (active, sub) state from the unit list, `None` when not loaded.
/// Returns the row and the instance's cgroup (where it runs), for a second CPU reading.
fn instance(
    s: &Selected,
    i: u32,
    listed: Option<&Listed>,
    props: Option<&Props>,
    epoch: std::time::Instant,
    users: &mut std::collections::HashMap<u32, String>,
) -> (Instance, Option<(String, std::time::Duration)>) {
    let unit = crate::core::names::instance(&s.namespace, &s.app, i);
    let empty = Props::new();
    let p = props.unwrap_or(&empty);
    let state = listed.map_or(ActiveState::Inactive, |l| l.active);
    let sub = listed.map_or_else(|| "dead".to_string(), |l| l.sub.clone());
    let active = state.as_str().to_string();
    let running = matches!(state, ActiveState::Active | ActiveState::Reloading);
    let pid = num(p, "MainPID").filter(|&n| n > 0).map(|n| n as u32);
    let started = num(p, "ExecMainStartTimestamp")
        .filter(|&t| t > 0)
        .or_else(|| pid.filter(|_| running).and_then(process_start_us));
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
    let cpu_ns = cg.as_deref().and_then(cpu_usage_ns);
    let read_at = epoch.elapsed();
    let tasks = cg_file("pids.current").and_then(|t| t.trim().parse::<u64>().ok());
    let (memory, memory_source) =
        match cg_file("memory.current").and_then(|t| t.trim().parse::<u64>().ok()) {
            Some(m) => (Some(m), Some(MemorySource::Cgroup)),
            None => match cg.as_deref().and_then(cgroup_rss) {
                Some(m) => (Some(m), Some(MemorySource::Rss)),
                None => (None, None),
            },
        };
    let row = Instance {
        namespace: s.namespace.clone(),
        app: s.app.clone(),
        instance: i,
        unit,
        state: word,
        result: text(p, "Result").or_else(|| running.then(|| "success".to_string())),
        pid,
        user: pid.and_then(|p| user_of(p, users)),
        restarts,
        auto_restarts: restarts,
        started_at: started.map(rfc3339),
        uptime_ms: if running {
            started.map(|t| now.saturating_sub(t) / 1000)
        } else {
            None
        },
        cpu_ns,
        cpu_percent: None,
        memory_bytes: memory,
        memory_source,
        tasks,
        listen: s.installed.listen.clone(),
        watch: None,
        active_state: active,
        sub_state: sub,
    };
    let reading = cg.filter(|_| cpu_ns.is_some()).map(|c| (c, read_at));
    (row, reading)
}

/// The status of every instance of the selected apps, from one round of calls (CPU % is left
/// out and restarts are systemd's automatic ones: see [`collect_figures`]).
pub async fn collect(
    sd: &Systemd,
    selected: &[Selected],
) -> Result<Vec<Instance>, crate::adapters::systemd::Error> {
    Ok(collect_figures(sd, selected, Figures::default())
        .await?
        .instances)
}

/// The status of every instance of the selected apps, with the `figures` asked for.
pub async fn collect_figures(
    sd: &Systemd,
    selected: &[Selected],
    figures: Figures,
) -> Result<Report, crate::adapters::systemd::Error> {
    let t0 = std::time::Instant::now();
    let loaded = list(sd, selected).await?;
    tracing::debug!("listed {} units in {:?}", loaded.len(), t0.elapsed());
    let early = if figures.cpu_window.is_some() && !sd.is_user() {
        first_cpu_readings(&loaded, selected, t0)
    } else {
        Default::default()
    };
    let journal = figures
        .all_restarts
        .then(|| read_starts(&loaded, selected, sd.is_user()));
    let props = properties(sd, &loaded).await;
    tracing::debug!("read their properties by {:?}", t0.elapsed());
    let (mut out, readings) = rows(selected, &loaded, &props, t0);
    tracing::debug!("read the cgroups by {:?}", t0.elapsed());
    if let Some(window) = figures.cpu_window {
        cpu_figures(&mut out, &readings, &early, window, t0).await;
    }
    let restarts_partial = journal.and_then(|j| count_restarts(&mut out, j));
    tracing::debug!("done by {:?}", t0.elapsed());
    Ok(Report {
        instances: out,
        restarts_partial,
    })
}

/// The loaded instances and watchers of the selected apps.
async fn list(
    sd: &Systemd,
    selected: &[Selected],
) -> Result<BTreeMap<String, Listed>, crate::adapters::systemd::Error> {
    let mut patterns: Vec<String> = selected
        .iter()
        .map(|s| format!("{}-{}@*.service", s.namespace, s.app))
        .collect();
    patterns.extend(selected.iter().filter_map(|s| s.installed.watch.clone()));
    if patterns.is_empty() {
        return Ok(Default::default());
    }
    sd.list(&patterns).await
}

/// A cgroup's CPU time (ns) and when it was read, since the start of the command.
type CpuReading = (u64, std::time::Duration);

/// CPU's first reading, before the calls to systemd so that the window overlaps them: the
/// cgroup of a system unit of namespace NS is /unitgen.slice/unitgen-NS.slice/UNIT (used only
/// where it is the main process's own cgroup; the user manager's are read later).
fn first_cpu_readings(
    loaded: &BTreeMap<String, Listed>,
    selected: &[Selected],
    t0: std::time::Instant,
) -> HashMap<String, CpuReading> {
    let mut early = HashMap::new();
    for (name, listed) in loaded {
        if !listed.active.is_running() {
            continue;
        }
        let Some(ns) = selected
            .iter()
            .find(|s| name.starts_with(&format!("{}-{}@", s.namespace, s.app)))
            .map(|s| &s.namespace)
        else {
            continue;
        };
        let cg = format!("/unitgen.slice/{}/{name}", crate::core::names::slice(ns));
        if let Some(ns) = cpu_usage_ns(&cg) {
            early.insert(cg, (ns, t0.elapsed()));
        }
    }
    early
}

/// The journal's record of starts, read meanwhile on a thread of its own.
type Starts =
    std::thread::JoinHandle<Result<HashMap<String, crate::adapters::journal::Starts>, String>>;

/// Read the starts of every loaded or installed instance on a thread.
fn read_starts(loaded: &BTreeMap<String, Listed>, selected: &[Selected], user: bool) -> Starts {
    let mut units: Vec<String> = loaded.keys().cloned().collect();
    for s in selected {
        for &i in &s.installed.instances {
            let u = crate::core::names::instance(&s.namespace, &s.app, i);
            if !loaded.contains_key(&u) {
                units.push(u);
            }
        }
    }
    std::thread::spawn(move || match crate::adapters::journal::unreadable(user) {
        Some(_) => Err("the journal is not readable by this user".to_string()),
        None => crate::adapters::journal::starts(&units, user),
    })
}

const SERVICE: &str = "org.freedesktop.systemd1.Service";

/// The properties of the loaded instances, in as few calls as they need.
async fn properties(sd: &Systemd, loaded: &BTreeMap<String, Listed>) -> HashMap<String, Props> {
    let paths: Vec<(String, String)> = loaded
        .iter()
        .filter(|(n, _)| n.contains('@'))
        .map(|(n, l)| (n.clone(), l.path.clone()))
        .collect();
    let wanted = [
        (SERVICE, "Result"),
        (SERVICE, "MainPID"),
        (SERVICE, "NRestarts"),
        (SERVICE, "ExecMainStartTimestamp"),
    ];
    // A running instance needs half the calls: systemd resets Result to success when it starts
    // a unit, and its main process's start is in /proc (see `instance`).
    type Paths = Vec<(String, String)>;
    let (running, rest): (Paths, Paths) = paths.iter().cloned().partition(|(n, _)| {
        loaded
            .get(n)
            .is_some_and(|l| matches!(l.active, ActiveState::Active | ActiveState::Reloading))
    });
    let (a, b) = futures_util::future::join(
        sd.some_properties(&running, &wanted[1..3]),
        sd.some_properties(&rest, &wanted),
    )
    .await;
    let mut props: HashMap<String, Props> = a.into_iter().chain(b).collect();
    // An instance waiting to be restarted whose last process started over MIN_UPTIME ago:
    // only its exit time tells a crash at start (then a long restart_delay) from a death
    // after a while. Rare (during a crash loop the start is recent), so asked only then.
    let now = now_us();
    let waiting: Paths = paths
        .iter()
        .filter(|(n, _)| {
            loaded.get(n).is_some_and(|l| l.sub == "auto-restart")
                && props
                    .get(n)
                    .and_then(|p| num(p, "ExecMainStartTimestamp"))
                    .is_some_and(|t| now.saturating_sub(t) >= MIN_UPTIME_US)
        })
        .cloned()
        .collect();
    // A running instance that systemd restarted: whether it is crashing depends on its start,
    // which /proc no longer has if it died since. Rare too (NRestarts > 0), so asked only then.
    let restarted: Paths = running
        .iter()
        .filter(|(n, _)| {
            props
                .get(n)
                .and_then(|p| num(p, "NRestarts"))
                .is_some_and(|r| r > 0)
        })
        .cloned()
        .collect();
    if !waiting.is_empty() || !restarted.is_empty() {
        let (a, b) = futures_util::future::join(
            sd.some_properties(&waiting, &[(SERVICE, "ExecMainExitTimestamp")]),
            sd.some_properties(&restarted, &[(SERVICE, "ExecMainStartTimestamp")]),
        )
        .await;
        for (n, p) in a.into_iter().chain(b) {
            props.entry(n).or_default().extend(p);
        }
    }
    props
}

/// One row per wanted or still loaded instance, and where its CPU was read (cgroup, when).
fn rows(
    selected: &[Selected],
    loaded: &BTreeMap<String, Listed>,
    props: &HashMap<String, Props>,
    t0: std::time::Instant,
) -> (Vec<Instance>, Vec<Option<(String, std::time::Duration)>>) {
    let mut out = Vec::new();
    let mut readings = Vec::new();
    let mut users = HashMap::new();
    for s in selected {
        let mut numbers = s.installed.instances.clone();
        // Instances still loaded beyond the wanted count (being stopped, or left by hand).
        for name in loaded.keys() {
            if let Some(i) = crate::core::names::UnitName::instance_of(name, &s.namespace, &s.app) {
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
            let unit = crate::core::names::instance(&s.namespace, &s.app, i);
            let (mut row, reading) =
                instance(s, i, loaded.get(&unit), props.get(&unit), t0, &mut users);
            row.watch = s.installed.watch.as_ref().map(|w| {
                loaded
                    .get(w)
                    .map_or(Watching::Stopped, |l| Watching::from_active(l.active))
            });
            readings.push(reading);
            out.push(row);
        }
    }
    (out, readings)
}

/// CPU % of each row: the earlier of the two readings so far is the first; where the window
/// has passed since, the figure is there; the others are read once more when it has.
async fn cpu_figures(
    out: &mut [Instance],
    readings: &[Option<(String, std::time::Duration)>],
    early: &HashMap<String, CpuReading>,
    window: std::time::Duration,
    t0: std::time::Instant,
) {
    let mut pending = Vec::new();
    for (k, (row, reading)) in out.iter_mut().zip(readings).enumerate() {
        let (Some((cg, at)), Some(now)) = (reading, row.cpu_ns) else {
            continue;
        };
        let first = early
            .get(cg)
            .copied()
            .filter(|(ns, _)| *ns <= now)
            .unwrap_or((now, *at));
        let figure = (at.saturating_sub(first.1) >= window)
            .then(|| crate::monit::model::cpu_percent(first, (now, *at)))
            .flatten();
        match figure {
            Some(p) => row.cpu_percent = Some(p),
            None => pending.push((k, cg.to_string(), first)),
        }
    }
    if let Some(last) = pending.iter().map(|(_, _, (_, at))| *at).max() {
        crate::adapters::systemd::sleep((last + window).saturating_sub(t0.elapsed())).await;
    }
    for (k, cg, first) in pending {
        if let Some(now) = cpu_usage_ns(&cg) {
            out[k].cpu_percent = crate::monit::model::cpu_percent(first, (now, t0.elapsed()));
            out[k].cpu_ns = Some(now);
        }
    }
}

/// Count every restart of this boot from the journal's starts (never below systemd's own
/// count); why not, when the journal could not be read.
fn count_restarts(out: &mut [Instance], journal: Starts) -> Option<String> {
    match journal.join() {
        Ok(Ok(starts)) => {
            for row in out {
                let counted = starts.get(&row.unit).map(|s| s.restarts());
                row.restarts = match (counted, row.auto_restarts) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            None
        }
        Ok(Err(e)) => Some(e),
        Err(_) => Some("reading the journal failed".into()),
    }
}
