//! Merge `[defaults]` into each app, check every value against the rules and the machine, and
//! produce resolved [`Namespace`]s. Every problem is recorded; nothing stops at the first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use super::parse::{AppSpec, FileSpec, Instances, LimitSpec, Sp};
use super::value::{Hardening, Listen, Ready, Restart};
use super::{App, Increment, Limits, Namespace, Runtime, User};
use crate::diagnostic::{did_you_mean, Diagnostics, Source, Span};
use crate::host::Host;
use crate::names;

/// A port or socket an app will hold, with where the file says so.
struct Claim {
    app: String,
    listen: Listen,
    span: Span,
    key: String,
    via_env: bool,
}

struct Ctx<'a> {
    src: &'a Source,
    diags: &'a mut Diagnostics,
    host: &'a dyn Host,
    dir: PathBuf,
}

impl Ctx<'_> {
    fn error(&mut self, span: Span, key: &str, message: String, help: impl Into<Option<String>>) {
        let mut d = self.src.diag(span, key, message);
        d.help = help.into();
        self.diags.push(d);
    }

    /// A path from the file, made absolute against `base` and normalized, or an error if it
    /// cannot be written to a unit file as it is.
    ///
    /// The path as written may not begin or end with white space (one rule for every path).
    /// Once made absolute, `rest_of_line` says whether systemd reads it as the rest of its line
    /// (`WorkingDirectory=`, `EnvironmentFile=`), where white space at the end is lost, or as a
    /// quoted word (`ReadWritePaths=`), where it is kept.
    fn path(&mut self, s: &Sp<String>, base: &Path, rest_of_line: bool) -> Option<PathBuf> {
        let normalized = normalize(&base.join(&s.v));
        let text = normalized.to_string_lossy();
        // Checked after normalizing: "a /." becomes "/srv/a ", whose space systemd strips.
        let check = |t: &str| {
            if rest_of_line {
                unwritable(t)
            } else {
                unwritable_word(t)
            }
        };
        if let Some(why) = unwritable(&s.v).or_else(|| check(&text)) {
            self.error(
                s.span.clone(),
                &s.key,
                format!("this path cannot be written to a unit file faithfully: {why}"),
                "rename the file or directory, or point to it through a symlink with a plain name"
                    .to_string(),
            );
            return None;
        }
        Some(normalized)
    }

    /// A path for a message: under the ecosystem file's directory, relative to the file as
    /// the user named it (`tests/bad/site/.env`); elsewhere, absolute.
    fn show(&self, p: &Path) -> String {
        match p.strip_prefix(&self.dir) {
            Ok(rest) => {
                let base = self.src.path.parent().unwrap_or(Path::new(""));
                let shown = base.join(rest);
                if shown.as_os_str().is_empty() {
                    ".".to_string()
                } else {
                    shown.display().to_string()
                }
            }
            Err(_) => p.display().to_string(),
        }
    }

    /// Check a piece of text that goes to a unit file line as it is (description, names).
    fn text(&mut self, s: &Sp<String>) -> Option<String> {
        if let Some(why) = unwritable(&s.v) {
            self.error(
                s.span.clone(),
                &s.key,
                format!("this text cannot be written to a unit file faithfully: {why}"),
                "keep it on one line, without control characters".to_string(),
            );
            return None;
        }
        Some(s.v.clone())
    }
}

/// The path made absolute and free of `.` and `..`, without looking at the filesystem.
pub(crate) fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// A Unicode noncharacter (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF): systemd 252 refuses a unit
/// file holding one as not UTF-8 clean, escaped or not.
pub(crate) fn noncharacter(s: &str) -> bool {
    s.chars().any(|c| {
        let n = c as u32;
        (0xFDD0..=0xFDEF).contains(&n) || n & 0xFFFE == 0xFFFE
    })
}

/// Why a quoted word (`ReadWritePaths=`) cannot carry this string, if it can't: as
/// [`unwritable`], but white space at the ends survives the quotes.
fn unwritable_word(s: &str) -> Option<&'static str> {
    unwritable(s).filter(|why| !why.contains("white space"))
}

/// Why a value that systemd reads as the rest of a line cannot carry this string, if it can't.
fn unwritable(s: &str) -> Option<&'static str> {
    if s.contains('\0') {
        Some("it contains a NUL byte")
    } else if noncharacter(s) {
        Some("it contains a Unicode noncharacter, which systemd refuses")
    } else if s.contains(['\n', '\r']) {
        Some("it contains a line break")
    } else if s.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if s != s.trim() {
        Some("it begins or ends with white space, which systemd strips")
    } else {
        None
    }
}

fn pick<T: Clone>(app: &Option<T>, defaults: &Option<T>) -> Option<T> {
    app.clone().or_else(|| defaults.clone())
}

fn limits(l: &LimitSpec) -> Limits {
    Limits {
        memory_max: l.memory_max.as_ref().map(|s| s.v),
        memory_high: l.memory_high.as_ref().map(|s| s.v),
        cpu_quota: l.cpu_quota.as_ref().map(|s| s.v),
        tasks_max: l.tasks_max.as_ref().map(|s| s.v),
    }
}

fn unit_names(c: &mut Ctx<'_>, list: &Option<Sp<Vec<Sp<String>>>>) -> Vec<String> {
    let mut out = Vec::new();
    for s in list.iter().flat_map(|l| l.v.iter()) {
        match names::check_foreign_unit(&s.v) {
            Ok(()) => out.push(s.v.clone()),
            Err(help) => c.error(
                s.span.clone(),
                &s.key,
                format!("expected a systemd unit name, found {:?}", s.v),
                help,
            ),
        }
    }
    out
}

fn resolve_app(
    c: &mut Ctx<'_>,
    ns: &str,
    name: &Sp<String>,
    a: &AppSpec,
    d: &AppSpec,
    claims: &mut Vec<Claim>,
) -> Option<App> {
    let errors_before = c.diags.len();
    if let Err(help) = names::check_app(&name.v) {
        c.error(
            name.span.clone(),
            &name.key,
            format!("{:?} cannot be used as an app name", name.v),
            help,
        );
    } else if let Err(why) = names::check_unit_len(ns, &name.v) {
        c.error(
            name.span.clone(),
            &name.key,
            why,
            "use a shorter name".to_string(),
        );
    }
    let description = pick(&a.description, &d.description).and_then(|s| c.text(&s));

    let dir = c.dir.clone();
    // A missing working directory is one error: what is looked for inside it is not another.
    let mut cwd_exists = true;
    let cwd = match pick(&a.cwd, &d.cwd) {
        Some(s) => {
            let p = c.path(&s, &dir, true);
            if let Some(p) = &p {
                if !c.host.is_dir(p) {
                    cwd_exists = false;
                    let shown = c.show(p);
                    c.error(s.span.clone(), &s.key, format!("the working directory {shown} does not exist"),
                        "create it, or fix the path (a relative path is taken from the ecosystem file's directory)".to_string());
                }
            }
            p
        }
        None if a.has("cwd") || d.has("cwd") => None,
        None => Some(dir.clone()),
    };

    let exec = match pick(&a.command, &d.command) {
        // Written, but with a bad value: that has its own error.
        None if a.has("command") || d.has("command") => None,
        None => {
            c.error(
                name.span.clone(),
                &name.key,
                "this app has no `command`".into(),
                "say what to run, like command = \"node dist/server.js\"".to_string(),
            );
            None
        }
        Some(cmd) => resolve_command(c, &cmd, cwd.as_deref(), cwd_exists),
    };

    let instances = match pick(&a.instances, &d.instances) {
        None => 1,
        Some(Sp {
            v: Instances::Count(n),
            ..
        }) => n,
        Some(Sp {
            v: Instances::Max, ..
        }) => c.host.cpu_count().max(1),
    };

    let mut env = BTreeMap::new();
    for (k, v) in d.env.iter().chain(a.env.iter()) {
        if !names::is_env_name(&k.v) {
            c.error(
                k.span.clone(),
                &k.key,
                format!("{:?} is not a valid environment variable name", k.v),
                "use letters, digits and underscores, not starting with a digit".to_string(),
            );
            continue;
        }
        if v.v.contains('\0') {
            c.error(
                v.span.clone(),
                &v.key,
                "the value contains a NUL byte, which no environment can hold".into(),
                "remove the \\u0000 from the value".to_string(),
            );
            continue;
        }
        if noncharacter(&v.v) {
            c.error(
                v.span.clone(),
                &v.key,
                "the value contains a Unicode noncharacter (such as U+FFFF), which systemd refuses"
                    .into(),
                "remove it from the value".to_string(),
            );
            continue;
        }
        env.insert(k.v.clone(), v.v.clone());
    }

    let listen: Vec<Listen> = pick(&a.listen, &d.listen)
        .map(|l| l.v)
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            if let Listen::Unix(p) = &s.v {
                if let Some(why) = unwritable(p) {
                    c.error(
                        s.span.clone(),
                        &s.key,
                        format!(
                            "this socket path cannot be written to a unit file faithfully: {why}"
                        ),
                        None,
                    );
                }
            }
            claims.push(Claim {
                app: name.v.clone(),
                listen: s.v.clone(),
                span: s.span.clone(),
                key: s.key.clone(),
                via_env: false,
            });
            s.v
        })
        .collect();

    // The app binds PORT itself: that port is claimed too (the seed incident was two of those).
    let port_env = a
        .env
        .iter()
        .chain(d.env.iter())
        .find(|(k, _)| k.v == "PORT")
        .map(|(_, v)| v.clone());
    let increment = resolve_increment(c, a, d, &env, instances, &listen);
    let port_increments = increment.as_ref().is_some_and(|i| i.var == "PORT");
    if let Some(pv) = &port_env {
        if let Ok(p) = pv.v.trim().parse::<u16>() {
            let held = listen.iter().any(|l| l.tcp_port() == Some(p));
            if port_increments {
                // Each instance binds a port of its own: base, base + 1, …
                for i in 0..instances {
                    if let Some(port) = p.checked_add(i as u16).filter(|_| i < 65_536) {
                        claims.push(Claim {
                            app: name.v.clone(),
                            listen: Listen::Port(port),
                            span: pv.span.clone(),
                            key: pv.key.clone(),
                            via_env: true,
                        });
                    }
                }
            } else if !held {
                if instances > 1 {
                    c.error(pv.span.clone(), &pv.key,
                        format!("{instances} instances would each bind port {p} themselves; all but one would crash-loop with EADDRINUSE"),
                        format!("add `listen = [{p}]` so that systemd holds the socket and shares it with every instance (the app must accept it as LISTEN_FDS, e.g. server.listen({{fd: 3}}) in Node)"));
                }
                claims.push(Claim {
                    app: name.v.clone(),
                    listen: Listen::Port(p),
                    span: pv.span.clone(),
                    key: pv.key.clone(),
                    via_env: true,
                });
            }
        }
    }

    let ready = pick(&a.ready, &d.ready);
    if let Some(r) = &ready {
        if r.v == Ready::Listen
            && listen.is_empty()
            && port_env
                .as_ref()
                .and_then(|p| p.v.trim().parse::<u16>().ok())
                .is_none()
        {
            c.error(
                r.span.clone(),
                &r.key,
                "ready = \"listen\" needs to know the port: set env.PORT to the port the app binds"
                    .into(),
                None,
            );
        }
    }

    let env_files = pick(&a.env_file, &d.env_file)
        .map(|l| l.v)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| {
            let base = cwd.clone().unwrap_or_else(|| dir.clone());
            let p = c.path(s, &base, true)?;
            let under_missing_cwd = !cwd_exists && Path::new(&s.v).is_relative();
            if !under_missing_cwd && !c.host.is_file(&p) {
                c.error(
                    s.span.clone(),
                    &s.key,
                    format!("the environment file {} does not exist", c.show(&p)),
                    "create it (it may be empty), or fix the path (relative to cwd)".to_string(),
                );
            }
            Some(p)
        })
        .collect();

    let user = pick(&a.user, &d.user).and_then(|u| {
        if u.v == "dynamic" {
            Some(User::Dynamic)
        } else if u.v == "nobody" || u.v == "65534" {
            c.error(
                u.span.clone(),
                &u.key,
                "running as \"nobody\" is not safe: every service that does shares its files and processes".into(),
                "use user = \"dynamic\" for a user of this app's own, made up by systemd".to_string(),
            );
            None
        } else if names::is_user_name(&u.v) {
            Some(User::Named(u.v))
        } else {
            let help = match u.v.split_once(':') {
                Some((user, group)) => format!("give the group on its own: user = {user:?} and group = {group:?}"),
                None => "a user name is letters, digits, '_' and '-', not starting with a digit or '-', at most 31 of them; or a numeric uid; or \"dynamic\" for a user made up by systemd".to_string(),
            };
            c.error(u.span.clone(), &u.key, format!("{:?} is not a valid user name", u.v), help);
            None
        }
    });
    let group = pick(&a.group, &d.group).and_then(|g| {
        if names::is_user_name(&g.v) {
            Some(g.v)
        } else {
            c.error(
                g.span.clone(),
                &g.key,
                format!("{:?} is not a valid group name", g.v),
                "a group name is letters, digits, '_' and '-', not starting with a digit or '-', at most 31 of them; or a numeric gid".to_string(),
            );
            None
        }
    });

    let read_write_paths = pick(&a.read_write_paths, &d.read_write_paths)
        .map(|l| l.v)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| {
            let base = cwd.clone().unwrap_or_else(|| dir.clone());
            let p = c.path(s, &base, false)?;
            if cwd_exists && !c.host.is_dir(&p) && !c.host.is_file(&p) {
                let shown = c.show(&p);
                c.error(
                    s.span.clone(),
                    &s.key,
                    format!("the writable path {shown} does not exist"),
                    "create it (systemd cannot make a missing path writable and would not start the app)".to_string(),
                );
            }
            Some(p)
        })
        .collect();

    let after = unit_names(c, &pick(&a.after, &d.after));
    let requires = unit_names(c, &pick(&a.requires, &d.requires));
    let wants = unit_names(c, &pick(&a.wants, &d.wants));

    let instance_var = match pick(&a.instance_var, &d.instance_var) {
        None => Some("NODE_APP_INSTANCE".to_string()),
        Some(s) if s.v.is_empty() => None,
        Some(s) if names::is_env_name(&s.v) => Some(s.v),
        Some(s) => {
            c.error(
                s.span.clone(),
                &s.key,
                format!("{:?} is not a valid environment variable name", s.v),
                "use letters, digits and underscores, not starting with a digit; or \"\" for no instance variable".to_string(),
            );
            None
        }
    };
    let runtime = exec
        .as_ref()
        .map_or(Runtime::Other, |e| runtime_of(c.host, Path::new(&e[0])));

    // A Node app with `listen` is up when its own server listens (through the preload).
    let default_ready = if !listen.is_empty()
        && runtime == Runtime::Node
        && pick(&a.node_preload, &d.node_preload).is_none_or(|s| s.v)
    {
        Ready::Listen
    } else {
        Ready::Started
    };

    if c.diags.len() > errors_before {
        return None;
    }
    Some(App {
        name: name.v.clone(),
        description,
        exec: exec?,
        cwd: cwd?,
        instances,
        listen,
        ready: ready.map_or(default_ready, |r| r.v),
        start_timeout: pick(&a.start_timeout, &d.start_timeout).map(|s| s.v),
        stop_timeout: pick(&a.stop_timeout, &d.stop_timeout).map(|s| s.v),
        stop_signal: pick(&a.stop_signal, &d.stop_signal).map(|s| s.v),
        reload_signal: pick(&a.reload_signal, &d.reload_signal).map(|s| s.v),
        restart: pick(&a.restart, &d.restart).map_or(Restart::Always, |s| s.v),
        restart_delay: pick(&a.restart_delay, &d.restart_delay).map(|s| s.v),
        max_restarts: pick(&a.max_restarts, &d.max_restarts).map(|s| s.v),
        restart_window: pick(&a.restart_window, &d.restart_window).map(|s| s.v),
        limits: Limits {
            memory_max: pick(&a.memory_max, &d.memory_max).map(|s| s.v),
            memory_high: pick(&a.memory_high, &d.memory_high).map(|s| s.v),
            cpu_quota: pick(&a.cpu_quota, &d.cpu_quota).map(|s| s.v),
            tasks_max: pick(&a.tasks_max, &d.tasks_max).map(|s| s.v),
        },
        env,
        env_files,
        user,
        group,
        after,
        requires,
        wants,
        depends_on: pick(&a.depends_on, &d.depends_on)
            .map(|l| l.v.into_iter().map(|s| s.v).collect())
            .unwrap_or_default(),
        cron_restart: pick(&a.cron_restart, &d.cron_restart).map(|s| s.v),
        hardening: pick(&a.hardening, &d.hardening).map_or(Hardening::Default, |s| s.v),
        read_write_paths,
        log_level_prefix: pick(&a.log_level_prefix, &d.log_level_prefix).map(|s| s.v),
        instance_var,
        increment,
        node_preload: pick(&a.node_preload, &d.node_preload).is_none_or(|s| s.v),
        runtime,
    })
}

/// What a program runs on: `node` by its name, or a script whose `#!` line names node.
fn runtime_of(host: &dyn Host, program: &Path) -> Runtime {
    let is_node = |name: &str| name == "node" || name == "nodejs";
    if program
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_node)
    {
        return Runtime::Node;
    }
    match host.first_line(program) {
        Some(l) if l.starts_with("#!") => {
            let words = l[2..].split_whitespace();
            if words
                .filter(|w| !w.starts_with('-'))
                .take(2)
                .any(|w| is_node(w.rsplit('/').next().unwrap_or(w)))
            {
                Runtime::Node
            } else {
                Runtime::Other
            }
        }
        _ => Runtime::Other,
    }
}

/// PM2's `increment_var`: the variable must be in `env` with a whole number, and cannot be a
/// port the instances would share through `listen`.
fn resolve_increment(
    c: &mut Ctx<'_>,
    a: &AppSpec,
    d: &AppSpec,
    env: &BTreeMap<String, String>,
    instances: u32,
    listen: &[Listen],
) -> Option<Increment> {
    let s = pick(&a.increment_var, &d.increment_var)?;
    if !names::is_env_name(&s.v) {
        c.error(
            s.span.clone(),
            &s.key,
            format!("{:?} is not a valid environment variable name", s.v),
            "name a variable of `env` whose number each instance gets one more of, like increment_var = \"PORT\"".to_string(),
        );
        return None;
    }
    let Some(value) = env.get(&s.v) else {
        c.error(
            s.span.clone(),
            &s.key,
            format!("increment_var names {:?}, which `env` does not set", s.v),
            format!(
                "set its value for the first instance, like env = {{ {} = \"4000\" }}",
                s.v
            ),
        );
        return None;
    };
    let Ok(base) = value.trim().parse::<u64>() else {
        c.error(
            s.span.clone(),
            &s.key,
            format!(
                "increment_var names {:?}, whose value {value:?} is not a whole number",
                s.v
            ),
            None,
        );
        return None;
    };
    if s.v == "PORT" {
        if base.saturating_add(u64::from(instances) - 1) > 65_535 {
            c.error(
                s.span.clone(),
                &s.key,
                format!("{instances} instances from port {base} go past port 65535"),
                None,
            );
            return None;
        }
        if listen
            .iter()
            .any(|l| l.tcp_port() == u16::try_from(base).ok())
        {
            c.error(
                s.span.clone(),
                &s.key,
                "increment_var = \"PORT\" gives each instance a port of its own, but `listen` shares one socket between all of them".into(),
                "keep one: `listen` (one port, zero-downtime reloads) or increment_var (a port per instance, as PM2 did)".to_string(),
            );
            return None;
        }
    }
    Some(Increment { var: s.v, base })
}

/// Find the program: a bare name in `cwd` first, then `PATH`; a relative path from `cwd`.
fn resolve_command(
    c: &mut Ctx<'_>,
    cmd: &Sp<Vec<String>>,
    cwd: Option<&Path>,
    cwd_exists: bool,
) -> Option<Vec<String>> {
    for w in &cmd.v {
        if noncharacter(w) {
            c.error(
                cmd.span.clone(),
                &cmd.key,
                "an argument contains a Unicode noncharacter (such as U+FFFF), which systemd refuses".into(),
                None,
            );
            return None;
        }
        if w.contains('\0') {
            c.error(
                cmd.span.clone(),
                &cmd.key,
                "an argument contains a NUL byte, which no program can receive".into(),
                None,
            );
            return None;
        }
    }
    let prog = &cmd.v[0];
    if prog.contains('$') || prog.chars().any(char::is_control) {
        c.error(
            cmd.span.clone(),
            &cmd.key,
            format!("the program name {prog:?} contains '$' or a control character"),
            None,
        );
        return None;
    }
    let cwd = cwd?;
    let found = if prog.starts_with('/') {
        let p = PathBuf::from(prog);
        c.host.is_executable(&p).then_some(p)
    } else if prog.contains('/') {
        let p = cwd.join(prog);
        c.host.is_executable(&p).then_some(p)
    } else {
        std::iter::once(cwd.to_path_buf())
            .chain(c.host.search_path())
            .map(|d| d.join(prog))
            .find(|p| c.host.is_executable(p))
    };
    let Some(path) = found else {
        if !cwd_exists && !prog.starts_with('/') {
            // Looked for in a directory that is not there: that has its own error.
            return None;
        }
        let script = [".js", ".mjs", ".cjs", ".ts", ".py", ".rb", ".php"]
            .iter()
            .any(|e| prog.ends_with(e));
        let help = if script {
            let interp = if prog.ends_with(".py") {
                "python3"
            } else if prog.ends_with(".rb") {
                "ruby"
            } else if prog.ends_with(".php") {
                "php"
            } else {
                "node"
            };
            format!(
                "a script runs through its interpreter: command = \"{interp} {}\"",
                cmd.v.join(" ")
            )
        } else {
            format!(
                "install it, or give its absolute path (looked in {} and in PATH)",
                c.show(cwd)
            )
        };
        c.error(
            cmd.span.clone(),
            &cmd.key,
            format!("the program {prog:?} was not found or is not executable"),
            help,
        );
        return None;
    };
    let mut exec = vec![path.to_string_lossy().into_owned()];
    exec.extend(cmd.v[1..].iter().cloned());
    Some(exec)
}

/// `depends_on` must name apps of this namespace and form no cycle.
fn check_depends(c: &mut Ctx<'_>, apps: &[(Sp<String>, AppSpec)], defaults: &AppSpec) {
    let known: Vec<&str> = apps.iter().map(|(n, _)| n.v.as_str()).collect();
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, a) in apps {
        let deps = a.depends_on.as_ref().or(defaults.depends_on.as_ref());
        for dep in deps.iter().flat_map(|l| l.v.iter()) {
            if known.contains(&dep.v.as_str()) {
                graph
                    .entry(name.v.as_str())
                    .or_default()
                    .push(dep.v.as_str());
            } else {
                let help = did_you_mean(&dep.v, &known)
                    .map(|s| format!("did you mean {s:?}?"))
                    .unwrap_or_else(|| format!("apps in this file: {}", known.join(", ")));
                c.error(
                    dep.span.clone(),
                    &dep.key,
                    format!("depends on {:?}, which is not an app of this file", dep.v),
                    help,
                );
            }
        }
    }
    // Depth-first search for a cycle, reported once with its path.
    fn visit<'a>(
        n: &'a str,
        g: &BTreeMap<&'a str, Vec<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = stack.iter().position(|&s| s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n);
            return Some(cycle);
        }
        if !done.insert(n) {
            return None;
        }
        stack.push(n);
        for &m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for (name, a) in apps {
        let _ = a;
        if let Some(cycle) = visit(name.v.as_str(), &graph, &mut Vec::new(), &mut done) {
            // Point at the first app of the cycle, where its list says so.
            let (first, spec) = apps
                .iter()
                .find(|(n, _)| n.v == cycle[0])
                .expect("a cycle is made of apps of this file");
            let (span, key) = match spec.depends_on.as_ref().or(defaults.depends_on.as_ref()) {
                Some(list) => list
                    .v
                    .iter()
                    .find(|d| d.v == cycle[1])
                    .map_or((list.span.clone(), list.key.clone()), |d| {
                        (d.span.clone(), d.key.clone())
                    }),
                None => (first.span.clone(), first.key.clone()),
            };
            let how = if cycle.len() == 2 {
                format!("app {:?} depends on itself", cycle[0])
            } else {
                format!("depends_on goes round in a circle: {}", cycle.join(" -> "))
            };
            c.error(
                span,
                &key,
                how,
                "each app must be able to start after the ones it depends on: remove one of these dependencies".to_string(),
            );
            break;
        }
    }
}

/// Two names that turn into the same unit names, or into each other's.
fn check_collisions(c: &mut Ctx<'_>, ns: &str, apps: &[(Sp<String>, AppSpec)], defaults: &AppSpec) {
    let mut stems: BTreeMap<String, String> = BTreeMap::new();
    for (name, a) in apps {
        let mut mine = vec![(names::app_stem(ns, &name.v), format!("app {:?}", name.v))];
        if a.cron_restart.is_some() || defaults.cron_restart.is_some() {
            mine.push((
                names::restart_stem(ns, &name.v),
                format!("the restart timer of app {:?}", name.v),
            ));
        }
        for (stem, what) in mine {
            if let Some(other) = stems.get(&stem.to_ascii_lowercase()) {
                c.error(
                    name.span.clone(),
                    &name.key,
                    format!("{what} and {other} would both get units named {stem}"),
                    "unit names are the namespace, a dash and the app name: rename one of the two apps"
                        .to_string(),
                );
            } else {
                stems.insert(stem.to_ascii_lowercase(), what);
            }
        }
    }
}

fn resolve_file(
    src: &Source,
    f: &FileSpec,
    host: &dyn Host,
    diags: &mut Diagnostics,
    claims: &mut Vec<Claim>,
) -> Option<Namespace> {
    let before = diags.len();
    let abs = host.absolute(&src.path);
    let dir = abs
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let mut c = Ctx {
        src,
        diags,
        host,
        dir,
    };
    if f.empty {
        c.error(
            f.top.clone(),
            "namespace",
            "the file is empty".into(),
            "start with namespace = \"prod\", then an [apps.NAME] table with a command".to_string(),
        );
        return None;
    }
    let ns = match &f.namespace {
        None => {
            c.error(
                f.top.clone(),
                "namespace",
                "the file has no `namespace`".into(),
                "add a first line such as namespace = \"prod\"".to_string(),
            );
            None
        }
        Some(n) => match names::check_namespace(&n.v) {
            Ok(()) => Some(n.v.clone()),
            Err(help) => {
                c.error(
                    n.span.clone(),
                    "namespace",
                    format!("{:?} cannot be used as a namespace", n.v),
                    help,
                );
                None
            }
        },
    };
    let description = f.description.as_ref().and_then(|s| c.text(s));
    let ns_name = ns.clone().unwrap_or_default();
    let mut apps = Vec::new();
    if f.apps.is_empty() && (f.apps_span.is_some() || !f.apps_written) {
        let (span, message) = match &f.apps_span {
            Some(span) => (span.clone(), "[apps] names no app"),
            None => (f.top.clone(), "the file has no apps"),
        };
        c.error(
            span,
            "apps",
            message.into(),
            "add an app: [apps.api] on a line of its own, then command = \"node dist/server.js\""
                .to_string(),
        );
    }
    for (name, spec) in &f.apps {
        if let Some(app) = resolve_app(&mut c, &ns_name, name, spec, &f.defaults, claims) {
            apps.push(app);
        }
    }
    check_depends(&mut c, &f.apps, &f.defaults);
    if ns.is_some() {
        check_collisions(&mut c, &ns_name, &f.apps, &f.defaults);
    }
    if diags.len() > before {
        return None;
    }
    Some(Namespace {
        name: ns?,
        description,
        source: abs,
        limits: limits(&f.limits),
        apps,
    })
}

/// Resolve every file, then check ports across files and against the installed namespaces.
pub fn resolve_all(
    files: &[(Source, FileSpec)],
    host: &dyn Host,
    diags: &mut Diagnostics,
) -> Vec<Namespace> {
    let mut out = Vec::new();
    let mut all_claims: Vec<(usize, String, Claim)> = Vec::new();
    for (i, (src, f)) in files.iter().enumerate() {
        let mut claims = Vec::new();
        if let Some(ns) = resolve_file(src, f, host, diags, &mut claims) {
            out.push(ns);
        }
        let ns = f
            .namespace
            .as_ref()
            .map(|n| n.v.clone())
            .unwrap_or_default();
        all_claims.extend(claims.into_iter().map(|c| (i, ns.clone(), c)));
    }
    let applying: BTreeSet<String> = files
        .iter()
        .filter_map(|(_, f)| f.namespace.as_ref().map(|n| n.v.clone()))
        .collect();
    let installed: Vec<_> = host
        .installed_claims()
        .into_iter()
        .filter(|c| !applying.contains(&c.namespace))
        .collect();
    let what = |l: &Listen| match l {
        Listen::Port(p) => format!("port {p}"),
        Listen::HostPort(h, p) => format!("{h}:{p}"),
        Listen::Unix(path) => format!("the socket {path}"),
    };
    let how = |c: &Claim| {
        if c.via_env {
            format!("binds {} itself (env PORT)", what(&c.listen))
        } else {
            format!("listens on {}", what(&c.listen))
        }
    };
    let how_other = |via_env: bool| if via_env { "binds it" } else { "listens on it" };
    for (k, (i, ns, claim)) in all_claims.iter().enumerate() {
        let src = &files[*i].0;
        // Against earlier claims of this run (each pair reported once).
        if let Some((j, ons, other)) = all_claims[..k]
            .iter()
            .find(|(_, _, o)| o.listen.conflicts(&claim.listen))
        {
            let other_src = &files[*j].0;
            let at = other_src.diag(other.span.clone(), "", "");
            let (message, help) = if j == i && other.app == claim.app {
                (
                    format!("app {:?} lists {} twice", claim.app, what(&claim.listen)),
                    "name each port once".to_string(),
                )
            } else {
                let whose = if ons == ns {
                    format!("app {:?}", other.app)
                } else {
                    format!("app {:?} of namespace {:?}", other.app, ons)
                };
                let place = if j == i {
                    format!("line {}", at.line)
                } else {
                    format!("{}:{}:{}", other_src.path.display(), at.line, at.col)
                };
                (
                    format!(
                        "app {:?} {}, but {whose} already {} ({place})",
                        claim.app,
                        how(claim),
                        how_other(other.via_env)
                    ),
                    "two apps on one port crash-loop with EADDRINUSE: give each app its own port"
                        .to_string(),
                )
            };
            diags.push(
                src.diag(claim.span.clone(), &claim.key, message)
                    .with_help(help),
            );
            continue;
        }
        if let Some(other) = installed.iter().find(|o| o.listen.conflicts(&claim.listen)) {
            let unit = other.origin.file_name().map_or_else(
                || other.origin.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let via_env = !unit.ends_with(".socket");
            let unit = if unit.ends_with(".env") {
                format!("its environment file {}/{unit}", other.namespace)
            } else {
                format!("unit {unit}")
            };
            let message = format!(
                "app {:?} {}, but app {:?} of the installed namespace {:?} already {} ({unit})",
                claim.app,
                how(claim),
                other.app,
                other.namespace,
                how_other(via_env)
            );
            let help = format!(
                "two apps on one port crash-loop with EADDRINUSE: choose another port, or first remove that app (unitgen delete {} -n {})",
                other.app, other.namespace
            );
            diags.push(
                src.diag(claim.span.clone(), &claim.key, message)
                    .with_help(help),
            );
        }
    }
    out
}
