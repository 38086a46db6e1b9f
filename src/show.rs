//! `unitgen show`: one app in depth as a typed [`AppDetails`] that the command prints, and the
//! decisions it needs (units of limits, masked secrets, the reason of an exit) as pure
//! functions. [`crate::ops::show`] gathers it (systemd's properties over D-Bus, the environment
//! files, the journal).

use std::path::PathBuf;

use crate::adapters::systemd::{calendars, num, text, text_pairs, Props};
use crate::selector::Selected;
use crate::status::Instance;

/// Names of variables whose values are not printed: any name containing one of these.
const SECRET_PARTS: [&str; 11] = [
    "SECRET",
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "KEY",
    "CREDENTIAL",
    "PRIVATE",
    "AUTH",
    "DSN",
    "DATABASE_URL",
];

/// Is the value of variable `name` a secret (masked by `show`)?
pub fn secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    SECRET_PARTS.iter().any(|s| n.contains(s))
}

/// A variable as `show` prints it: the value, or `********` for a secret.
pub fn masked(name: &str, value: &str) -> String {
    if secret(name) {
        "********".into()
    } else {
        value.into()
    }
}

/// A size in bytes as people read it: `512 MiB`, `1.5 GiB`, `800 KiB`, `12 B`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else if (v - v.round()).abs() < 0.05 {
        format!("{:.0} {}", v, UNITS[i])
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// Microseconds as a duration: `90 s`, `1min 30s`, `100 ms`, `2h 5min`.
pub fn duration(us: u64) -> String {
    if us == 0 {
        return "0".into();
    }
    if us < 1_000_000 {
        return if us % 1000 == 0 {
            format!("{}ms", us / 1000)
        } else {
            format!("{us}us")
        };
    }
    let mut s = us / 1_000_000;
    let ms = (us % 1_000_000) / 1000;
    let mut parts = Vec::new();
    for (unit, len) in [("d", 86_400), ("h", 3600), ("min", 60)] {
        if s >= len {
            parts.push(format!("{}{unit}", s / len));
            s %= len;
        }
    }
    if s > 0 || ms > 0 {
        parts.push(if ms > 0 {
            format!("{s}.{ms:03}s")
        } else {
            format!("{s}s")
        });
    }
    parts.join(" ")
}

/// One limit, by its key in the ecosystem file, with a value in units that make sense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The ecosystem key (`memory_max`), or systemd's name where there is none.
    pub key: &'static str,
    /// The value: `512 MiB`, `4096 tasks`, `150%`, `1min 30s`, `none`.
    pub value: String,
}

/// The limits of a service, from its properties (systemd's values; unset is `none`).
pub fn limits(p: &Props) -> Vec<Limit> {
    let mut out = Vec::new();
    let bytes = |k: &str| num(p, k).map_or_else(|| "none".to_string(), size);
    out.push(Limit {
        key: "memory_max",
        value: bytes("MemoryMax"),
    });
    if num(p, "MemoryHigh").is_some() {
        out.push(Limit {
            key: "memory_high",
            value: bytes("MemoryHigh"),
        });
    }
    out.push(Limit {
        key: "cpu_quota",
        value: num(p, "CPUQuotaPerSecUSec")
            .map_or_else(|| "none".into(), |q| format!("{}%", q / 10_000)),
    });
    out.push(Limit {
        key: "tasks_max",
        value: num(p, "TasksMax").map_or_else(|| "none".into(), |n| format!("{n} tasks")),
    });
    if let Some(n) = num(p, "LimitNOFILE") {
        out.push(Limit {
            key: "open files",
            value: format!("{n} (LimitNOFILE)"),
        });
    }
    let dur = |k: &str| num(p, k).map_or_else(|| "none".to_string(), duration);
    out.push(Limit {
        key: "restart_delay",
        value: dur("RestartUSec"),
    });
    out.push(Limit {
        key: "listen_timeout",
        value: dur("TimeoutStartUSec"),
    });
    out.push(Limit {
        key: "kill_timeout",
        value: dur("TimeoutStopUSec"),
    });
    if let (Some(burst), Some(window)) =
        (num(p, "StartLimitBurst"), num(p, "StartLimitIntervalUSec"))
    {
        out.push(Limit {
            key: "max_restarts",
            value: format!("{burst} within {} (restart_window)", duration(window)),
        });
    }
    out
}

/// Why a main process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitReason {
    /// The kernel's OOM killer ended it (over `memory_max`, or the machine out of memory).
    OomKill,
    /// A signal ended it (`SIGKILL`, `SIGSEGV` …); `core` when it dumped core.
    Signal {
        /// The signal's name.
        name: String,
        /// It dumped core.
        core: bool,
    },
    /// It exited with this code.
    Code(i32),
    /// systemd gave up waiting (`listen_timeout` or `kill_timeout`).
    Timeout,
    /// Another of systemd's results (`watchdog`, `start-limit-hit`, `resources` …).
    Other(String),
}

impl std::fmt::Display for ExitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OomKill => f.write_str("killed by the OOM killer (out of memory: memory_max)"),
            Self::Signal { name, core: true } => write!(f, "killed by {name} (core dumped)"),
            Self::Signal { name, core: false } => write!(f, "killed by {name}"),
            Self::Code(c) => write!(f, "exited with code {c}"),
            Self::Timeout => f.write_str("timed out (listen_timeout or kill_timeout)"),
            Self::Other(r) => write!(f, "failed: {r}"),
        }
    }
}

/// The reason of an exit from systemd's record of it (journal `EXIT_CODE`, `EXIT_STATUS` and
/// the unit's result); `None` for a clean exit (code 0, or the stop signal after a stop).
pub fn exit_reason(code: &str, status: &str, result: Option<&str>) -> Option<ExitReason> {
    match result {
        Some("oom-kill") => return Some(ExitReason::OomKill),
        Some("timeout") => return Some(ExitReason::Timeout),
        _ => {}
    }
    let signal_name = |s: &str| {
        if s.starts_with("SIG") {
            s.to_string()
        } else {
            format!("SIG{s}")
        }
    };
    let reason = match code {
        "exited" => match status.parse::<i32>() {
            Ok(0) => None,
            Ok(c) => Some(ExitReason::Code(c)),
            Err(_) => None,
        },
        "killed" => Some(ExitReason::Signal {
            name: signal_name(status),
            core: false,
        }),
        "dumped" => Some(ExitReason::Signal {
            name: signal_name(status),
            core: true,
        }),
        _ => None,
    };
    match (reason, result) {
        // Stopped on purpose (SIGTERM after a stop) with a clean result: not a failure.
        (Some(ExitReason::Signal { .. }), None | Some("success")) => None,
        (Some(r), _) => Some(r),
        (None, Some(r)) if r != "success" => Some(ExitReason::Other(r.to_string())),
        (None, _) => None,
    }
}

/// An instance's last exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastExit {
    /// Why (`None`: it ended cleanly).
    pub reason: Option<ExitReason>,
    /// When, in RFC 3339.
    pub at: String,
}

/// One instance as `show` prints it.
#[derive(Debug, Clone)]
pub struct InstanceDetails {
    /// Its row of `status` (state, PID, CPU %, memory, restarts …).
    pub row: Instance,
    /// Its main process's last exit in this boot.
    pub last_exit: Option<LastExit>,
}

/// An environment file and what it holds (secrets masked).
#[derive(Debug, Clone)]
pub struct EnvFile {
    /// Its path.
    pub path: PathBuf,
    /// Its variables, or why they cannot be read.
    pub vars: Result<Vec<(String, String)>, String>,
}

/// An app's socket.
#[derive(Debug, Clone)]
pub struct SocketDetails {
    /// The unit.
    pub unit: String,
    /// Its file.
    pub file: Option<String>,
    /// What it listens on (`[::]:3000 (Stream)`).
    pub listen: Vec<String>,
}

/// An app's scheduled-restart timer.
#[derive(Debug, Clone)]
pub struct TimerDetails {
    /// The unit.
    pub unit: String,
    /// Its file.
    pub file: Option<String>,
    /// Its calendar specs.
    pub schedule: Vec<String>,
    /// When it fires next, in RFC 3339.
    pub next: Option<String>,
}

/// One app in depth.
#[derive(Debug, Clone)]
pub struct AppDetails {
    /// `ns/app`.
    pub name: String,
    /// Some instance is crashing or errored: its reason and error lines come first.
    pub failing: bool,
    /// The app's last error lines (what it wrote to stderr, newest last), for a failing app.
    pub errors: Vec<String>,
    /// The command line as systemd runs it (`ExecStart=`).
    pub exec_start: Vec<String>,
    /// The app's own command: what follows systemd-cat's `--`.
    pub command: Vec<String>,
    /// The working directory.
    pub cwd: Option<String>,
    /// Who runs it: the user (and group), or `dynamic`.
    pub user: String,
    /// The unit file and its drop-ins.
    pub unit_file: Option<String>,
    /// Drop-ins (`systemctl edit`).
    pub drop_ins: Vec<String>,
    /// The socket unit.
    pub socket: Option<SocketDetails>,
    /// The scheduled-restart timer.
    pub timer: Option<TimerDetails>,
    /// Limits.
    pub limits: Vec<Limit>,
    /// The environment files, in the order systemd reads them (later ones win).
    pub env: Vec<EnvFile>,
    /// `Environment=` lines of the unit and its drop-ins (secrets masked).
    pub environment: Vec<(String, String)>,
    /// The instances.
    pub instances: Vec<InstanceDetails>,
    /// Whether the kernel can enforce memory limits here (the cgroup memory controller).
    pub memory_controller: bool,
    /// journald's rate limit of its lines (`log_rate_limit`), in words.
    pub log_limit: Option<String>,
    /// The app's watcher and its state (`watch`).
    pub watch: Option<(String, crate::status::Watching)>,
    /// What journald dropped of its instances' lines past the rate limit.
    pub dropped: crate::adapters::journal::Suppressed,
    /// The last log lines (with a failing app, its error lines first).
    pub logs: String,
}

/// The app's own command in a `systemd-cat … -- app args` line (the line itself otherwise).
pub fn own_command(argv: &[String]) -> Vec<String> {
    let wrapped = argv
        .first()
        .is_some_and(|a| a.rsplit('/').next() == Some("systemd-cat"));
    match argv.iter().position(|a| a == "--") {
        Some(i) if wrapped => argv[i + 1..].to_vec(),
        _ => argv.to_vec(),
    }
}

/// The app's socket unit: its file and what it listens on (as the file says, while systemd
/// has not loaded it).
pub(crate) fn socket(unit: &str, sp: &Props, s: &Selected) -> SocketDetails {
    let listen: Vec<String> = text_pairs(sp, "Listen")
        .into_iter()
        .map(|(kind, addr)| format!("{addr} ({kind})"))
        .collect();
    SocketDetails {
        unit: unit.to_string(),
        file: text(sp, "FragmentPath").filter(|f| !f.is_empty()),
        listen: if listen.is_empty() {
            s.installed.listen.clone()
        } else {
            listen
        },
    }
}

/// The app's timer unit: its file, schedule and next run.
pub(crate) fn timer(unit: &str, tp: &Props) -> TimerDetails {
    TimerDetails {
        unit: unit.to_string(),
        file: text(tp, "FragmentPath").filter(|f| !f.is_empty()),
        schedule: calendars(tp),
        next: num(tp, "NextElapseUSecRealtime")
            .filter(|&t| t > 0)
            .map(crate::status::rfc3339),
    }
}

/// Who the app runs as, in words.
pub(crate) fn who(p: &Props, user_manager: bool) -> String {
    let dynamic = p
        .get("DynamicUser")
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(false);
    if dynamic {
        return "dynamic (a transient user of its own)".to_string();
    }
    let u = text(p, "User").filter(|u| !u.is_empty());
    let g = text(p, "Group").filter(|g| !g.is_empty());
    match (u, g, user_manager) {
        (Some(u), Some(g), _) => format!("{u} (group {g})"),
        (Some(u), None, _) => u,
        (None, _, true) => "you (the user manager)".into(),
        (None, _, false) => "root".into(),
    }
}

/// The journal's rate limit of the app, in words.
pub(crate) fn log_limit(p: &Props) -> Option<String> {
    match (
        num(p, "LogRateLimitIntervalUSec"),
        num(p, "LogRateLimitBurst"),
    ) {
        (Some(0), _) => Some("none".to_string()),
        (Some(us), Some(n)) if n > 0 => Some(format!(
            "{n} lines per {} (journald drops the rest)",
            crate::core::config::Duration(us / 1000)
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_as_people_write_them() {
        assert_eq!(size(512 << 20), "512 MiB");
        assert_eq!(size(3 << 29), "1.5 GiB");
        assert_eq!(size(12), "12 B");
        assert_eq!(duration(90_000_000), "1min 30s");
        assert_eq!(duration(100_000), "100ms");
        assert_eq!(duration(7_500_000_000), "2h 5min");
        assert_eq!(duration(1_500_000), "1.500s");
    }

    #[test]
    fn tasks_max_is_a_count_and_memory_is_in_mib() {
        let mut p = Props::new();
        p.insert("TasksMax".into(), zbus::OwnedVariant::from(28909u64));
        p.insert("MemoryMax".into(), zbus::OwnedVariant::from(500u64 << 20));
        let l = limits(&p);
        let get = |k: &str| l.iter().find(|l| l.key == k).unwrap().value.clone();
        assert_eq!(get("tasks_max"), "28909 tasks");
        assert_eq!(get("memory_max"), "500 MiB");
        assert_eq!(get("cpu_quota"), "none");
    }

    #[test]
    fn exit_reasons_name_the_cause() {
        assert_eq!(
            exit_reason("killed", "KILL", Some("oom-kill")),
            Some(ExitReason::OomKill)
        );
        assert_eq!(
            exit_reason("exited", "1", Some("exit-code")),
            Some(ExitReason::Code(1))
        );
        assert_eq!(
            exit_reason("dumped", "SEGV", Some("core-dump")),
            Some(ExitReason::Signal {
                name: "SIGSEGV".into(),
                core: true
            })
        );
        // A stop's SIGTERM, or a clean exit, is no failure.
        assert_eq!(exit_reason("killed", "TERM", None), None);
        assert_eq!(exit_reason("exited", "0", None), None);
        assert_eq!(
            exit_reason("", "", Some("start-limit-hit")),
            Some(ExitReason::Other("start-limit-hit".into()))
        );
    }

    #[test]
    fn secrets_are_masked_and_the_own_command_follows_systemd_cat() {
        assert_eq!(masked("API_TOKEN", "abc"), "********");
        assert_eq!(masked("STRIPE_KEY", "abc"), "********");
        assert_eq!(masked("NODE_ENV", "production"), "production");
        let argv: Vec<String> = [
            "/usr/bin/systemd-cat",
            "--identifier=p-api",
            "--",
            "node",
            "a.js",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(own_command(&argv), ["node", "a.js"]);
    }
}
