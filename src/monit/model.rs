//! The state of `unitgen monit`'s screen and every decision about it: rows from two samples of
//! systemd's state (CPU % is the difference of two cgroup counters over the time between
//! them), which row is selected, which units' logs to follow, what a key does, what a running
//! action has done so far. No terminal, no systemd, no clock: the command feeds it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use crate::adapters::systemd::Verb;
use crate::selector::Selected;
use crate::status::Instance;

use super::input::Action;

/// How many log lines the model keeps (the screen shows the last ones that fit).
pub const LOG_KEEP: usize = 500;

/// Two samples closer than this give no new CPU figure (too noisy): the last one stays.
pub const CPU_WINDOW_MIN: Duration = Duration::from_millis(500);

/// One app of one namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppKey {
    /// The namespace.
    pub namespace: String,
    /// The app.
    pub app: String,
}

impl AppKey {
    /// The app a selection names.
    pub fn of(s: &Selected) -> Self {
        AppKey {
            namespace: s.namespace.clone(),
            app: s.app.clone(),
        }
    }
}

impl fmt::Display for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.app)
    }
}

/// What a key does to the selected app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Every instance at once.
    Restart,
    /// Rolling: one instance after the other (`ops::roll`).
    Reload,
    /// Every instance, and the socket.
    Stop,
    /// The socket and every instance.
    Start,
}

impl Op {
    /// The verb.
    pub fn word(self) -> &'static str {
        match self {
            Op::Restart => "restart",
            Op::Reload => "reload",
            Op::Stop => "stop",
            Op::Start => "start",
        }
    }

    /// The verb, under way.
    pub fn doing(self) -> &'static str {
        match self {
            Op::Restart => "restarting",
            Op::Reload => "reloading",
            Op::Stop => "stopping",
            Op::Start => "starting",
        }
    }

    /// The verb, done.
    pub fn done(self) -> &'static str {
        match self {
            Op::Restart => "restarted",
            Op::Reload => "reloaded",
            Op::Stop => "stopped",
            Op::Start => "started",
        }
    }
}

/// The systemd jobs of a restart, stop or start of a selection, as `unitgen restart|stop|start`
/// runs them: the socket goes with the app unless one instance was named (stopped, a socket
/// would start the app again at the next connection). A reload is a roll, not jobs: empty.
pub fn jobs(op: Op, s: &Selected) -> Vec<(String, Verb)> {
    let socket = s
        .installed
        .socket
        .iter()
        .filter(|_| s.instance.is_none())
        .cloned();
    let units = s.instance_units();
    match op {
        Op::Restart => units.into_iter().map(|u| (u, Verb::Restart)).collect(),
        Op::Stop => units
            .into_iter()
            .chain(socket)
            .map(|u| (u, Verb::Stop))
            .collect(),
        Op::Start => socket.chain(units).map(|u| (u, Verb::Start)).collect(),
        Op::Reload => Vec::new(),
    }
}

/// A recent CPU figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cpu {
    /// Percent of one core over the time between the last two samples.
    Percent(f64),
    /// One sample so far (or a new process): the figure comes with the next.
    Pending,
    /// None can be had: not running, or no `cpu.stat` in its cgroup.
    Unknown,
}

/// CPU % of one core from two readings of a cgroup's `usage_usec` (in ns) and when they were
/// taken; `None` when the counter went back (a new cgroup) or no time passed.
pub fn cpu_percent(before: (u64, Duration), now: (u64, Duration)) -> Option<f64> {
    let dt = now.1.checked_sub(before.1)?;
    if dt.is_zero() {
        return None;
    }
    let used = now.0.checked_sub(before.0)?;
    Some(used as f64 * 100.0 / dt.as_nanos() as f64)
}

/// One instance on the screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Its app.
    pub key: AppKey,
    /// Its number.
    pub instance: u32,
    /// Its unit.
    pub unit: String,
    /// `online`, `stopped`, `errored`, … (status's word).
    pub state: crate::status::State,
    /// The main process.
    pub pid: Option<u32>,
    /// CPU % of one core, recently.
    pub cpu: Cpu,
    /// Memory in bytes.
    pub memory: Option<u64>,
    /// systemd's restarts.
    pub restarts: Option<u64>,
    /// Since it became active.
    pub uptime_ms: Option<u64>,
    /// Processes and threads.
    pub tasks: Option<u64>,
    /// What its socket listens on.
    pub listen: Vec<String>,
}

impl Row {
    /// `ns/app@N`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.key, self.instance)
    }
}

/// One reading of systemd's state.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When the cgroup counters were read, from any fixed start.
    pub at: Duration,
    /// The apps shown.
    pub apps: Vec<Selected>,
    /// Their instances (`status::collect`).
    pub instances: Vec<Instance>,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// `HH:MM:SS`, UTC.
    pub time: String,
    /// The instance it is about.
    pub instance: Option<u32>,
    /// The message, control characters removed.
    pub text: String,
    /// Written to standard error (priority err or worse).
    pub error: bool,
    /// systemd's message about the unit, not the app's own line.
    pub systemd: bool,
}

/// The instance number of `unit` when it is an instance of the app whose units start `stem`.
fn instance_of(unit: &str, stem: &str) -> Option<u32> {
    use crate::core::names::{app_stem, UnitKind, UnitName};
    match UnitName::parse(unit)? {
        UnitName {
            namespace,
            app: Some(app),
            kind: UnitKind::Instance(i),
        } if app_stem(&namespace, &app) == stem => Some(i),
        _ => None,
    }
}

/// A message as one line a terminal shows as is: tabs as spaces, escapes and other control
/// characters dropped (an app's colored output would move the cursor).
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push_str("    "),
            '\n' | '\r' => out.push(' '),
            '\x1b' => {
                // CSI: ESC [ params final-byte; other escapes: ESC and one character.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&d) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.trim_end().to_string()
}

/// One entry of `journalctl -o json` about the units of the app `stem` (`ns-app`).
pub fn parse_log(json: &str, stem: &str) -> Option<LogLine> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let field = |k: &str| crate::adapters::journal::field(&v, k);
    let either = |a: &str, b: &str| {
        let s = field(a);
        if s.is_empty() {
            field(b)
        } else {
            s
        }
    };
    let own = either("_SYSTEMD_UNIT", "_SYSTEMD_USER_UNIT");
    let (instance, systemd) = match instance_of(&own, stem) {
        Some(i) => (Some(i), false),
        None => (instance_of(&either("UNIT", "USER_UNIT"), stem), true),
    };
    let time = field("__REALTIME_TIMESTAMP")
        .parse::<u64>()
        .ok()
        .map(|us| crate::status::rfc3339(us)[11..19].to_string())
        .unwrap_or_default();
    Some(LogLine {
        time,
        instance,
        text: clean(&field("MESSAGE")),
        error: field("PRIORITY").parse::<u8>().is_ok_and(|p| p <= 3),
        systemd,
    })
}

/// The units whose journal to follow, for one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTarget {
    /// The app.
    pub app: AppKey,
    /// Its instance units, the spare of a reload included.
    pub units: Vec<String>,
}

/// What the command must do after an action.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Restore the terminal and exit.
    Quit,
    /// Clear the terminal and draw everything again.
    Redraw,
    /// Run an action on an app, on a thread of its own.
    Run(Op, Selected),
}

/// An action under way on an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// What.
    pub op: Op,
    /// Where it is.
    pub step: String,
}

/// A message in the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The text.
    pub text: String,
    /// An error.
    pub error: bool,
}

#[derive(Debug, Clone, Copy)]
struct Reading {
    pid: u32,
    cpu_ns: u64,
    at: Duration,
}

/// Everything the screen shows.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// What is watched: "all apps", "namespace prod", "prod/api".
    pub scope: String,
    /// How often systemd is asked.
    pub interval: Duration,
    /// Colors (off with --color never or NO_COLOR).
    pub color: bool,
    /// The apps shown.
    pub apps: Vec<Selected>,
    /// One per instance.
    pub rows: Vec<Row>,
    /// The selected row.
    pub selected: usize,
    /// The first row on the screen.
    pub offset: usize,
    /// How many rows the table shows.
    pub page: usize,
    /// Whose logs [`Model::logs`] holds.
    pub log_app: Option<AppKey>,
    /// The last log lines of that app.
    pub logs: VecDeque<LogLine>,
    /// Actions under way.
    pub jobs: BTreeMap<AppKey, Job>,
    /// The last message.
    pub note: Option<Note>,
    /// A running instance has no `cpu.stat` to read.
    pub cpu_missing: bool,
    /// Reading systemd's state failed, and why.
    pub error: Option<String>,
    /// A sample has come.
    pub ready: bool,
    /// The help is shown.
    pub help: bool,
    readings: HashMap<String, Reading>,
}

impl Model {
    /// An empty screen.
    pub fn new(scope: impl Into<String>, interval: Duration, color: bool) -> Self {
        Model {
            scope: scope.into(),
            interval,
            color,
            page: 1,
            ..Default::default()
        }
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }

    /// The app of the selected row, as installed.
    pub fn selected_app(&self) -> Option<&Selected> {
        let key = &self.selected_row()?.key;
        self.apps.iter().find(|s| &AppKey::of(s) == key)
    }

    /// A new reading of systemd's state.
    pub fn sample(&mut self, s: Sample) {
        let keep = self.selected_row().map(|r| r.unit.clone());
        let old: HashMap<&str, Cpu> = self.rows.iter().map(|r| (r.unit.as_str(), r.cpu)).collect();
        let mut readings = HashMap::new();
        let mut missing = false;
        let mut rows = Vec::with_capacity(s.instances.len());
        for i in &s.instances {
            let cpu = match (i.pid, i.cpu_ns) {
                (Some(pid), Some(cpu_ns)) => {
                    let now = Reading {
                        pid,
                        cpu_ns,
                        at: s.at,
                    };
                    match self.readings.get(&i.unit).filter(|r| r.pid == pid) {
                        Some(before) if s.at.saturating_sub(before.at) < CPU_WINDOW_MIN => {
                            readings.insert(i.unit.clone(), *before);
                            old.get(i.unit.as_str()).copied().unwrap_or(Cpu::Pending)
                        }
                        Some(before) => {
                            readings.insert(i.unit.clone(), now);
                            cpu_percent((before.cpu_ns, before.at), (cpu_ns, s.at))
                                .map_or(Cpu::Pending, Cpu::Percent)
                        }
                        None => {
                            readings.insert(i.unit.clone(), now);
                            Cpu::Pending
                        }
                    }
                }
                (Some(_), None) => {
                    missing |= i.state == crate::status::State::Online;
                    Cpu::Unknown
                }
                _ => Cpu::Unknown,
            };
            rows.push(Row {
                key: AppKey {
                    namespace: i.namespace.clone(),
                    app: i.app.clone(),
                },
                instance: i.instance,
                unit: i.unit.clone(),
                state: i.state,
                pid: i.pid,
                cpu,
                memory: i.memory_bytes,
                restarts: i.restarts,
                uptime_ms: i.uptime_ms,
                tasks: i.tasks,
                listen: i.listen.clone(),
            });
        }
        self.readings = readings;
        self.rows = rows;
        self.apps = s.apps;
        self.cpu_missing = missing;
        self.error = None;
        self.ready = true;
        self.selected = keep
            .and_then(|u| self.rows.iter().position(|r| r.unit == u))
            .unwrap_or(self.selected)
            .min(self.rows.len().saturating_sub(1));
        self.keep_visible(self.page);
    }

    /// Reading systemd's state failed; the last rows stay.
    pub fn sample_failed(&mut self, why: String) {
        self.error = Some(why);
    }

    /// Scroll so that the selected row is among the `page` rows shown.
    pub fn keep_visible(&mut self, page: usize) {
        self.page = page.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + self.page {
            self.offset = self.selected + 1 - self.page;
        }
        self.offset = self.offset.min(self.rows.len().saturating_sub(self.page));
    }

    fn select(&mut self, to: usize) {
        self.selected = to.min(self.rows.len().saturating_sub(1));
        self.keep_visible(self.page);
    }

    /// What a key asked for: the model changes, and maybe the command has something to do.
    pub fn action(&mut self, a: Action) -> Option<Effect> {
        if self.help {
            // Any key closes the help; only quitting and redrawing do more.
            self.help = false;
            return match a {
                Action::Quit => Some(Effect::Quit),
                Action::Redraw => Some(Effect::Redraw),
                _ => None,
            };
        }
        match a {
            Action::Up => self.select(self.selected.saturating_sub(1)),
            Action::Down => self.select(self.selected + 1),
            Action::PageUp => self.select(self.selected.saturating_sub(self.page)),
            Action::PageDown => self.select(self.selected + self.page),
            Action::First => self.select(0),
            Action::Last => self.select(usize::MAX),
            Action::Help => self.help = true,
            Action::Back | Action::Quit => return Some(Effect::Quit),
            Action::Redraw => return Some(Effect::Redraw),
            Action::Run(op) => {
                let Some(app) = self.selected_app().cloned() else {
                    self.note = Some(Note {
                        text: match self.selected_row() {
                            Some(r) => format!("{} is no longer installed", r.key),
                            None => "no app to act on".into(),
                        },
                        error: true,
                    });
                    return None;
                };
                let key = AppKey::of(&app);
                if let Some(j) = self.jobs.get(&key) {
                    self.note = Some(Note {
                        text: format!("{key} is busy: {}", j.step),
                        error: true,
                    });
                    return None;
                }
                let what = match app.instance {
                    Some(i) => format!("{key}@{i}"),
                    None => key.to_string(),
                };
                self.jobs.insert(
                    key,
                    Job {
                        op,
                        step: format!("{} {what}...", op.doing()),
                    },
                );
                return Some(Effect::Run(op, app));
            }
        }
        None
    }

    /// An action under way says where it is.
    pub fn job_step(&mut self, key: &AppKey, step: String) {
        if let Some(j) = self.jobs.get_mut(key) {
            j.step = step;
        }
    }

    /// An action ended: its outcome goes to the status line.
    pub fn job_done(&mut self, key: &AppKey, outcome: Result<String, String>) {
        self.jobs.remove(key);
        self.note = Some(match outcome {
            Ok(text) => Note { text, error: false },
            Err(text) => Note { text, error: true },
        });
    }

    /// Whose journal to follow: the selected app's instances, and the spare a reload of a
    /// one-instance app with a socket starts (the next number).
    pub fn log_target(&self) -> Option<LogTarget> {
        let row = self.selected_row()?;
        let key = row.key.clone();
        let mut units: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.key == key)
            .map(|r| r.unit.clone())
            .collect();
        if let Some(s) = self.selected_app() {
            match s.instance {
                Some(_) => units = s.instance_units(),
                None => {
                    units.extend(s.instance_units());
                    if s.installed.socket.is_some() {
                        let next = s.installed.instances.iter().max().copied().unwrap_or(0) + 1;
                        units.push(crate::core::names::instance(&s.namespace, &s.app, next));
                    }
                }
            }
        }
        units.sort_unstable();
        units.dedup();
        Some(LogTarget { app: key, units })
    }

    /// The command follows a new app's journal now: its lines replace the last app's.
    pub fn following(&mut self, app: Option<AppKey>) {
        self.log_app = app;
        self.logs.clear();
    }

    /// A line of the followed journal.
    pub fn log(&mut self, line: LogLine) {
        if self.logs.len() == LOG_KEEP {
            self.logs.pop_front();
        }
        self.logs.push_back(line);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::adapters::unit_dir::InstalledApp;

    pub fn app(ns: &str, name: &str, instances: &[u32], socket: bool) -> Selected {
        Selected {
            namespace: ns.into(),
            app: name.into(),
            installed: InstalledApp {
                instances: instances.to_vec(),
                socket: socket.then(|| format!("{ns}-{name}.socket")),
                listen: if socket { vec!["3000".into()] } else { vec![] },
                ..Default::default()
            },
            instance: None,
        }
    }

    pub fn inst(ns: &str, name: &str, i: u32, pid: Option<u32>, cpu_ns: Option<u64>) -> Instance {
        Instance {
            namespace: ns.into(),
            app: name.into(),
            instance: i,
            unit: crate::core::names::instance(ns, name, i),
            state: if pid.is_some() {
                crate::status::State::Online
            } else {
                crate::status::State::Stopped
            },
            user: None,
            active_state: if pid.is_some() { "active" } else { "inactive" }.into(),
            sub_state: if pid.is_some() { "running" } else { "dead" }.into(),
            result: None,
            pid,
            restarts: Some(0),
            auto_restarts: Some(0),
            started_at: None,
            uptime_ms: pid.map(|_| 65_000),
            cpu_ns,
            cpu_percent: None,
            memory_bytes: Some(12 << 20),
            memory_source: Some(crate::status::MemorySource::Cgroup),
            tasks: Some(3),
            listen: vec![],
            watch: None,
        }
    }

    fn at(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn sample(ms: u64, instances: Vec<Instance>) -> Sample {
        Sample {
            at: at(ms),
            apps: vec![
                app("t", "web", &[1, 2], true),
                app("t", "spin", &[1], false),
            ],
            instances,
        }
    }

    #[test]
    fn cpu_percent_is_the_counter_difference_over_the_time_between() {
        // 0.5 s of CPU in 1 s: 50 % of one core; 2 s in 1 s (two threads): 200 %.
        assert_eq!(cpu_percent((0, at(0)), (500_000_000, at(1000))), Some(50.0));
        assert_eq!(
            cpu_percent((1_000_000_000, at(1000)), (3_000_000_000, at(2000))),
            Some(200.0)
        );
        assert_eq!(cpu_percent((7, at(10)), (7, at(1010))), Some(0.0));
        assert_eq!(cpu_percent((9, at(0)), (5, at(1000))), None, "a new cgroup");
        assert_eq!(cpu_percent((0, at(5)), (5, at(5))), None, "no time passed");
    }

    #[test]
    fn two_samples_make_a_recent_cpu_figure_per_instance() {
        let mut m = Model::new("all apps", at(1000), true);
        m.sample(sample(
            0,
            vec![
                inst("t", "web", 1, Some(10), Some(1_000_000_000)),
                inst("t", "spin", 1, Some(20), Some(50_000_000_000)),
            ],
        ));
        assert!(m.rows.iter().all(|r| r.cpu == Cpu::Pending));
        m.sample(sample(
            1000,
            vec![
                inst("t", "web", 1, Some(10), Some(1_010_000_000)),
                inst("t", "spin", 1, Some(20), Some(50_990_000_000)),
            ],
        ));
        let cpu: Vec<Cpu> = m.rows.iter().map(|r| r.cpu).collect();
        assert_eq!(cpu, vec![Cpu::Percent(1.0), Cpu::Percent(99.0)]);
        assert!(!m.cpu_missing);
    }

    #[test]
    fn a_new_process_or_a_quick_sample_gives_no_wrong_figure() {
        let mut m = Model::new("all apps", at(1000), true);
        m.sample(sample(
            0,
            vec![inst("t", "web", 1, Some(10), Some(5_000_000_000))],
        ));
        m.sample(sample(
            1000,
            vec![inst("t", "web", 1, Some(10), Some(5_500_000_000))],
        ));
        assert_eq!(m.rows[0].cpu, Cpu::Percent(50.0));
        // 100 ms later (a refresh right after an action): the last figure stays ...
        m.sample(sample(
            1100,
            vec![inst("t", "web", 1, Some(10), Some(5_600_000_000))],
        ));
        assert_eq!(m.rows[0].cpu, Cpu::Percent(50.0));
        // ... and the next is measured from the reading 1 s before it, not from 100 ms.
        m.sample(sample(
            2000,
            vec![inst("t", "web", 1, Some(10), Some(5_700_000_000))],
        ));
        assert_eq!(m.rows[0].cpu, Cpu::Percent(20.0));
        // Restarted: a new process in a new cgroup, whose counter starts again.
        m.sample(sample(
            3000,
            vec![inst("t", "web", 1, Some(11), Some(1_000_000))],
        ));
        assert_eq!(m.rows[0].cpu, Cpu::Pending);
        // Stopped.
        m.sample(sample(4000, vec![inst("t", "web", 1, None, None)]));
        assert_eq!(m.rows[0].cpu, Cpu::Unknown);
        assert!(!m.cpu_missing, "a stopped instance has no CPU to miss");
    }

    #[test]
    fn a_running_instance_without_cpu_stat_is_unknown_and_noted() {
        let mut m = Model::new("all apps", at(1000), true);
        for t in [0, 1000] {
            m.sample(sample(t, vec![inst("t", "web", 1, Some(10), None)]));
        }
        assert_eq!(m.rows[0].cpu, Cpu::Unknown);
        assert!(m.cpu_missing);
    }

    fn three_rows() -> Model {
        let mut m = Model::new("all apps", at(1000), true);
        m.sample(sample(
            0,
            vec![
                inst("t", "spin", 1, Some(20), Some(0)),
                inst("t", "web", 1, Some(10), Some(0)),
                inst("t", "web", 2, Some(11), Some(0)),
            ],
        ));
        m
    }

    #[test]
    fn selection_moves_stays_in_bounds_and_follows_its_unit() {
        let mut m = three_rows();
        assert_eq!(m.selected_row().unwrap().name(), "t/spin@1");
        m.action(Action::Up);
        assert_eq!(m.selected, 0);
        m.action(Action::Last);
        assert_eq!(m.selected_row().unwrap().name(), "t/web@2");
        m.action(Action::Down);
        assert_eq!(m.selected, 2);
        m.action(Action::Up);
        assert_eq!(m.selected_row().unwrap().name(), "t/web@1");
        // A new instance sorts before it: the selection stays on t/web@1.
        m.sample(sample(
            1000,
            vec![
                inst("t", "spin", 1, Some(20), Some(0)),
                inst("t", "spin", 2, Some(21), Some(0)),
                inst("t", "web", 1, Some(10), Some(0)),
                inst("t", "web", 2, Some(11), Some(0)),
            ],
        ));
        assert_eq!(m.selected_row().unwrap().name(), "t/web@1");
        // Gone: the nearest row.
        m.action(Action::Last);
        m.sample(sample(2000, vec![inst("t", "spin", 1, Some(20), Some(0))]));
        assert_eq!(m.selected, 0);
    }

    #[test]
    fn scrolling_keeps_the_selected_row_on_the_screen() {
        let mut m = Model::new("all apps", at(1000), true);
        let all: Vec<Instance> = (1..=30)
            .map(|i| inst("t", "web", i, Some(i), Some(0)))
            .collect();
        m.sample(sample(0, all));
        m.keep_visible(10);
        m.action(Action::PageDown);
        assert_eq!((m.selected, m.offset), (10, 1));
        m.action(Action::Last);
        assert_eq!((m.selected, m.offset), (29, 20));
        m.action(Action::First);
        assert_eq!((m.selected, m.offset), (0, 0));
        m.action(Action::Last);
        m.keep_visible(40); // a taller terminal: no empty rows at the bottom
        assert_eq!(m.offset, 0);
    }

    #[test]
    fn keys_act_on_the_selected_app_one_action_at_a_time() {
        let mut m = three_rows();
        m.action(Action::Down);
        let Some(Effect::Run(Op::Restart, s)) = m.action(Action::Run(Op::Restart)) else {
            panic!("no restart")
        };
        assert_eq!((s.namespace.as_str(), s.app.as_str()), ("t", "web"));
        let key = AppKey::of(&s);
        assert_eq!(m.jobs[&key].step, "restarting t/web...");
        // The same app again while it runs: refused, said why.
        assert!(m.action(Action::Run(Op::Stop)).is_none());
        assert!(m.note.as_ref().unwrap().error);
        assert!(m.note.as_ref().unwrap().text.contains("busy"));
        // Another app can go meanwhile.
        m.action(Action::First);
        assert!(matches!(
            m.action(Action::Run(Op::Reload)),
            Some(Effect::Run(Op::Reload, _))
        ));
        m.job_step(&key, "restarting t/web: 1 of 2".into());
        assert_eq!(m.jobs[&key].step, "restarting t/web: 1 of 2");
        m.job_done(&key, Ok("restarted t/web".into()));
        assert!(!m.jobs.contains_key(&key));
        assert_eq!(
            m.note,
            Some(Note {
                text: "restarted t/web".into(),
                error: false
            })
        );
    }

    #[test]
    fn quit_help_and_redraw() {
        let mut m = three_rows();
        assert!(matches!(m.action(Action::Quit), Some(Effect::Quit)));
        assert!(matches!(m.action(Action::Back), Some(Effect::Quit)));
        assert!(m.action(Action::Help).is_none());
        assert!(m.help);
        // Esc (or any key) closes the help and does nothing else.
        assert!(m.action(Action::Run(Op::Stop)).is_none());
        assert!(!m.help && m.jobs.is_empty());
        m.action(Action::Help);
        assert!(matches!(m.action(Action::Quit), Some(Effect::Quit)));
        assert!(matches!(m.action(Action::Redraw), Some(Effect::Redraw)));
    }

    #[test]
    fn jobs_are_those_of_the_commands() {
        let web = app("t", "web", &[1, 2], true);
        let u = |s: &str, v| (s.to_string(), v);
        assert_eq!(
            jobs(Op::Restart, &web),
            vec![
                u("t-web@1.service", Verb::Restart),
                u("t-web@2.service", Verb::Restart)
            ]
        );
        assert_eq!(
            jobs(Op::Stop, &web),
            vec![
                u("t-web@1.service", Verb::Stop),
                u("t-web@2.service", Verb::Stop),
                u("t-web.socket", Verb::Stop)
            ]
        );
        assert_eq!(
            jobs(Op::Start, &web),
            vec![
                u("t-web.socket", Verb::Start),
                u("t-web@1.service", Verb::Start),
                u("t-web@2.service", Verb::Start)
            ]
        );
        let one = Selected {
            instance: Some(2),
            ..web
        };
        assert_eq!(jobs(Op::Stop, &one), vec![u("t-web@2.service", Verb::Stop)]);
        assert!(jobs(Op::Reload, &one).is_empty());
    }

    #[test]
    fn logs_follow_the_selected_app_and_its_spare() {
        let mut m = three_rows();
        let t = m.log_target().unwrap();
        assert_eq!(t.app.to_string(), "t/spin");
        assert_eq!(t.units, vec!["t-spin@1.service"]);
        m.action(Action::Down);
        let t = m.log_target().unwrap();
        assert_eq!(t.app.to_string(), "t/web");
        // t/web listens: a reload of a single instance would start @3, so follow it too.
        assert_eq!(
            t.units,
            vec!["t-web@1.service", "t-web@2.service", "t-web@3.service"]
        );
        // Moving within the app keeps the same target: no new journalctl.
        m.action(Action::Down);
        assert_eq!(m.log_target().unwrap(), t);
    }

    #[test]
    fn journal_entries_become_lines() {
        let app_line = r#"{"__REALTIME_TIMESTAMP":"1700000000123456","_SYSTEMD_UNIT":"t-web@2.service","MESSAGE":"tick 3 pid 77","PRIORITY":"6"}"#;
        assert_eq!(
            parse_log(app_line, "t-web"),
            Some(LogLine {
                time: "22:13:20".into(),
                instance: Some(2),
                text: "tick 3 pid 77".into(),
                error: false,
                systemd: false,
            })
        );
        let manager = r#"{"__REALTIME_TIMESTAMP":"1700000000123456","_SYSTEMD_UNIT":"init.scope","UNIT":"t-web@1.service","MESSAGE":"Started t-web@1.service.","PRIORITY":"6"}"#;
        let l = parse_log(manager, "t-web").unwrap();
        assert!(l.systemd && l.instance == Some(1));
        // Bytes (journald's form for non-UTF-8) and escapes an app wrote.
        let raw = r#"{"_SYSTEMD_UNIT":"t-web@1.service","MESSAGE":[27,91,51,49,109,98,111,111,109,27,91,48,109,9,33],"PRIORITY":"3"}"#;
        let l = parse_log(raw, "t-web").unwrap();
        assert_eq!(l.text, "boom    !");
        assert!(l.error);
        assert_eq!(parse_log("not json", "t-web"), None);
    }

    #[test]
    fn the_log_keeps_its_last_lines() {
        let mut m = three_rows();
        m.following(Some(AppKey {
            namespace: "t".into(),
            app: "web".into(),
        }));
        for n in 0..LOG_KEEP + 5 {
            m.log(LogLine {
                time: String::new(),
                instance: Some(1),
                text: n.to_string(),
                error: false,
                systemd: false,
            });
        }
        assert_eq!(m.logs.len(), LOG_KEEP);
        assert_eq!(m.logs.front().unwrap().text, "5");
        m.following(None);
        assert!(m.logs.is_empty());
    }
}
