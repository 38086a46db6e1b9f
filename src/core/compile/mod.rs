//! A resolved [`Namespace`] compiled into unit files: a slice and a target for the namespace,
//! a template service per app, a socket per app that listens, a timer per scheduled restart.
//! Pure: no filesystem, no D-Bus, no clock.

mod hardening;

use std::path::PathBuf;

use serde::Serialize;

use crate::core::config::{App, Cron, Namespace, Ready, Restart, Runtime, User, Watch};
use crate::core::names;
use crate::core::render::Renderer;

/// Which systemd manager the units are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The system manager (`/etc/systemd/system`).
    #[default]
    System,
    /// The calling user's manager (`~/.config/systemd/user`).
    User,
}

/// Where the generated units will live: the manager, and the paths they refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The system manager or a user's.
    pub scope: Scope,
    /// The directory of the environment files (see [`env_files`]).
    pub env_dir: PathBuf,
    /// unitgen's Node preload (see [`crate::preload`]).
    pub preload: PathBuf,
    /// The unitgen program that an app's watcher runs (`unitgen __watch`).
    pub exe: PathBuf,
    /// The unit directory, when it is not systemd's own (the watcher reads the installed
    /// apps from it).
    pub unit_dir: Option<PathBuf>,
}

impl Target {
    /// The system manager with unitgen's usual paths.
    pub fn system() -> Self {
        Target {
            scope: Scope::System,
            env_dir: PathBuf::from(SYSTEM_ENV_DIR),
            preload: PathBuf::from(SYSTEM_PRELOAD),
            exe: PathBuf::from(PACKAGED_EXE),
            unit_dir: None,
        }
    }

    /// A user manager, its environment files under `env_dir`.
    pub fn user(env_dir: PathBuf, preload: PathBuf) -> Self {
        Target {
            scope: Scope::User,
            env_dir,
            preload,
            exe: PathBuf::from(PACKAGED_EXE),
            unit_dir: None,
        }
    }
}

/// Where the package installs unitgen.
pub const PACKAGED_EXE: &str = "/usr/bin/unitgen";

/// Where `apply` keeps the Node preload for the system manager: state of unitgen's, not a file
/// of the package, so that removing the package leaves the apps that load it able to start.
pub const SYSTEM_PRELOAD: &str = "/var/lib/unitgen/node/preload.cjs";

/// The Node preload, as this build of unitgen ships it: it hands the sockets of `listen` to an
/// unmodified app's own `server.listen(PORT)`, tells when the app listens, and drains
/// connections at stop (runtime/node/preload.cjs).
pub const PRELOAD: &str = include_str!("../../../runtime/node/preload.cjs");

/// Whether Node processes of the app load the preload: Node apps, and any app with `listen`
/// (a script may start Node), unless `node_preload = false`.
pub fn uses_preload(app: &App) -> bool {
    app.node_preload && (app.runtime == Runtime::Node || !app.listen.is_empty())
}

/// `NODE_OPTIONS` with the preload first, then the app's own options.
fn node_options(preload: &std::path::Path, own: Option<&String>) -> String {
    let path = preload.display().to_string();
    let path = if path.contains([' ', '\t', '"', '\\']) {
        format!("\"{}\"", path.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        path
    };
    match own.map(|o| o.trim()).filter(|o| !o.is_empty()) {
        Some(o) => format!("--require {path} {o}"),
        None => format!("--require {path}"),
    }
}

/// Where the system manager's environment files live.
pub const SYSTEM_ENV_DIR: &str = "/etc/unitgen/env";

/// One generated environment file: an app's variables, or one instance's, named by its path
/// under the environment directory (`NS/APP.env`, `NS/APP@N.env`). Only root (or, for a user
/// manager, the user) can read it; systemd reads it when an instance starts.
pub type EnvFile = UnitFile;

/// One generated unit file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    /// The file name, which is the unit name.
    pub name: String,
    /// The whole text.
    pub content: String,
}

#[derive(Serialize)]
struct Head<'a> {
    source: String,
    namespace: &'a str,
    app: &'a str,
    target: String,
}

#[derive(Serialize)]
struct ServiceView<'a> {
    head: Head<'a>,
    description: String,
    after: Vec<String>,
    wants: Vec<String>,
    requires: Vec<String>,
    start_limit: Option<(String, String)>,
    kind: &'static str,
    notify: bool,
    exec: Vec<String>,
    ready_port: Option<String>,
    /// `ready = "listen"` with `listen`: how many sockets the app must be listening on.
    ready_sockets: Option<String>,
    reload: Option<&'static str>,
    cwd: String,
    app_env: String,
    instance_env_prefix: String,
    env_files: Vec<String>,
    user: Option<String>,
    dynamic_user: bool,
    group: Option<&'a str>,
    slice: String,
    socket: Option<String>,
    restart: &'static str,
    restart_sec: Option<String>,
    timeout_start: Option<String>,
    timeout_stop: Option<String>,
    kill_signal: Option<&'static str>,
    log_rate_limit: Vec<String>,
    limits: Vec<String>,
    hardening: Vec<String>,
    read_write_paths: Vec<String>,
    bind_paths: Vec<String>,
    bind_read_only_paths: Vec<String>,
}

#[derive(Serialize)]
struct SocketView<'a> {
    head: Head<'a>,
    listen: Vec<String>,
    service: String,
}

#[derive(Serialize)]
struct SliceView<'a> {
    head: Head<'a>,
    description: String,
    limits: Vec<String>,
}

#[derive(Serialize)]
struct TargetView<'a> {
    head: Head<'a>,
    description: String,
    wants: Vec<String>,
    wanted_by: &'static str,
}

#[derive(Serialize)]
struct TimerView<'a> {
    head: Head<'a>,
    cron: &'a str,
    on_calendar: &'a [String],
}

#[derive(Serialize)]
struct WatchView<'a> {
    head: Head<'a>,
    paths: String,
    slice: String,
    exec: Vec<String>,
}

#[derive(Serialize)]
struct RestartView<'a> {
    head: Head<'a>,
    cron: &'a str,
    commands: Vec<Vec<String>>,
}

fn limit_lines(l: &crate::core::config::Limits) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(m) = l.memory_high {
        v.push(format!("MemoryHigh={m}"));
    }
    if let Some(m) = l.memory_max {
        v.push(format!("MemoryMax={m}"));
        // Without this, a process over the limit could be pushed to swap instead of killed.
        v.push("MemorySwapMax=0".to_string());
    }
    if let Some(c) = l.cpu_quota {
        v.push(format!("CPUQuota={}%", c.0));
    }
    if let Some(t) = l.tasks_max {
        v.push(format!("TasksMax={t}"));
    }
    v
}

/// Every instance unit of every app, in order: what the target wants.
fn instances(ns: &Namespace) -> impl Iterator<Item = String> + '_ {
    ns.apps
        .iter()
        .flat_map(move |a| (1..=a.instances).map(move |i| names::instance(&ns.name, &a.name, i)))
}

fn head<'a>(ns: &'a Namespace, app: &'a str) -> Head<'a> {
    Head {
        source: ns.source.display().to_string(),
        namespace: &ns.name,
        app,
        target: names::target(&ns.name),
    }
}

fn service(ns: &Namespace, app: &App, target: &Target, r: &Renderer) -> UnitFile {
    let scope = target.scope;
    let socket = (!app.listen.is_empty()).then(|| names::socket(&ns.name, &app.name));
    let after = after(ns, app, scope, socket.as_deref());
    let requires: Vec<String> = app.requires.iter().cloned().chain(socket.clone()).collect();
    let ready_port = (app.ready == Ready::Listen && app.listen.is_empty())
        .then(|| {
            app.env
                .get("PORT")
                .and_then(|p| p.trim().parse::<u16>().ok())
                .map(|p| p.to_string())
        })
        .flatten();
    let (user, dynamic_user) = match (&app.user, scope) {
        (_, Scope::User) | (None, _) => (None, false),
        (Some(User::Dynamic), _) => (None, true),
        (Some(User::Named(u)), _) => (Some(u.clone()), false),
    };
    let view = ServiceView {
        head: head(ns, &app.name),
        description: app
            .description
            .clone()
            .unwrap_or_else(|| format!("{}/{}", ns.name, app.name)),
        after,
        wants: app.wants.clone(),
        requires,
        start_limit: start_limit(app),
        kind: if app.ready == Ready::Notify {
            "notify"
        } else {
            "exec"
        },
        notify: app.ready == Ready::Notify,
        exec: logged(ns, app),
        ready_port,
        ready_sockets: (app.ready == Ready::Listen && !app.listen.is_empty())
            .then(|| app.listen.len().to_string()),
        reload: app.reload_signal.as_ref().map(|s| s.0),
        cwd: app.cwd.display().to_string(),
        app_env: target
            .env_dir
            .join(env_file_name(ns, app, None))
            .display()
            .to_string(),
        instance_env_prefix: format!("{}/{}/{}@", target.env_dir.display(), ns.name, app.name),
        env_files: app
            .env_files
            .iter()
            .map(|p| crate::core::config::env_file_pattern(p))
            .collect(),
        user,
        dynamic_user,
        group: if scope == Scope::User {
            None
        } else {
            app.group.as_deref()
        },
        slice: names::slice(&ns.name),
        socket,
        restart: app.restart.systemd(),
        restart_sec: app.restart_delay.map(|d| d.to_string()),
        timeout_start: app.start_timeout.map(|d| d.to_string()),
        timeout_stop: app.stop_timeout.map(|d| d.to_string()),
        kill_signal: app.stop_signal.as_ref().map(|s| s.0),
        log_rate_limit: app.log_rate_limit.directives(),
        limits: limit_lines(&app.limits),
        hardening: hardening::directives(app, scope == Scope::User),
        bind_paths: hardening::bind_paths(app, scope == Scope::User)
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        bind_read_only_paths: hardening::bind_read_only_paths(app, scope == Scope::User)
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        read_write_paths: if app.hardening == crate::core::config::Hardening::Off
            || scope == Scope::User
        {
            Vec::new()
        } else {
            std::iter::once(&app.cwd)
                .chain(app.read_write_paths.iter())
                .map(|p| p.display().to_string())
                .collect()
        },
    };
    UnitFile {
        name: names::template(&ns.name, &app.name),
        content: render(r, "service", &view),
    }
}

/// What an instance starts after: the network (a user manager has none it can see), its
/// socket, the units the app names, and every instance of the apps it `depends_on`; each once.
fn after(ns: &Namespace, app: &App, scope: Scope, socket: Option<&str>) -> Vec<String> {
    let network = (scope == Scope::System).then(|| "network.target".to_string());
    let mut after: Vec<String> = network
        .into_iter()
        .chain(socket.map(str::to_string))
        .collect();
    after.extend(app.after.iter().cloned());
    after.extend(app.requires.iter().cloned());
    after.extend(app.wants.iter().cloned());
    for dep in &app.depends_on {
        if let Some(d) = ns.apps.iter().find(|a| &a.name == dep) {
            after.extend((1..=d.instances).map(|i| names::instance(&ns.name, dep, i)));
        }
    }
    let mut seen = std::collections::HashSet::new();
    after.retain(|u| seen.insert(u.clone()));
    after
}

/// `StartLimitBurst=` and `StartLimitIntervalSec=` from `max_restarts` and `restart_window`
/// (by default long enough for the restarts and their delays).
fn start_limit(app: &App) -> Option<(String, String)> {
    match (app.restart, app.max_restarts) {
        (Restart::Never, _) | (_, None) => None,
        (_, Some(n)) => {
            let window = app.restart_window.unwrap_or_else(|| {
                let per = app.restart_delay.map_or(100, |d| d.0) + 1_000;
                crate::core::config::Duration((per * u64::from(n)).max(10_000))
            });
            Some((n.to_string(), window.to_string()))
        }
    }
}

/// The command line, run through `systemd-cat`: it connects the program's standard output and
/// standard error to the journal as two streams, the second at priority "err", then executes
/// the program in its own place (the main PID is the app's). journald cannot tell the two
/// apart by itself on systemd 252; this is what makes `unitgen logs --err` and
/// `journalctl -p err` work, while plain `journalctl -u` still shows every line.
fn logged(ns: &Namespace, app: &App) -> Vec<String> {
    let mut words = vec![
        "/usr/bin/systemd-cat".to_string(),
        format!("--identifier={}", names::app_stem(&ns.name, &app.name)),
        "--stderr-priority=err".to_string(),
    ];
    if app.log_level_prefix == Some(false) {
        words.push("--level-prefix=false".to_string());
    }
    words.push("--".to_string());
    words.extend(app.exec.iter().cloned());
    words
}

/// The watcher's command line: `unitgen [--user] [--unit-dir=DIR] __watch NS/APP --cwd=DIR
/// --delay=D [--ignore=PATTERN]... -- PATH...`.
fn watch_command(
    ns: &Namespace,
    app: &App,
    w: &crate::core::config::Watch,
    target: &Target,
) -> Vec<String> {
    let mut c = vec![target.exe.display().to_string()];
    if target.scope == Scope::User {
        c.push("--user".into());
    }
    if let Some(d) = &target.unit_dir {
        c.push(format!("--unit-dir={}", d.display()));
    }
    c.push("__watch".into());
    c.push(format!("{}/{}", ns.name, app.name));
    c.push(format!("--cwd={}", app.cwd.display()));
    c.push(format!("--delay={}", w.delay));
    for i in &w.ignore {
        c.push(format!("--ignore={i}"));
    }
    c.push("--".into());
    c.extend(w.paths.iter().map(|p| p.display().to_string()));
    c
}

fn render<T: Serialize>(r: &Renderer, template: &str, view: &T) -> String {
    // The views are built here and the templates ship in the binary: a failure is a bug that
    // the golden tests catch, not something a user's input can cause.
    r.render(template, view)
        .unwrap_or_else(|e| panic!("template {template}: {e}"))
}

/// The name of an app's environment file under the environment directory, or with `instance`
/// one instance's.
pub fn env_file_name(ns: &Namespace, app: &App, instance: Option<&str>) -> String {
    match instance {
        Some(i) => format!("{}/{}@{i}.env", ns.name, app.name),
        None => format!("{}/{}.env", ns.name, app.name),
    }
}

/// The environment files of a namespace: per app its `env`, per instance its number
/// (`instance_var`, 0-based as PM2 counts) and its `increment_var`. An app that listens gets
/// the file of one more instance, the spare that a reload starts before it stops the old one.
pub fn env_files(ns: &Namespace, target: &Target) -> Vec<EnvFile> {
    let head = |what: String| {
        format!(
            "# generated by unitgen from {}; edit that file, not this one\n# {what}\n",
            ns.source.display()
        )
    };
    let mut out = Vec::new();
    for app in &ns.apps {
        let mut text = head(format!("environment of {}/{}", ns.name, app.name));
        let mut vars = app.env.clone();
        if uses_preload(app) {
            vars.insert(
                "NODE_OPTIONS".into(),
                node_options(&target.preload, app.env.get("NODE_OPTIONS")),
            );
            if !app.listen.is_empty() {
                let listen: Vec<String> = app.listen.iter().map(|l| l.to_string()).collect();
                vars.insert(
                    "UNITGEN_LISTEN".into(),
                    serde_json::to_string(&listen).unwrap_or_default(),
                );
                // Drain within the stop timeout, a little before systemd kills.
                let drain = app
                    .stop_timeout
                    .map_or(10_000, |d| d.0.saturating_sub(500).max(100));
                vars.insert("UNITGEN_DRAIN_MS".into(), drain.to_string());
            }
        }
        for (k, v) in &vars {
            text.push_str(&crate::core::quote::env_file_line(k, v));
        }
        out.push(EnvFile {
            name: env_file_name(ns, app, None),
            content: text,
        });
        let last = app.instances + u32::from(!app.listen.is_empty());
        for i in 1..=last {
            let mut text = head(format!("instance {i} of {}/{}", ns.name, app.name));
            if let Some(var) = &app.instance_var {
                text.push_str(&crate::core::quote::env_file_line(
                    var,
                    &(i - 1).to_string(),
                ));
            }
            if let Some(inc) = &app.increment {
                let v = inc.base + u64::from(i - 1);
                text.push_str(&crate::core::quote::env_file_line(&inc.var, &v.to_string()));
            }
            out.push(EnvFile {
                name: env_file_name(ns, app, Some(&i.to_string())),
                content: text,
            });
        }
    }
    out
}

/// Compile a namespace into its unit files, sorted by name.
pub fn compile(ns: &Namespace, target: &Target, r: &Renderer) -> Vec<UnitFile> {
    let description = ns
        .description
        .clone()
        .unwrap_or_else(|| format!("unitgen namespace {}", ns.name));
    let slice = SliceView {
        head: head(ns, ""),
        description: description.clone(),
        limits: limit_lines(&ns.limits),
    };
    let mut out = vec![unit(r, names::slice(&ns.name), "slice", &slice)];
    // What the target starts: the instances, and each app's socket, watcher and timer.
    let mut wanted = Vec::new();
    for app in &ns.apps {
        out.push(service(ns, app, target, r));
        if !app.listen.is_empty() {
            wanted.push(socket_unit(ns, app, r));
        }
        if let Some(w) = &app.watch {
            wanted.push(watch_unit(ns, app, w, target, r));
        }
        if let Some(cron) = &app.cron_restart {
            wanted.push(timer_unit(ns, app, cron, r));
            out.push(restart_unit(ns, app, cron, target.scope, r));
        }
    }
    let wants = instances(ns)
        .chain(wanted.iter().map(|u| u.name.clone()))
        .collect();
    out.extend(wanted);
    let target_view = TargetView {
        head: head(ns, ""),
        description,
        wants,
        wanted_by: if target.scope == Scope::User {
            "default.target"
        } else {
            "multi-user.target"
        },
    };
    out.push(unit(r, names::target(&ns.name), "target", &target_view));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A unit file named `name`, rendered from `template` with `view`.
fn unit<T: Serialize>(r: &Renderer, name: String, template: &str, view: &T) -> UnitFile {
    UnitFile {
        name,
        content: render(r, template, view),
    }
}

/// The socket systemd holds for an app with `listen`.
fn socket_unit(ns: &Namespace, app: &App, r: &Renderer) -> UnitFile {
    let view = SocketView {
        head: head(ns, &app.name),
        listen: app.listen.iter().map(|l| l.to_string()).collect(),
        service: names::instance(&ns.name, &app.name, 1),
    };
    unit(r, names::socket(&ns.name, &app.name), "socket", &view)
}

/// The watcher of an app with `watch`.
fn watch_unit(ns: &Namespace, app: &App, w: &Watch, target: &Target, r: &Renderer) -> UnitFile {
    let paths: Vec<String> = w.paths.iter().map(|p| p.display().to_string()).collect();
    let view = WatchView {
        head: head(ns, &app.name),
        paths: paths.join(" "),
        slice: names::slice(&ns.name),
        exec: watch_command(ns, app, w, target),
    };
    unit(r, names::watch_service(&ns.name, &app.name), "watch", &view)
}

/// The timer of an app with `cron_restart`.
fn timer_unit(ns: &Namespace, app: &App, cron: &Cron, r: &Renderer) -> UnitFile {
    let view = TimerView {
        head: head(ns, &app.name),
        cron: &cron.source,
        on_calendar: &cron.on_calendar,
    };
    unit(r, names::restart_timer(&ns.name, &app.name), "timer", &view)
}

/// The service the timer starts: it restarts the instances one after the other, each waiting
/// for readiness. `try-restart`: an instance that an operator stopped, or that went down for
/// good after max_restarts, stays down; the schedule only renews running ones.
fn restart_unit(ns: &Namespace, app: &App, cron: &Cron, scope: Scope, r: &Renderer) -> UnitFile {
    let systemctl = |unit: String| {
        let mut c = vec!["/usr/bin/systemctl".to_string()];
        if scope == Scope::User {
            c.push("--user".into());
        }
        c.extend(["try-restart".to_string(), unit]);
        c
    };
    let view = RestartView {
        head: head(ns, &app.name),
        cron: &cron.source,
        commands: (1..=app.instances)
            .map(|i| systemctl(names::instance(&ns.name, &app.name, i)))
            .collect(),
    };
    unit(
        r,
        names::restart_service(&ns.name, &app.name),
        "restart",
        &view,
    )
}
