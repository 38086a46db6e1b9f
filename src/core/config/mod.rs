//! The ecosystem file: its schema, how it is read (with source positions for every value),
//! and how it is checked and resolved into a [`Namespace`] ready to compile.

mod claims;
pub mod cron;
mod parse;
mod program;
mod reach;
mod resolve;
pub mod value;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::adapters::host::Host;
use crate::core::diagnostic::{Diagnostic, Diagnostics};
pub use cron::Cron;
pub use parse::{APP_KEYS, TOP_KEYS};
pub use program::SYSTEMD_PATH;
pub(crate) use resolve::normalize;
pub use value::{
    CpuQuota, Duration, Hardening, Listen, LogRateLimit, Ready, Restart, Signal, Size, TasksMax,
};

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
    /// Who the app runs as (`User=` or `DynamicUser=`): its `user`, else the owner of the
    /// ecosystem file. `None` only for a user's own systemd (`--user`), which runs every app
    /// as that user.
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
    /// The program and its interpreter (`#!`), each as written and with its symlinks
    /// resolved: what the sandbox must let the app read and execute.
    pub programs: Vec<PathBuf>,
    /// `cwd` with its symlinks resolved (the same path when it has none).
    pub real_cwd: PathBuf,
    /// Restart when its files change (PM2's `watch`), or not.
    pub watch: Option<Watch>,
    /// journald's rate limit for its lines.
    pub log_rate_limit: LogRateLimit,
}

/// Watch mode: restart the app when a file under `paths` changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// What to watch, recursively, absolute.
    pub paths: Vec<PathBuf>,
    /// Glob patterns of changes to ignore (see [`crate::watch`]).
    pub ignore: Vec<String>,
    /// How long changes must have settled before the restart (`watch_delay`).
    pub delay: Duration,
}

/// An `EnvironmentFile=` path as systemd must be given it: systemd reads the value as a
/// glob(3) pattern (`a[b].env` would load `ab.env`, `s*.env` every match), so `\`, `*`, `?`
/// and `[` are escaped with a backslash, which makes each match only itself.
pub fn env_file_pattern(p: &Path) -> String {
    let mut out = String::new();
    for ch in p.to_string_lossy().chars() {
        if matches!(ch, '\\' | '*' | '?' | '[') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
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

/// The `hosts` of an ecosystem file, each once, from the file alone: the file is read and its
/// keys checked, nothing on this machine (the hosts check it against theirs). A file without
/// `hosts` (or that cannot be read as TOML) has none: it is checked here, as a whole.
pub fn hosts(path: &Path, text: &str) -> Result<Vec<crate::core::fleet::Host>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let source = crate::core::diagnostic::Source::new(path.to_path_buf(), text.to_string());
    let spec = parse::parse(&source, &mut diags);
    let Some(spec) = spec.filter(|s| s.hosts.is_some()) else {
        return Ok(Vec::new());
    };
    let mut hosts = Vec::new();
    for h in spec.hosts.iter().flat_map(|h| &h.v) {
        match crate::core::fleet::Host::parse(&h.v) {
            Ok(host) => hosts.push(host),
            Err(why) => diags.push(
                source
                    .diag(h.span.clone(), &h.key, why)
                    .with_help(resolve::HOST_HELP),
            ),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(crate::core::fleet::dedup(hosts))
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
        let source = crate::core::diagnostic::Source::new(path.clone(), text.clone());
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
    let host = crate::adapters::host::Cached::new(host);
    let namespaces = resolve::resolve_all(&parsed, &host, &mut diags);
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
    unusable(path, format!("cannot read the ecosystem file: {err}"))
}

/// A file that is not one unitgen reads: what it is instead, as a whole-file error.
pub fn unusable(path: &Path, why: String) -> Diagnostics {
    let mut d = Diagnostics::default();
    d.push(Diagnostic::whole_file(path, why));
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::host::FixedHost;

    fn load_with(host: &FixedHost, text: &str) -> Result<Namespace, String> {
        load(Path::new("/srv/app/t.toml"), text, host).map_err(|e| e.to_string())
    }

    const ONE: &str = "namespace = \"t\"\n\n[apps.api]\ncommand = \"node server.js\"\n";

    #[test]
    fn an_app_without_user_runs_as_the_owner_of_the_file() {
        let ns = load_with(&FixedHost::default(), ONE).unwrap();
        assert_eq!(ns.apps[0].user, Some(User::Named("deploy".into())));
    }

    #[test]
    fn a_root_owned_file_must_say_who_runs_its_apps() {
        let host = FixedHost {
            root_owned: true,
            ..Default::default()
        };
        let two = format!("{ONE}\n[apps.worker]\ncommand = \"node worker.js\"\n");
        let err = load_with(&host, &two).unwrap_err();
        assert!(
            err.contains("error: apps.api.user: apps \"api\", \"worker\" name no `user`, and /srv/app/t.toml is owned by root"),
            "{err}"
        );
        assert!(err.contains("1 error found"), "{err}");
        let root = format!("{ONE}user = \"root\"\n");
        let ns = load_with(&host, &root).unwrap();
        assert_eq!(ns.apps[0].user, Some(User::Named("root".into())));
    }

    #[test]
    fn users_and_groups_must_exist() {
        let host = FixedHost {
            unknown_users: vec!["ghost".into(), "nogroup2".into()],
            ..Default::default()
        };
        let err = load_with(
            &host,
            &format!("{ONE}user = \"ghost\"\ngroup = \"nogroup2\"\n"),
        )
        .unwrap_err();
        assert!(
            err.contains("there is no user \"ghost\" on this machine"),
            "{err}"
        );
        assert!(
            err.contains("there is no group \"nogroup2\" on this machine"),
            "{err}"
        );
    }

    #[test]
    fn the_user_manager_runs_apps_as_its_user_and_takes_no_user() {
        let host = FixedHost {
            user_manager: true,
            ..Default::default()
        };
        assert_eq!(load_with(&host, ONE).unwrap().apps[0].user, None);
        let err = load_with(&host, &format!("{ONE}user = \"deploy\"\n")).unwrap_err();
        assert!(err.contains("`user` cannot be used with --user"), "{err}");
    }

    #[test]
    fn a_bare_name_is_found_in_path_only() {
        // FixedHost's PATH is /usr/bin: `./node` in cwd is not looked at.
        let ns = load_with(&FixedHost::default(), ONE).unwrap();
        assert_eq!(ns.apps[0].exec[0], "/usr/bin/node");
        let err = load_with(
            &FixedHost::default(),
            "namespace = \"t\"\n[apps.api]\ncommand = \"server\"\nenv = { PATH = \"/opt/none\" }\n",
        )
        .unwrap_err();
        assert!(
            err.contains("looked in the app's env.PATH: /opt/none"),
            "{err}"
        );
    }

    /// nvm's npm: `#!/usr/bin/env node`, with the node beside it and not in systemd's PATH.
    fn nvm() -> FixedHost {
        let bin = Path::new("/home/deploy/.nvm/versions/node/v20.11.1/bin");
        FixedHost {
            programs: vec![bin.join("npm"), bin.join("node")],
            ..Default::default()
        }
    }

    const NVM: &str = "namespace = \"t\"\n[apps.web]\ncwd = \"/srv/web\"\ncommand = \"/home/deploy/.nvm/versions/node/v20.11.1/bin/npm start\"\n";

    #[test]
    fn a_program_outside_systemds_path_puts_its_directory_first_in_path() {
        let ns = load_with(&nvm(), NVM).unwrap();
        let app = &ns.apps[0];
        assert_eq!(
            app.env.get("PATH").map(String::as_str),
            Some("/home/deploy/.nvm/versions/node/v20.11.1/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        );
        // The interpreter env, and the node it finds there, must be reachable too.
        assert!(app.programs.contains(&PathBuf::from(
            "/home/deploy/.nvm/versions/node/v20.11.1/bin/node"
        )));
        assert!(app.programs.contains(&PathBuf::from("/usr/bin/env")));
        // An app's own PATH is left alone, and used to find `node`.
        let own = format!("{NVM}env = {{ PATH = \"/usr/bin\" }}\n");
        let app = load_with(&nvm(), &own).unwrap().apps.remove(0);
        assert_eq!(app.env["PATH"], "/usr/bin");
        assert!(app.programs.contains(&PathBuf::from("/usr/bin/node")));
    }

    #[test]
    fn env_file_paths_are_literal_globs() {
        assert_eq!(
            env_file_pattern(Path::new("/srv/a[b]/s*?.env\\")),
            "/srv/a\\[b]/s\\*\\?.env\\\\"
        );
        assert_eq!(env_file_pattern(Path::new("/srv/.env")), "/srv/.env");
    }

    #[test]
    fn limits_of_the_kernel_and_of_systemd() {
        let host = FixedHost::default();
        let arg = "x".repeat(131_072);
        let text = format!("{ONE}command = [\"/usr/bin/echo\", \"{arg}\"]\n")
            .replace("command = \"node server.js\"\n", "");
        let err = load_with(&host, &text).unwrap_err();
        assert!(err.contains("an argument is 131072 bytes long"), "{err}");
        // 17 variables of 125,000 bytes: each fits, all together do not.
        let mut env = String::from("[apps.api.env]\n");
        for i in 0..17 {
            env.push_str(&format!("V{i} = \"{}\"\n", "y".repeat(125_000)));
        }
        let err = load_with(&host, &format!("{ONE}{env}")).unwrap_err();
        assert!(err.contains("are too large together"), "{err}");
        let desc = format!("{ONE}description = \"{}\"\n", "d".repeat(1_048_576));
        let err = load_with(&host, &desc).unwrap_err();
        assert!(
            err.contains("systemd reads lines of at most 1048575 bytes"),
            "{err}"
        );
    }
}
