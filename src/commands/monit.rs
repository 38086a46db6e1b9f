//! `unitgen monit [NAME] [-n NS]`: a live view of the instances and the selected app's logs
//! ([`crate::monit`] decides and draws; this file runs it).
//!
//! Threads, each sending to one channel that the main thread waits on (no polling loop):
//! the terminal's keys; the sampler, which asks systemd once a second (one round of D-Bus calls,
//! `status::collect`, plus cgroup files) and at once after an action; a reader of
//! `journalctl -f -o json` for the selected app, replaced when the selection moves to another
//! app; one thread per action (restart, stop and start as systemd jobs, reload as a roll through
//! `ops::roll`, one instance at a time so that its progress shows); and one that waits for
//! SIGTERM, SIGHUP, SIGINT and SIGQUIT (blocked in every other thread). The screen is drawn
//! after what changed it, at most every 50 ms. The terminal is restored on every way out:
//! a key, a signal, a closed terminal (drawing fails), an error and a panic (in the hook).

use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::Event as TermEvent;
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use nix::sys::signal::{SigSet, Signal};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use super::{unit_dir, Failure};
use crate::adapters::systemd::{block_on, Systemd};
use crate::adapters::unit_dir::UnitDir;
use crate::cli::{Global, MonitArgs};
use crate::monit::input;
use crate::monit::model::{self, AppKey, Effect, LogLine, LogTarget, Model, Op, Sample};
use crate::monit::view;
use crate::ops::roll::{roll, Roll, RollOptions};
use crate::ops::status::collect;
use crate::selector::{select, Selected};

/// How often systemd is asked.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// The screen is drawn at most this often (a flood of log lines).
const FRAME: Duration = Duration::from_millis(50);
/// Log lines shown when the view switches to an app.
const LOG_FIRST: u32 = 40;
/// How long an action's systemd jobs may take, and how long a reloaded instance must stay up
/// (the defaults of `restart` and `reload`).
const JOB_LIMIT: Duration = Duration::from_secs(120);
const SETTLE: Duration = Duration::from_millis(1000);

enum Event {
    Term(TermEvent),
    TermGone(String),
    Sample(Sample),
    SampleFailed(String),
    Log(u64, LogLine),
    Step(AppKey, String),
    Done(AppKey, Result<String, String>),
    Signal(Signal),
}

/// The terminal is in raw mode on the alternate screen.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The journalctl that follows the selected app, to end with monit however it ends.
static LOG_PID: AtomicU32 = AtomicU32::new(0);

/// Put the terminal back as it was, and end journalctl. Idempotent; from any thread.
fn restore() {
    let pid = LOG_PID.swap(0, Ordering::SeqCst);
    if pid != 0 {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGKILL);
    }
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        let mut out = std::io::stdout();
        let _ = execute!(out, LeaveAlternateScreen, cursor::Show);
        let _ = out.flush();
    }
}

/// Restores the terminal when dropped (an error on the way out).
struct Screen;

impl Screen {
    fn enter() -> std::io::Result<Screen> {
        terminal::enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        execute!(std::io::stdout(), EnterAlternateScreen, cursor::Hide)?;
        Ok(Screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

fn scope(selected: &[Selected], args: &MonitArgs) -> String {
    match (&args.name, &args.namespace, selected) {
        (Some(_), _, [one]) => match one.instance {
            Some(i) => format!("{}/{}@{i}", one.namespace, one.app),
            None => format!("{}/{}", one.namespace, one.app),
        },
        (Some(n), _, _) => n.clone(),
        (None, Some(ns), _) => format!("namespace {ns}"),
        (None, None, _) => "all apps".into(),
    }
}

/// Run the view until a key, a signal or a closed terminal ends it.
pub fn run(global: &Global, args: &MonitArgs) -> Result<(), Failure> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "monit needs a terminal; `unitgen status` prints the same rows once (--json for scripts)",
        ));
    }
    let dir = unit_dir(global);
    let selected = super::selected(global, args.name.as_deref(), &args.namespace, false)?;
    // The signals that end monit go to one thread that waits for them: blocked here, before
    // any other thread exists, so that every thread inherits the mask (children get a clean
    // mask from std's spawn).
    let signals: SigSet = [
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
    ]
    .into_iter()
    .collect();
    signals
        .thread_block()
        .map_err(|e| anyhow::anyhow!("cannot block signals: {e}"))?;
    let sd = super::connect(global, Duration::from_secs(10))?;
    let (tx, rx) = mpsc::channel();
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            if let Ok(sig) = signals.wait() {
                let _ = tx.send(Event::Signal(sig));
                // The main thread ends within a frame; if it does not (a terminal that takes
                // no output), end here.
                std::thread::sleep(Duration::from_secs(2));
                restore();
                std::process::exit(128 + sig as i32);
            }
        });
    }
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        hook(info);
        std::process::exit(101);
    }));
    let screen = Screen::enter().map_err(|e| anyhow::anyhow!("cannot set up the terminal: {e}"))?;
    let backend = CrosstermBackend::new(BufWriter::with_capacity(1 << 16, std::io::stdout()));
    let mut term = Terminal::new(backend).map_err(|e| anyhow::anyhow!("terminal: {e}"))?;
    {
        let tx = tx.clone();
        // A closed terminal makes crossterm's reader spin; drawing fails within a second
        // then (or SIGHUP comes first) and monit ends.
        std::thread::spawn(move || loop {
            match crossterm::event::read() {
                Ok(e) => {
                    if tx.send(Event::Term(e)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Event::TermGone(e.to_string()));
                    return;
                }
            }
        });
    }
    let (poke, poked) = mpsc::channel();
    {
        let tx = tx.clone();
        let sampler = Sampler {
            sd,
            user: global.user,
            dir: dir.clone(),
            name: args.name.clone(),
            namespace: args.namespace.clone(),
            apps: selected.clone(),
        };
        std::thread::spawn(move || sampler.run(tx, poked));
    }
    let mut m = Model::new(scope(&selected, args), INTERVAL, global.colored(true));
    let ended = main_loop(global.user, &mut term, &mut m, &rx, &tx, &poke);
    drop(term);
    drop(screen);
    match ended {
        Ok(Some(sig)) => std::process::exit(128 + sig as i32),
        Ok(None) => Ok(()),
        Err(e) => Err(Failure::failed(e)),
    }
}

type Term = Terminal<CrosstermBackend<BufWriter<std::io::Stdout>>>;

/// Wait for events and draw; `Some(signal)` when a signal ended it.
fn main_loop(
    user: bool,
    term: &mut Term,
    m: &mut Model,
    rx: &Receiver<Event>,
    tx: &Sender<Event>,
    poke: &Sender<()>,
) -> Result<Option<Signal>, String> {
    let mut logs = Follower::default();
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        // The logs follow the selected app.
        let want = m.log_target();
        if want != logs.target {
            logs.switch(want, user, tx);
            m.following(logs.target.as_ref().map(|t| t.app.clone()));
            if let Some(e) = logs.error.take() {
                m.note = Some(model::Note {
                    text: e,
                    error: true,
                });
            }
            dirty = true;
        }
        let mut wait = None;
        if dirty {
            let left = (last_draw + FRAME).saturating_duration_since(Instant::now());
            if left.is_zero() {
                term.draw(|f| {
                    let args = view::areas(f.area(), m.rows.len());
                    m.keep_visible(args.page());
                    view::draw(f, m);
                })
                .map_err(|e| format!("the terminal: {e}"))?;
                last_draw = Instant::now();
                dirty = false;
            } else {
                wait = Some(left);
            }
        }
        let ev = match wait {
            Some(left) => match rx.recv_timeout(left) {
                Ok(ev) => ev,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
            },
            None => match rx.recv() {
                Ok(ev) => ev,
                Err(_) => return Ok(None),
            },
        };
        dirty = true;
        match ev {
            Event::Term(TermEvent::Key(k)) => {
                let Some(action) = input::action(&k) else {
                    dirty = false;
                    continue;
                };
                match m.action(action) {
                    Some(Effect::Quit) => return Ok(None),
                    Some(Effect::Redraw) => term.clear().map_err(|e| e.to_string())?,
                    Some(Effect::Run(op, s)) => {
                        let tx = tx.clone();
                        std::thread::spawn(move || run_op(user, op, s, tx));
                    }
                    None => {}
                }
            }
            Event::Term(TermEvent::Resize(..)) => {}
            Event::Term(_) => dirty = false,
            Event::TermGone(e) => return Err(format!("the terminal: {e}")),
            Event::Sample(s) => m.sample(s),
            Event::SampleFailed(e) => m.sample_failed(e),
            Event::Log(gen, line) => {
                if gen == logs.generation {
                    m.log(line);
                } else {
                    dirty = false;
                }
            }
            Event::Step(key, step) => {
                m.job_step(&key, step);
                let _ = poke.send(());
            }
            Event::Done(key, outcome) => {
                m.job_done(&key, outcome);
                let _ = poke.send(());
            }
            Event::Signal(sig) => return Ok(Some(sig)),
        }
    }
}

/// Asks systemd for the state of the apps, once per interval and when poked.
struct Sampler {
    sd: Systemd,
    user: bool,
    dir: UnitDir,
    name: Option<String>,
    namespace: Option<String>,
    apps: Vec<Selected>,
}

fn stamp(dir: &UnitDir) -> Option<SystemTime> {
    std::fs::metadata(&dir.path).and_then(|m| m.modified()).ok()
}

impl Sampler {
    fn run(mut self, tx: Sender<Event>, poked: Receiver<()>) {
        let t0 = Instant::now();
        let mut seen = stamp(&self.dir);
        loop {
            let started = Instant::now();
            // An apply, scale or delete rewrites the unit directory: read the apps again.
            let now = stamp(&self.dir);
            if now != seen {
                match select(
                    &self.dir,
                    self.name.as_deref(),
                    self.namespace.as_deref(),
                    false,
                ) {
                    Ok(apps) => {
                        self.apps = apps;
                        seen = now;
                    }
                    Err(e) => {
                        let _ = tx.send(Event::SampleFailed(e));
                    }
                }
            }
            let ev = match block_on(collect(&self.sd, &self.apps)) {
                Ok(instances) => Event::Sample(Sample {
                    at: t0.elapsed(),
                    apps: self.apps.clone(),
                    instances,
                }),
                Err(e) => {
                    // The bus may have gone (a restart of dbus): connect again for the next.
                    if let Ok(sd) =
                        block_on(Systemd::connect_within(self.user, Duration::from_secs(5)))
                    {
                        self.sd = sd;
                    }
                    Event::SampleFailed(e.to_string())
                }
            };
            if tx.send(ev).is_err() {
                return;
            }
            let next = started + INTERVAL;
            match poked.recv_timeout(next.saturating_duration_since(Instant::now())) {
                Ok(()) => {
                    // After an action: look again soon, once for a burst of pokes.
                    std::thread::sleep(Duration::from_millis(150));
                    while poked.try_recv().is_ok() {}
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// The journalctl following the selected app.
#[derive(Default)]
struct Follower {
    target: Option<LogTarget>,
    child: Option<Child>,
    generation: u64,
    error: Option<String>,
}

impl Follower {
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            LOG_PID.store(0, Ordering::SeqCst);
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Follow another app's units (or none); lines of the last one are dropped from now on.
    fn switch(&mut self, target: Option<LogTarget>, user: bool, tx: &Sender<Event>) {
        self.stop();
        self.generation += 1;
        self.target = target;
        let Some(t) = &self.target else { return };
        let mut cmd = Command::new("journalctl");
        if user {
            cmd.arg("--user");
        }
        // `-u`: the app's own lines and systemd's about its units (started, stopped, failed).
        cmd.args(["--no-pager", "-q", "-o", "json", "-f", "-n"])
            .arg(LOG_FIRST.to_string());
        for u in &t.units {
            cmd.arg("-u").arg(u);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                self.error = Some(format!("cannot run journalctl: {e}"));
                return;
            }
        };
        LOG_PID.store(child.id(), Ordering::SeqCst);
        let out = child.stdout.take().expect("piped");
        self.child = Some(child);
        let stem = crate::core::names::app_stem(&t.app.namespace, &t.app.app);
        let generation = self.generation;
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if let Some(l) = model::parse_log(&line, &stem) {
                    if tx.send(Event::Log(generation, l)).is_err() {
                        return;
                    }
                }
            }
        });
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Carry out an action on an app and say how it went.
fn run_op(user: bool, op: Op, s: Selected, tx: Sender<Event>) {
    let key = AppKey::of(&s);
    let what = match s.instance {
        Some(i) => format!("{key}@{i}"),
        None => key.to_string(),
    };
    let outcome = match op {
        Op::Reload => reload(user, &s, &what, &key, &tx),
        _ => jobs(user, op, &s, &what),
    };
    let _ = tx.send(Event::Done(key, outcome));
}

/// Restart, stop or start: systemd jobs on every unit at once, as the commands run them.
fn jobs(user: bool, op: Op, s: &Selected, what: &str) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| format!("{} {what}: {e}", op.word());
    let jobs = model::jobs(op, s);
    let sd = block_on(Systemd::connect_within(user, JOB_LIMIT)).map_err(|e| fail(&e))?;
    let results = block_on(sd.run_jobs_afresh(&jobs, JOB_LIMIT)).map_err(|e| fail(&e))?;
    let bad: Vec<String> = results
        .iter()
        .filter(|r| !r.ok())
        .map(|r| format!("{} {}: job {}", r.verb.as_str(), r.unit, r.result))
        .collect();
    if bad.is_empty() {
        Ok(format!("{} {what} ({} units)", op.done(), results.len()))
    } else {
        Err(format!("{} {what} failed: {}", op.word(), bad.join("; ")))
    }
}

/// A rolling restart through `ops::roll`, one instance per call so that each step shows.
/// Rolling one instance at a time is the same roll: the spare is decided from all the app's
/// instances, and the next instance goes only when this one is back.
fn reload(
    user: bool,
    s: &Selected,
    what: &str,
    key: &AppKey,
    tx: &Sender<Event>,
) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| format!("reload {what}: {e}");
    let step = |text: String| {
        let _ = tx.send(Event::Step(key.clone(), text));
    };
    let sd = block_on(Systemd::connect_within(user, JOB_LIMIT)).map_err(|e| fail(&e))?;
    step(format!(
        "reloading {what}: waiting for namespace {}'s lock",
        s.namespace
    ));
    // The spare instance is the namespace's to take: no apply or scale meanwhile.
    let _lock =
        crate::adapters::lock::namespace(&s.namespace, user, JOB_LIMIT).map_err(|e| fail(&e))?;
    let instances = s
        .instance
        .map_or_else(|| s.installed.instances.clone(), |i| vec![i]);
    let n = instances.len();
    let spare = s.installed.socket.is_some()
        && !s.installed.reload_in_place
        && s.installed.instances.len() < 2;
    let opts = RollOptions {
        timeout: JOB_LIMIT,
        settle: SETTLE,
    };
    let mut done = Vec::new();
    for (k, &i) in instances.iter().enumerate() {
        step(format!(
            "reloading {what}: @{i} ({} of {n}){}{}",
            k + 1,
            if spare {
                ", a spare instance first"
            } else {
                ""
            },
            if done.is_empty() {
                String::new()
            } else {
                format!("; done: {}", done.join(", "))
            }
        ));
        let r = Roll {
            namespace: s.namespace.clone(),
            app: s.app.clone(),
            instances: vec![i],
            all_instances: s.installed.instances.clone(),
            socket: s.installed.socket.is_some(),
            in_place: s.installed.reload_in_place,
        };
        let report = roll(&sd, &r, opts).map_err(|e| fail(&e))?;
        for d in report.done.iter().filter(|d| !d.spare) {
            done.push(format!("@{i} in {:.1}s", d.ready_in.as_secs_f64()));
        }
        if let Some(f) = report.failure {
            let serving = if f.serving.is_empty() {
                "nothing of the app serves now".to_string()
            } else {
                format!("serving: {}", f.serving.join(", "))
            };
            let left = instances[k + 1..]
                .iter()
                .map(|i| format!("@{i}"))
                .collect::<Vec<_>>();
            return Err(format!(
                "reload {what} stopped at {}: {}{}; {serving}{}",
                f.unit,
                f.what,
                f.result.map(|r| format!(" ({r})")).unwrap_or_default(),
                if left.is_empty() {
                    String::new()
                } else {
                    format!("; not reloaded: {}", left.join(" "))
                }
            ));
        }
    }
    Ok(format!("reloaded {what}: {}", done.join(", ")))
}
