//! A rolling restart of one app: one instance after the other, each ready and settled before
//! the next goes, so that a ready process is always accepting on the app's socket.
//!
//! An app whose socket only one instance serves gets a spare first: the next instance number
//! (not in the target, its environment file written by `apply`) is started and must be ready
//! before the one instance restarts, and is stopped once it is back. Requests that arrive while
//! the instance boots are accepted by the spare; none waits for a boot. The spare runs the new
//! version first, so a version that does not start is caught before anything stops.

use std::time::{Duration, Instant};

use crate::adapters::systemd::{self, ActiveState, JobOutcome, Systemd, Verb};
use crate::core::names;

/// What to roll.
#[derive(Debug, Clone)]
pub struct Roll {
    /// The namespace.
    pub namespace: String,
    /// The app.
    pub app: String,
    /// The instances to restart, in order.
    pub instances: Vec<u32>,
    /// Every instance the app runs (the spare takes the next number).
    pub all_instances: Vec<u32>,
    /// The app's socket: restarting its only instance needs a spare.
    pub socket: bool,
    /// Reload in place (`ExecReload=`) instead of restarting.
    pub in_place: bool,
}

/// How long to wait.
#[derive(Debug, Clone, Copy)]
pub struct RollOptions {
    /// For each job (start, restart, stop).
    pub timeout: Duration,
    /// How long an instance must stay up, as the same process, after it is ready.
    pub settle: Duration,
}

/// One instance that came back.
#[derive(Debug, Clone)]
pub struct Rolled {
    /// The unit.
    pub unit: String,
    /// What was done.
    pub verb: Verb,
    /// The main process before and after.
    pub pids: (Option<u32>, Option<u32>),
    /// From the job's start until it was ready.
    pub ready_in: Duration,
    /// It was the spare.
    pub spare: bool,
}

/// An instance that did not come back; the roll stopped there.
#[derive(Debug, Clone)]
pub struct RollFailure {
    /// The unit.
    pub unit: String,
    /// What was asked of it.
    pub verb: Verb,
    /// The job's end, or what happened while it settled.
    pub what: String,
    /// systemd's `Result` of the unit.
    pub result: Option<String>,
    /// Instances of the app that serve now (ready, same process), the spare included.
    pub serving: Vec<String>,
    /// Instances still to roll, which keep their old version.
    pub not_rolled: Vec<String>,
}

/// Why one step's instance did not come back.
#[derive(Debug, Clone)]
struct Broke {
    /// The job's end, or what happened while it settled.
    what: String,
    /// systemd's `Result` of the unit.
    result: Option<String>,
}

/// The outcome of one roll: what came back, and where it stopped if it did.
#[derive(Debug, Clone, Default)]
pub struct RollReport {
    /// Instances that came back, in order.
    pub done: Vec<Rolled>,
    /// Where it stopped.
    pub failure: Option<RollFailure>,
}

/// Roll one app.
pub fn roll(sd: &Systemd, r: &Roll, opts: RollOptions) -> Result<RollReport, systemd::Error> {
    let unit = |i: u32| names::instance(&r.namespace, &r.app, i);
    let mut report = RollReport::default();
    let spare = (r.socket && !r.in_place && r.all_instances.len() < 2)
        .then(|| unit(r.all_instances.iter().max().copied().unwrap_or(0) + 1));
    if let Some(s) = &spare {
        sd_reset(sd, s);
        match step(sd, s, Verb::Start, opts)? {
            Ok(mut done) => {
                done.spare = true;
                report.done.push(done);
            }
            Err(Broke { what, result }) => {
                // The new version does not start: nothing else was touched.
                let _ = systemd::block_on(sd.run_jobs(&[(s.clone(), Verb::Stop)], opts.timeout));
                sd_reset(sd, s);
                report.failure = Some(RollFailure {
                    unit: s.clone(),
                    verb: Verb::Start,
                    what,
                    result,
                    serving: serving(sd, r, None)?,
                    not_rolled: r.instances.iter().map(|&i| unit(i)).collect(),
                });
                return Ok(report);
            }
        }
    }
    for (k, &i) in r.instances.iter().enumerate() {
        let u = unit(i);
        let state = systemd::block_on(sd.loaded(&[], std::slice::from_ref(&u)))?;
        let running = state
            .get(&u)
            .is_some_and(|l| l.active == ActiveState::Active);
        // Forgotten first, running or not: a deliberate restart is not counted against the
        // start limit systemd keeps for crash loops.
        sd_reset(sd, &u);
        let verb = if !running {
            Verb::Start
        } else if r.in_place {
            Verb::Reload
        } else {
            Verb::Restart
        };
        match step(sd, &u, verb, opts)? {
            Ok(done) => report.done.push(done),
            Err(Broke { what, result }) => {
                report.failure = Some(RollFailure {
                    unit: u,
                    verb,
                    what,
                    result,
                    serving: serving(sd, r, spare.as_deref())?,
                    not_rolled: r.instances[k + 1..].iter().map(|&i| unit(i)).collect(),
                });
                // A spare that serves stays: it may be all that serves.
                return Ok(report);
            }
        }
    }
    if let Some(s) = &spare {
        let results = systemd::block_on(sd.run_jobs(&[(s.clone(), Verb::Stop)], opts.timeout))?;
        sd_reset(sd, s);
        if let Some(bad) = results.iter().find(|j| !j.ok()) {
            report.failure = Some(RollFailure {
                unit: s.clone(),
                verb: Verb::Stop,
                what: bad.result.to_string(),
                result: None,
                serving: serving(sd, r, Some(s))?,
                not_rolled: Vec::new(),
            });
        }
    }
    Ok(report)
}

fn sd_reset(sd: &Systemd, unit: &str) {
    systemd::block_on(sd.reset_failed(&[unit.to_string()]));
}

/// Run one job on one unit and watch it settle: the instance that came back, or what went
/// wrong and systemd's `Result`.
fn step(
    sd: &Systemd,
    unit: &str,
    verb: Verb,
    opts: RollOptions,
) -> Result<Result<Rolled, Broke>, systemd::Error> {
    let names = [unit.to_string()];
    let before = systemd::block_on(sd.loaded(&[], &names))?;
    let pid0 = before.get(unit).and_then(|l| l.main_pid);
    let start = Instant::now();
    let results = systemd::block_on(sd.run_jobs(&[(unit.to_string(), verb)], opts.timeout))?;
    let ready_in = start.elapsed();
    let outcome = results
        .first()
        .map_or(JobOutcome::NoAnswer, |j| j.result.clone());
    let first = systemd::block_on(sd.loaded(&[], &names))?;
    let result_of = || {
        let props = systemd::block_on(sd.unit(unit)).unwrap_or_default();
        systemd::text(&props, "Result").filter(|r| !r.is_empty() && r != "success")
    };
    if outcome != JobOutcome::Done {
        let result = result_of();
        let what = super::apply::died_starting(result.as_deref())
            .unwrap_or_else(|| format!("job {outcome}"));
        return Ok(Err(Broke { what, result }));
    }
    let pid1 = first.get(unit).and_then(|l| l.main_pid);
    let restarts1 = first.get(unit).and_then(|l| l.restarts);
    let until = Instant::now() + opts.settle;
    loop {
        let now = systemd::block_on(sd.loaded(&[], &names))?;
        let l = now.get(unit);
        let same = l.is_some_and(|l| {
            l.active == ActiveState::Active
                && (pid1.is_none() || l.main_pid == pid1)
                && (restarts1.is_none() || l.restarts == restarts1)
        });
        if !same {
            let state = l.map_or("inactive".to_string(), |l| {
                format!("{} ({})", l.active.as_str(), l.sub)
            });
            return Ok(Err(Broke {
                what: format!(
                    "did not stay up for {:.1} s after it was ready: it is now {state}",
                    opts.settle.as_secs_f64()
                ),
                result: result_of(),
            }));
        }
        if Instant::now() >= until {
            break;
        }
        std::thread::sleep(
            Duration::from_millis(100).min(opts.settle.max(Duration::from_millis(1))),
        );
    }
    Ok(Ok(Rolled {
        unit: unit.to_string(),
        verb,
        pids: (pid0, pid1),
        ready_in,
        spare: false,
    }))
}

/// The app's instances (and spare) that are active now.
fn serving(sd: &Systemd, r: &Roll, spare: Option<&str>) -> Result<Vec<String>, systemd::Error> {
    let mut names: Vec<String> = r
        .all_instances
        .iter()
        .map(|&i| names::instance(&r.namespace, &r.app, i))
        .collect();
    names.extend(spare.map(str::to_string));
    let now = systemd::block_on(sd.loaded(&[], &names))?;
    Ok(names
        .into_iter()
        .filter(|n| {
            now.get(n)
                .is_some_and(|l| l.active == ActiveState::Active && l.sub == "running")
        })
        .collect())
}
