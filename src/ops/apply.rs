//! Carry out the plans of one `apply`: write, stop, remove, reload, enable, start, and check
//! that what started stays up. The decisions are in [`crate::core::plan`]; this only executes them,
//! in an order that never stops a running app before its replacement files are in place.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::adapters::lock::Lock;
use crate::adapters::systemd::{self, Systemd};
use crate::adapters::unit_dir::{self, EnvDir, UnitDir};
use crate::commands::Failure;
use crate::core::compile::{compile, env_files, Scope, Target, UnitFile};
use crate::core::config::Namespace;
use crate::core::plan::{self, Action, Change, Input, Plan, Verb};
use crate::core::render::Renderer;

/// How an apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The manager, and the paths the units refer to.
    pub target: Target,
    /// The unit directory.
    pub dir: UnitDir,
    /// The directory of the environment files.
    pub env_dir: EnvDir,
    /// The directory is systemd's own (not `--unit-dir` elsewhere).
    pub default_dir: bool,
    /// Start and restart (false: `--no-start`).
    pub start: bool,
    /// The time limit of each round of jobs.
    pub timeout: Duration,
    /// How long a started instance must stay up, as the same process, to count as started.
    pub settle: Duration,
}

/// A unit that did not reach its wanted state.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct UnitFailure {
    /// The unit.
    pub unit: String,
    /// The app it belongs to.
    pub app: Option<String>,
    /// What was asked of it.
    pub verb: Verb,
    /// What happened: the job's end, or "exited within … of starting".
    pub what: String,
    /// systemd's `Result` of the unit, when it says more than "success".
    pub result: Option<String>,
    /// Its last log lines.
    pub logs: String,
}

/// What happened to one app.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct AppReport {
    /// The app.
    pub name: String,
    /// Its instance count.
    pub instances: u32,
    /// Who it runs as.
    pub user: String,
    /// Instances started and restarted.
    pub started: usize,
    /// Instances restarted.
    pub restarted: usize,
}

/// What happened to one namespace (`apply --json` prints a list of them).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// The namespace.
    pub namespace: String,
    /// Files written.
    pub written: usize,
    /// Files removed.
    pub removed: usize,
    /// systemd read its files again.
    pub reloaded: bool,
    /// Each app of the file, in file order.
    pub apps: Vec<AppReport>,
    /// Apps the file no longer names, whose units were stopped and removed.
    pub gone: Vec<String>,
    /// Instances past an app's count, stopped.
    pub extra: Vec<String>,
    /// What did not reach its wanted state.
    pub failures: Vec<UnitFailure>,
    /// Temporary files an interrupted apply left, removed.
    pub cleaned: usize,
}

/// The facts of one namespace and the plan made from them.
pub struct Planned {
    /// The namespace.
    pub ns: Namespace,
    /// Its compiled units.
    pub units: Vec<UnitFile>,
    /// Its environment files.
    pub env: Vec<UnitFile>,
    /// The plan.
    pub plan: Plan,
}

/// Decide the plan of each namespace from its files and systemd's state; with no manager to
/// ask (`plan` on a machine where systemd does not run), from the files alone.
pub fn plan_all(
    sd: Option<&Systemd>,
    namespaces: Vec<Namespace>,
    opts: &ApplyOptions,
) -> Result<Vec<Planned>, Failure> {
    let installed = opts
        .dir
        .scan()
        .map_err(|e| Failure::io(&opts.dir.path, e))?;
    let r = Renderer::new();
    let user = opts.target.scope == Scope::User;
    let mut out = Vec::new();
    for ns in namespaces {
        let units = compile(&ns, &opts.target, &r);
        let env = env_files(&ns, &opts.target);
        let installed_env = opts
            .env_dir
            .scan(&ns.name)
            .map_err(|e| Failure::io(&opts.env_dir.path, e))?;
        let (shadows, loaded, target_enabled) = match sd {
            Some(sd) => (
                unit_dir::shadows(&plan::names_to_check(&ns, &units), &opts.dir.path, user),
                systemd::block_on(sd.loaded(&plan::patterns(&ns.name, &installed), &[]))?,
                systemd::block_on(sd.is_enabled(&crate::core::names::target(&ns.name))),
            ),
            None => (Vec::new(), BTreeMap::new(), false),
        };
        let p = plan::plan(Input {
            ns: &ns,
            units: &units,
            dir: &opts.dir.path,
            installed: &installed,
            env: &env,
            installed_env: &installed_env,
            shadows: &shadows,
            loaded: &loaded,
            target_enabled,
            start: opts.start,
        });
        out.push(Planned {
            ns,
            units,
            env,
            plan: p,
        });
    }
    Ok(out)
}

/// Carry out the plans. `claims` (the machine-wide lock) is released once the files are
/// written: what other applies check their ports against is then on disk.
pub fn apply(
    sd: &Systemd,
    planned: &[Planned],
    opts: &ApplyOptions,
    claims: Option<Lock>,
) -> Result<Vec<Report>, Failure> {
    let refusals: Vec<_> = planned
        .iter()
        .flat_map(|p| p.plan.refusals.iter().map(|r| r.problem(&p.ns.name)))
        .collect();
    if !refusals.is_empty() {
        return Err(Failure::Refused {
            problems: refusals,
            outcome: "nothing was changed",
        });
    }
    let mut reports: Vec<Report> = planned
        .iter()
        .map(|p| Report {
            namespace: p.ns.name.clone(),
            ..Default::default()
        })
        .collect();
    write_files(planned, opts, &mut reports)?;
    drop(claims);
    stop_and_remove(sd, planned, opts, &mut reports)?;
    reload_and_enable(sd, planned, opts, &mut reports)?;
    start_and_roll(sd, planned, opts, &mut reports)?;
    Ok(reports)
}

/// 0–1. The Node preload the units name, then what is new or changed: each file old or new,
/// never torn; the environment before the units, so that a unit never names a file that is
/// not there yet. Nothing stops yet.
fn write_files(
    planned: &[Planned],
    opts: &ApplyOptions,
    reports: &mut [Report],
) -> Result<(), Failure> {
    let dir = &opts.dir;
    if planned
        .iter()
        .any(|p| p.ns.apps.iter().any(crate::core::compile::uses_preload))
    {
        crate::preload::install(&opts.target.preload)
            .map_err(|e| Failure::io(&opts.target.preload, e))?;
    }
    for (p, rep) in planned.iter().zip(reports.iter_mut()) {
        let mut names: Vec<String> = p.units.iter().map(|u| u.name.clone()).collect();
        names.extend(p.plan.changes.iter().map(|c| c.name().to_string()));
        rep.cleaned = dir
            .clean_temporary(&names)
            .map_err(|e| Failure::io(&dir.path, e))?
            + opts
                .env_dir
                .clean_temporary(&p.ns.name)
                .map_err(|e| Failure::io(&opts.env_dir.path, e))?;
        for c in &p.plan.env_changes {
            if let Change::Add(f) | Change::Update(_, f) = c {
                opts.env_dir
                    .write(&f.name, &f.content)
                    .map_err(|e| Failure::io(&opts.env_dir.file(&f.name), e))?;
                rep.written += 1;
            }
        }
        opts.env_dir
            .sync(&p.ns.name)
            .map_err(|e| Failure::io(&opts.env_dir.path, e))?;
        for c in &p.plan.changes {
            if let Change::Add(f) | Change::Update(_, f) = c {
                dir.write(&f.name, &f.content)
                    .map_err(|e| Failure::io(&dir.file(&f.name), e))?;
                rep.written += 1;
            }
        }
    }
    if planned.iter().any(|p| !p.plan.changes.is_empty()) {
        dir.sync().map_err(|e| Failure::io(&dir.path, e))?;
    }
    Ok(())
}

/// 2. Stop what is no longer wanted, then remove its files.
fn stop_and_remove(
    sd: &Systemd,
    planned: &[Planned],
    opts: &ApplyOptions,
    reports: &mut [Report],
) -> Result<(), Failure> {
    let dir = &opts.dir;
    let stops: Vec<&Action> = planned.iter().flat_map(|p| &p.plan.stops).collect();
    let results = run(sd, &stops, opts.timeout)?;
    collect_failures(sd, opts, &stops, &results, planned, reports);
    let forget: Vec<String> = stops.iter().map(|a| a.unit.clone()).collect();
    systemd::block_on(sd.reset_failed(&forget));
    for (p, rep) in planned.iter().zip(reports.iter_mut()) {
        for c in &p.plan.changes {
            if let Change::Remove(name, text) = c {
                dir.remove(name)
                    .map_err(|e| Failure::io(&dir.file(name), e))?;
                rep.removed += 1;
                if name.ends_with("@.service") {
                    if let Some(app) = unit_dir::app_of(text) {
                        rep.gone.push(app.to_string());
                    }
                }
            }
        }
        for c in &p.plan.env_changes {
            if let Change::Remove(name, _) = c {
                opts.env_dir
                    .remove(name)
                    .map_err(|e| Failure::io(&opts.env_dir.file(name), e))?;
                rep.removed += 1;
            }
        }
        rep.extra = p
            .plan
            .stops
            .iter()
            .filter(|a| a.reason == plan::Reason::Extra && a.verb == Verb::Stop)
            .map(|a| a.unit.clone())
            .collect();
    }
    if reports.iter().any(|r| r.removed > 0) {
        dir.sync().map_err(|e| Failure::io(&dir.path, e))?;
    }
    Ok(())
}

/// 3. Reload once, and enable the targets for boot.
fn reload_and_enable(
    sd: &Systemd,
    planned: &[Planned],
    opts: &ApplyOptions,
    reports: &mut [Report],
) -> Result<(), Failure> {
    if planned.iter().any(|p| p.plan.reload) {
        systemd::block_on(sd.reload())?;
        for r in reports.iter_mut() {
            r.reloaded = true;
        }
    }
    for p in planned.iter().filter(|p| p.plan.enable) {
        let target = crate::core::names::target(&p.ns.name);
        let name = if opts.default_dir {
            target
        } else {
            opts.dir.file(&target).display().to_string()
        };
        systemd::block_on(sd.enable(&name))?;
    }
    Ok(())
}

/// 4. Start and restart, then check that what started stays up. The instances of an app with
///    a socket are rolled instead, one after the other (a spare first when it has only one),
///    so that a ready process always accepts on its socket. Counts what each app got.
fn start_and_roll(
    sd: &Systemd,
    planned: &[Planned],
    opts: &ApplyOptions,
    reports: &mut [Report],
) -> Result<(), Failure> {
    let starts: Vec<&Action> = planned
        .iter()
        .flat_map(|p| &p.plan.starts)
        .filter(|a| a.verb != Verb::Roll)
        .collect();
    let results = run(sd, &starts, opts.timeout)?;
    collect_failures(sd, opts, &starts, &results, planned, reports);
    let began: Vec<&Action> = starts
        .iter()
        .zip(&results)
        .filter(|(a, r)| r.ok() && a.unit.ends_with(".service"))
        .map(|(a, _)| *a)
        .collect();
    settle(sd, opts, &began, planned, reports)?;
    let rolled_ok = roll_all(sd, planned, opts, reports)?;

    let failed: std::collections::BTreeSet<&str> = reports
        .iter()
        .flat_map(|r| r.failures.iter().map(|f| f.unit.as_str()))
        .collect();
    let mut done: BTreeMap<(&str, Verb), usize> = BTreeMap::new();
    for app in &rolled_ok {
        *done.entry((app.as_str(), Verb::Roll)).or_default() += 1;
    }
    for (a, r) in starts.iter().zip(&results) {
        if r.ok() && a.unit.ends_with(".service") && !failed.contains(a.unit.as_str()) {
            if let Some(app) = &a.app {
                *done.entry((app.as_str(), a.verb)).or_default() += 1;
            }
        }
    }
    let apps: Vec<Vec<AppReport>> = planned
        .iter()
        .map(|p| {
            p.ns.apps
                .iter()
                .map(|app| {
                    let n = |v: Verb| done.get(&(app.name.as_str(), v)).copied().unwrap_or(0);
                    AppReport {
                        name: app.name.clone(),
                        instances: app.instances,
                        user: user_of(app, opts.target.scope),
                        started: n(Verb::Start),
                        restarted: n(Verb::Restart) + n(Verb::Roll),
                    }
                })
                .collect()
        })
        .collect();
    for (rep, apps) in reports.iter_mut().zip(apps) {
        rep.apps = apps;
    }
    Ok(())
}

/// Roll the apps the plans roll; a roll that stops is a failure of its namespace. Returns the
/// app of each instance rolled (the spare not counted).
fn roll_all(
    sd: &Systemd,
    planned: &[Planned],
    opts: &ApplyOptions,
    reports: &mut [Report],
) -> Result<Vec<String>, Failure> {
    let mut rolled_ok = Vec::new();
    for (i, r) in &rolls(planned) {
        let report = super::roll::roll(
            sd,
            r,
            super::roll::RollOptions {
                timeout: opts.timeout,
                settle: opts.settle,
            },
        )?;
        rolled_ok.extend(
            report
                .done
                .iter()
                .filter(|d| !d.spare)
                .map(|_| r.app.clone()),
        );
        if let Some(f) = report.failure {
            let action = Action {
                unit: f.unit.clone(),
                app: Some(r.app.clone()),
                verb: Verb::Roll,
                reason: plan::Reason::Changed,
            };
            let mut what = f.what.clone();
            if !f.not_rolled.is_empty() {
                what.push_str(&format!(
                    "; the roll stopped there, and {} keep the old version",
                    f.not_rolled.join(", ")
                ));
            }
            let mut failure = failure(sd, opts, &action, what);
            failure.result = f.result.or(failure.result);
            reports[*i].failures.push(failure);
        }
    }
    Ok(rolled_ok)
}

/// The apps the plans roll (see [`plan::Verb::Roll`]), with the index of their namespace.
fn rolls(planned: &[Planned]) -> Vec<(usize, super::roll::Roll)> {
    let mut out = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        for app in &p.ns.apps {
            let instances: Vec<u32> = (1..=app.instances)
                .filter(|&k| {
                    let u = crate::core::names::instance(&p.ns.name, &app.name, k);
                    p.plan
                        .starts
                        .iter()
                        .any(|a| a.unit == u && a.verb == Verb::Roll)
                })
                .collect();
            if !instances.is_empty() {
                out.push((
                    i,
                    super::roll::Roll {
                        namespace: p.ns.name.clone(),
                        app: app.name.clone(),
                        instances,
                        all_instances: (1..=app.instances).collect(),
                        socket: !app.listen.is_empty(),
                        in_place: false,
                    },
                ));
            }
        }
    }
    out
}

/// Who an app runs as, in words.
pub fn user_of(app: &crate::core::config::App, scope: Scope) -> String {
    match (&app.user, scope) {
        (_, Scope::User) => "you".into(),
        (Some(crate::core::config::User::Named(u)), _) => u.clone(),
        (Some(crate::core::config::User::Dynamic), _) => "a dynamic user".into(),
        (None, _) => "root".into(),
    }
}

/// Run the jobs of some actions (forgetting needs no job) and wait for them. Units that
/// start or restart are forgotten first: a deploy is deliberate, and systemd's start limit
/// (`max_restarts`) is for crash loops, not for five applies within its window.
fn run(
    sd: &Systemd,
    actions: &[&Action],
    limit: Duration,
) -> Result<Vec<systemd::JobResult>, Failure> {
    let jobs: Vec<(String, systemd::Verb)> = actions
        .iter()
        .filter_map(|a| {
            let v = match a.verb {
                Verb::Start => systemd::Verb::Start,
                Verb::Restart | Verb::Roll => systemd::Verb::Restart,
                Verb::Stop => systemd::Verb::Stop,
                Verb::Forget => return None,
            };
            Some((a.unit.clone(), v))
        })
        .collect();
    let mut done = systemd::block_on(sd.run_jobs_afresh(&jobs, limit))?.into_iter();
    Ok(actions
        .iter()
        .map(|a| match a.verb {
            Verb::Forget => systemd::JobResult {
                unit: a.unit.clone(),
                verb: systemd::Verb::Stop,
                result: systemd::JobOutcome::Done,
            },
            _ => done.next().expect("one result per job"),
        })
        .collect())
}

/// The report of the namespace a unit belongs to.
fn report_of<'a>(planned: &[Planned], reports: &'a mut [Report], unit: &str) -> &'a mut Report {
    let i = planned
        .iter()
        .position(|p| {
            p.plan
                .starts
                .iter()
                .chain(&p.plan.stops)
                .any(|b| b.unit == unit)
        })
        .unwrap_or(0);
    &mut reports[i]
}

fn collect_failures(
    sd: &Systemd,
    opts: &ApplyOptions,
    actions: &[&Action],
    results: &[systemd::JobResult],
    planned: &[Planned],
    reports: &mut [Report],
) {
    for (a, r) in actions.iter().zip(results) {
        if !r.ok() {
            let mut f = failure(sd, opts, a, format!("job {}", r.result));
            if let Some(what) = died_starting(f.result.as_deref()) {
                f.what = what;
            } else if f.result.as_deref() == Some("timeout") {
                let app = planned.iter().find_map(|p| {
                    p.ns.apps
                        .iter()
                        .find(|x| Some(&x.name) == a.app.as_ref() && a.unit.contains('@'))
                        .filter(|_| p.plan.starts.iter().any(|b| b.unit == a.unit))
                });
                if let Some(app) = app {
                    f.what = timed_out(app);
                }
            }
            report_of(planned, reports, &a.unit).failures.push(f);
        }
    }
}

/// What a failed start job means when the unit's result says its process died: the same
/// crash at start that the settle time finds when it dies a moment later.
pub(super) fn died_starting(result: Option<&str>) -> Option<String> {
    matches!(result, Some("exit-code" | "signal" | "core-dump"))
        .then(|| "did not stay up: it exited while it started".to_string())
}

/// A failure with what systemd and the journal say about the unit.
fn failure(sd: &Systemd, opts: &ApplyOptions, a: &Action, what: String) -> UnitFailure {
    let props = systemd::block_on(sd.unit(&a.unit)).unwrap_or_default();
    let result = systemd::text(&props, "Result").filter(|r| !r.is_empty() && r != "success");
    UnitFailure {
        unit: a.unit.clone(),
        app: a.app.clone(),
        verb: a.verb,
        what,
        result,
        logs: crate::adapters::journal::failure_lines(
            &a.unit,
            opts.target.scope == Scope::User,
            systemd::num(&props, "ExecMainStartTimestamp"),
        ),
    }
}

/// What a start that ran out of time waited for, in the app's terms.
fn timed_out(app: &crate::core::config::App) -> String {
    let limit = app
        .start_timeout
        .map_or("90s (systemd's default)".to_string(), |d| d.to_string());
    let listen: Vec<String> = app.listen.iter().map(|l| l.to_string()).collect();
    match app.ready {
        crate::core::config::Ready::Listen if !listen.is_empty() => format!(
            "the app did not listen on {} within start_timeout = {limit}; systemd stopped it (a Node app listens through unitgen's preload: is node_preload off, or does it listen on another port?)",
            listen.join(", ")
        ),
        crate::core::config::Ready::Listen => format!(
            "the app did not accept connections on its PORT within start_timeout = {limit}; systemd stopped it"
        ),
        crate::core::config::Ready::Notify => format!(
            "the app did not send READY=1 within start_timeout = {limit}; systemd stopped it"
        ),
        crate::core::config::Ready::Started => {
            format!("it did not start within start_timeout = {limit}; systemd stopped it")
        }
    }
}

/// Watch the instances that just started for the settle time: one that exits or is restarted
/// in that time crashed at start (PM2's `min_uptime`).
fn settle(
    sd: &Systemd,
    opts: &ApplyOptions,
    began: &[&Action],
    planned: &[Planned],
    reports: &mut [Report],
) -> Result<(), Failure> {
    if began.is_empty() || opts.settle.is_zero() {
        return Ok(());
    }
    let names: Vec<String> = began.iter().map(|a| a.unit.clone()).collect();
    let first = systemd::block_on(sd.loaded(&[], &names))?;
    let mut broken: BTreeMap<String, String> = BTreeMap::new();
    let until = Instant::now() + opts.settle;
    loop {
        let now = systemd::block_on(sd.loaded(&[], &names))?;
        for n in &names {
            if broken.contains_key(n) {
                continue;
            }
            let before = first.get(n);
            let after = now.get(n);
            // A value systemd did not give is unknown, not a change.
            let changed =
                |x: Option<u64>, y: Option<u64>| matches!((x, y), (Some(x), Some(y)) if x != y);
            let same = match (before, after) {
                (Some(b), Some(a)) => {
                    a.active == systemd::ActiveState::Active
                        && !changed(b.main_pid.map(u64::from), a.main_pid.map(u64::from))
                        && !changed(b.restarts, a.restarts)
                }
                _ => false,
            };
            if !same {
                let state = after.map_or("inactive".to_string(), |a| {
                    format!("{} ({})", a.active.as_str(), a.sub)
                });
                broken.insert(n.clone(), state);
            }
        }
        if Instant::now() >= until || broken.len() == names.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100).min(opts.settle));
    }
    for a in began {
        if let Some(state) = broken.get(&a.unit) {
            let what = format!(
                "did not stay up for {:.1} s after it started: it is now {state}",
                opts.settle.as_secs_f64()
            );
            let f = failure(sd, opts, a, what);
            report_of(planned, reports, &a.unit).failures.push(f);
        }
    }
    Ok(())
}
