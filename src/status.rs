//! The state of every instance: systemd's unit list and a few properties per instance, fetched
//! as one round of concurrent D-Bus calls, plus the counters of each instance's cgroup.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::selector::Selected;
use crate::systemd::{num, text, Props, Systemd};

/// One instance, as `status --json` prints it. A value systemd cannot give is `null`.
#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    /// Namespace.
    pub namespace: String,
    /// App.
    pub app: String,
    /// Instance number.
    pub instance: u32,
    /// The unit, such as `prod-api@1.service`.
    pub unit: String,
    /// `online`, `stopped`, `errored`, `starting` or `stopping`.
    pub state: &'static str,
    /// systemd's ActiveState.
    pub active_state: String,
    /// systemd's SubState.
    pub sub_state: String,
    /// systemd's Result of the last run.
    pub result: Option<String>,
    /// The main process.
    pub pid: Option<u32>,
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
}

/// A PM2 user's word for systemd's state.
pub fn state_word(active: &str, sub: &str) -> &'static str {
    match (active, sub) {
        ("active", _) | ("reloading", _) => "online",
        ("activating", _) => "starting",
        ("deactivating", _) => "stopping",
        ("failed", _) => "errored",
        _ => "stopped",
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
    let (active, sub) = (active.to_string(), sub.to_string());
    let running = active == "active" || active == "reloading";
    let pid = num(p, "MainPID").filter(|&n| n > 0).map(|n| n as u32);
    let started = num(p, "ExecMainStartTimestamp").filter(|&t| t > 0);
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
        state: state_word(&active, &sub),
        result: text(p, "Result"),
        pid,
        restarts: num(p, "NRestarts"),
        started_at: started.map(rfc3339),
        uptime_ms: if running {
            started.map(|t| now_us().saturating_sub(t) / 1000)
        } else {
            None
        },
        cpu_ns,
        memory_bytes: memory,
        tasks,
        listen: s.installed.listen.clone(),
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
    let patterns: Vec<String> = selected
        .iter()
        .map(|s| format!("{}-{}@*.service", s.namespace, s.app))
        .collect();
    let loaded = if patterns.is_empty() {
        Default::default()
    } else {
        sd.list(&patterns).await?
    };
    let paths: Vec<(String, String)> = loaded
        .iter()
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
    let props: std::collections::HashMap<String, Props> = sd
        .some_properties(&paths, &wanted)
        .await
        .into_iter()
        .collect();
    tracing::debug!("read their properties by {:?}", t0.elapsed());
    let mut out = Vec::new();
    for s in selected {
        let mut numbers = s.installed.instances.clone();
        // Instances still loaded beyond the wanted count (being stopped, or left by hand).
        let prefix = format!("{}-{}@", s.namespace, s.app);
        for name in loaded.keys() {
            if let Some(i) = name
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(".service"))
                .and_then(|i| i.parse().ok())
            {
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
            out.push(instance(s, i, listed, props.get(&unit)));
        }
    }
    Ok(out)
}
