//! The ecosystem file: its schema, how it is read (with source positions for every value),
//! and how it is checked and resolved into a [`Namespace`] ready to compile.

pub mod cron;
mod parse;
mod resolve;
pub mod value;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::host::Host;
pub use cron::Cron;
pub use parse::{APP_KEYS, TOP_KEYS};
pub(crate) use resolve::normalize;
pub use value::{CpuQuota, Duration, Hardening, Listen, Ready, Restart, Signal, Size, TasksMax};

/// One namespace: the apps of one environment on one machine, fully resolved.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// `prod`, `test`…: the prefix of every unit name.
    pub name: String,
    /// Free text for the target's `Description=`.
    pub description: Option<String>,
    /// The ecosystem file, as an absolute path (named in every generated file).
    pub source: PathBuf,
    /// The namespace slice's limits.
    pub limits: Limits,
    /// The apps, in file order.
    pub apps: Vec<App>,
}

/// cgroup limits for a slice or a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// `MemoryMax=`: the kernel kills past it.
    pub memory_max: Option<Size>,
    /// `MemoryHigh=`: throttled past it.
    pub memory_high: Option<Size>,
    /// `CPUQuota=`.
    pub cpu_quota: Option<CpuQuota>,
    /// `TasksMax=`.
    pub tasks_max: Option<TasksMax>,
}

/// Who an app runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    /// A named user or a numeric uid.
    Named(String),
    /// A transient user allocated by systemd (`DynamicUser=yes`).
    Dynamic,
}

/// One app, with defaults merged, paths made absolute and the program found.
#[derive(Debug, Clone)]
pub struct App {
    /// The app's name, unique in its namespace.
    pub name: String,
    /// Free text for `Description=`.
    pub description: Option<String>,
    /// The program (an absolute path) and its arguments, word for word.
    pub exec: Vec<String>,
    /// `WorkingDirectory=`.
    pub cwd: PathBuf,
    /// How many template instances, `@1..@N`.
    pub instances: u32,
    /// Sockets held by systemd and passed to every instance.
    pub listen: Vec<Listen>,
    /// When an instance counts as up.
    pub ready: Ready,
    /// `TimeoutStartSec=`.
    pub start_timeout: Option<Duration>,
    /// `TimeoutStopSec=`.
    pub stop_timeout: Option<Duration>,
    /// `KillSignal=`.
    pub stop_signal: Option<Signal>,
    /// Signal for an in-place reload (`ExecReload=`).
    pub reload_signal: Option<Signal>,
    /// `Restart=`.
    pub restart: Restart,
    /// `RestartSec=`.
    pub restart_delay: Option<Duration>,
    /// `StartLimitBurst=`.
    pub max_restarts: Option<u32>,
    /// `StartLimitIntervalSec=`.
    pub restart_window: Option<Duration>,
    /// Per-instance cgroup limits.
    pub limits: Limits,
    /// `Environment=`, sorted by name.
    pub env: BTreeMap<String, String>,
    /// `EnvironmentFile=`, absolute.
    pub env_files: Vec<PathBuf>,
    /// `User=` or `DynamicUser=`.
    pub user: Option<User>,
    /// `Group=`.
    pub group: Option<String>,
    /// Ordering after units outside unitgen.
    pub after: Vec<String>,
    /// Hard dependencies on units outside unitgen.
    pub requires: Vec<String>,
    /// Soft dependencies on units outside unitgen.
    pub wants: Vec<String>,
    /// Apps of this namespace to start before this one (and stop after it).
    pub depends_on: Vec<String>,
    /// Restart on a schedule.
    pub cron_restart: Option<Cron>,
    /// The sandboxing profile.
    pub hardening: Hardening,
    /// Extra writable paths under hardening, absolute.
    pub read_write_paths: Vec<PathBuf>,
    /// `SyslogLevelPrefix=`, when set.
    pub log_level_prefix: Option<bool>,
    /// The variable that tells each instance its 0-based number (PM2's `NODE_APP_INSTANCE`),
    /// or none.
    pub instance_var: Option<String>,
    /// A variable whose number grows by one per instance (PM2's `increment_var`).
    pub increment: Option<Increment>,
    /// Load unitgen's Node preload (`NODE_OPTIONS=--require …`).
    pub node_preload: bool,
    /// What the program runs on, as far as its name or first line tells.
    pub runtime: Runtime,
}

/// PM2's `increment_var`: instance 1 gets `base`, instance 2 `base + 1`, and so on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    /// The variable, such as `PORT`.
    pub var: String,
    /// Its value in `env`, which instance 1 gets.
    pub base: u64,
}

/// What an app's program runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// Node.js: `node` itself, or a script whose first line runs node (`npm`, `npx`, `yarn`,
    /// `pnpm`, `ts-node`, `#!/usr/bin/env node`).
    Node,
    /// Anything else.
    Other,
}

/// Read, check and resolve one ecosystem file. Every problem is reported, not only the first.
///
/// `path` is the file as the user named it (used in messages); relative paths inside the file
/// are taken from the file's own directory, `dir`.
pub fn load(path: &Path, text: &str, host: &dyn Host) -> Result<Namespace, Diagnostics> {
    let mut all = load_all(&[(path.to_path_buf(), text.to_string())], host)?;
    Ok(all.remove(0))
}

/// Read, check and resolve several ecosystem files at once, checking them against each other
/// (one namespace per file, no port claimed twice) and against what is installed.
pub fn load_all(
    files: &[(PathBuf, String)],
    host: &dyn Host,
) -> Result<Vec<Namespace>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut parsed = Vec::new();
    for (path, text) in files {
        let source = crate::diagnostic::Source::new(path.clone(), text.clone());
        if let Some(spec) = parse::parse(&source, &mut diags) {
            parsed.push((source, spec));
        }
    }
    let mut seen: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    for (source, spec) in &parsed {
        if let Some(ns) = &spec.namespace {
            let line = source.diag(ns.span.clone(), "", "").line;
            if let Some((first, first_line)) = seen.get(&ns.v) {
                diags.push(
                    source
                        .diag(
                            ns.span.clone(),
                            "namespace",
                            format!(
                                "namespace {:?} is already the namespace of {}:{first_line}",
                                ns.v,
                                first.display()
                            ),
                        )
                        .with_help("one file describes one namespace, all of it: merge the two files, or give each its own namespace"),
                );
            } else {
                seen.insert(ns.v.clone(), (source.path.clone(), line));
            }
        }
    }
    let namespaces = resolve::resolve_all(&parsed, host, &mut diags);
    // In the order of the files, then of lines and columns, as the user reads them; errors at
    // the same place keep the order they were found in.
    let rank = |d: &Diagnostic| {
        files
            .iter()
            .position(|(p, _)| *p == d.file)
            .unwrap_or(usize::MAX)
    };
    diags.0.sort_by_key(|d| (rank(d), d.line, d.col));
    // A bad value in [defaults] is found once per app, and said once.
    let mut said = std::collections::BTreeSet::new();
    diags.0.retain(|d| {
        said.insert((
            d.file.clone(),
            d.line,
            d.col,
            d.key.clone(),
            d.message.clone(),
        ))
    });
    if diags.is_empty() {
        Ok(namespaces)
    } else {
        Err(diags)
    }
}

/// A file that could not be read at all.
pub fn unreadable(path: &Path, err: &std::io::Error) -> Diagnostics {
    let mut d = Diagnostics::default();
    d.push(Diagnostic::whole_file(
        path,
        format!("cannot read the ecosystem file: {err}"),
    ));
    d
}
