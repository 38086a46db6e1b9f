//! Merge `[defaults]` into each app, check every value against the rules and the machine, and
//! produce resolved [`Namespace`]s. Every problem is recorded; nothing stops at the first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use super::claims;
use super::parse::{AppSpec, FileSpec, Instances, LimitSpec, Sp, WatchSpec};
use super::program::{self, Place};
use super::reach::Cred;
use super::value::{Duration, Hardening, Listen, LogRateLimit, Ready, Restart};
use super::{App, Increment, Limits, Namespace, Runtime, User, Watch};
use crate::adapters::host::{Account, Host};
use crate::core::diagnostic::{did_you_mean, Diagnostics, Source, Span};
use crate::core::names;

/// A port or socket an app will hold, with where the file says so.
struct Claim {
    app: String,
    listen: Listen,
    span: Span,
    key: String,
    via_env: bool,
}

/// Who runs the apps of a file that name no `user`: its owner, when that is an ordinary user.
enum Owner {
    /// The owner of the file (the deploy user owns the checkout; PM2 ran apps as its user).
    User(Account),
    /// No one: the file is owned by root, or by no user of this machine. The words say which.
    NoDefault(String),
}

/// The owner of the ecosystem file, as the default `user` of its apps.
fn file_owner(host: &dyn Host, file: &Path) -> Owner {
    match host.owner(file) {
        Some(0) => Owner::NoDefault("is owned by root".into()),
        Some(uid) => match host.user_by_uid(uid) {
            Some(acct) if acct.name == "nobody" => {
                Owner::NoDefault("is owned by \"nobody\"".into())
            }
            Some(acct) => Owner::User(acct),
            None => Owner::NoDefault(format!(
                "is owned by uid {uid}, which is no user on this machine"
            )),
        },
        None => Owner::NoDefault("has an owner that cannot be read".into()),
    }
}

pub(super) struct Ctx<'a> {
    src: &'a Source,
    diags: &'a mut Diagnostics,
    pub(super) host: &'a dyn Host,
    dir: PathBuf,
    /// Who runs apps that name no `user`.
    owner: Owner,
    /// Apps that name no `user` where the owner cannot stand in.
    needs_user: Vec<Sp<String>>,
}

impl Ctx<'_> {
    pub(super) fn error(
        &mut self,
        span: Span,
        key: &str,
        message: String,
        help: impl Into<Option<String>>,
    ) {
        let mut shared = self.src.diag(span, key, message);
        shared.help = help.into();
        self.diags.push(shared);
    }

    /// A path from the file, made absolute against `base` and normalized, or an error if it
    /// cannot be written to a unit file as it is.
    ///
    /// The path as written may not begin or end with white space (one rule for every path).
    /// Once made absolute, `rest_of_line` says whether systemd reads it as the rest of its line
    /// (`WorkingDirectory=`, `EnvironmentFile=`), where white space at the end is lost, or as a
    /// quoted word (`ReadWritePaths=`), where it is kept.
    /// A path of a list (`watch`, `read_write_paths`) that must exist where the cwd does: an
    /// error naming it (`what` path) otherwise, the path still returned.
    fn existing_path(
        &mut self,
        s: &Sp<String>,
        base: &Path,
        cwd_exists: bool,
        what: &str,
        help: &str,
    ) -> Option<PathBuf> {
        let p = self.path(s, base, false)?;
        if cwd_exists && !self.host.is_dir(&p) && !self.host.is_file(&p) {
            let shown = self.show(&p);
            self.error(
                s.span.clone(),
                &s.key,
                format!("the {what} path {shown} does not exist"),
                help.to_string(),
            );
        }
        Some(p)
    }

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
    pub(super) fn show(&self, p: &Path) -> String {
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
        let line = crate::core::quote::quote(&s.v, crate::core::quote::Context::Line).len();
        let why = unwritable(&s.v).map(str::to_string).or_else(|| {
            (line > program::MAX_LINE - 64).then(|| {
                format!(
                    "it is {line} bytes long, and systemd reads lines of at most {} bytes",
                    program::MAX_LINE
                )
            })
        });
        if let Some(why) = why {
            self.error(
                s.span.clone(),
                &s.key,
                format!("this text cannot be written to a unit file faithfully: {why}"),
                "keep it short, on one line, without control characters".to_string(),
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

/// Who an app runs as, and the credentials its file accesses are checked with.
struct Identity {
    user: Option<User>,
    group: Option<String>,
    cred: Cred,
}

fn resolve_app(
    c: &mut Ctx<'_>,
    ns: &str,
    name: &Sp<String>,
    own: &AppSpec,
    shared: &AppSpec,
    claims: &mut Vec<Claim>,
) -> Option<App> {
    let errors_before = c.diags.len();
    check_app_name(c, ns, name);
    let description = pick(&own.description, &shared.description).and_then(|s| c.text(&s));
    let identity = resolve_identity(c, name, own, shared);
    let (cwd, cwd_exists) = resolve_cwd(c, own, shared);
    let mut env = resolve_env(c, own, shared);
    // What is looked for inside a missing cwd is not another error.
    let base = cwd.as_deref().filter(|_| cwd_exists);
    let exec = resolve_exec(c, name, own, shared, base, &env, identity.as_ref());
    let instances = resolve_instances(c, own, shared);
    let listen = resolve_listen(c, name, own, shared, claims);
    let increment = resolve_increment(c, own, shared, &env, instances, &listen);
    let port_env = claim_port_env(
        c,
        name,
        own,
        shared,
        instances,
        &listen,
        increment.as_ref(),
        claims,
    );
    let ready = resolve_ready(c, own, shared, &listen, port_env);
    let env_files = pick(&own.env_file, &shared.env_file).map(|l| l.v);
    let env_files = resolve_paths(c, env_files, cwd.as_deref(), |c, s, base| {
        env_file(c, s, base, cwd_exists)
    });
    let read_write_paths = pick(&own.read_write_paths, &shared.read_write_paths).map(|l| l.v);
    let read_write_paths = resolve_paths(c, read_write_paths, cwd.as_deref(), |c, s, base| {
        c.existing_path(s, base, cwd_exists, "writable", WRITABLE_HELP)
    });
    let after = unit_names(c, &pick(&own.after, &shared.after));
    let requires = unit_names(c, &pick(&own.requires, &shared.requires));
    let wants = unit_names(c, &pick(&own.wants, &shared.wants));
    let instance_var = resolve_instance_var(c, own, shared);
    let watch = resolve_watch(c, own, shared, cwd.as_deref(), cwd_exists);
    check_restart_limits(c, own, shared);
    let reach = match (&exec, base, &identity) {
        (Some(exec), Some(dir), Some(id)) => {
            resolve_reach(c, name, own, shared, exec, dir, id, &mut env)
        }
        _ => None,
    };
    let runtime = exec.as_ref().map_or(Runtime::Other, |(_, e)| {
        runtime_of(c.host, Path::new(&e[0]))
    });
    // A Node app with `listen` is up when its own server listens (through the preload).
    let default_ready = if !listen.is_empty()
        && runtime == Runtime::Node
        && pick(&own.node_preload, &shared.node_preload).is_none_or(|s| s.v)
    {
        Ready::Listen
    } else {
        Ready::Started
    };
    if c.diags.len() > errors_before {
        return None;
    }
    let (reach, identity) = (reach?, identity?);
    Some(App {
        name: name.v.clone(),
        description,
        exec: exec?.1,
        cwd: cwd?,
        instances,
        listen,
        ready: ready.unwrap_or(default_ready),
        start_timeout: pick(&own.start_timeout, &shared.start_timeout).map(|s| s.v),
        stop_timeout: pick(&own.stop_timeout, &shared.stop_timeout).map(|s| s.v),
        stop_signal: pick(&own.stop_signal, &shared.stop_signal).map(|s| s.v),
        reload_signal: pick(&own.reload_signal, &shared.reload_signal).map(|s| s.v),
        restart: pick(&own.restart, &shared.restart).map_or(Restart::Always, |s| s.v),
        restart_delay: pick(&own.restart_delay, &shared.restart_delay).map(|s| s.v),
        max_restarts: pick(&own.max_restarts, &shared.max_restarts).map(|s| s.v),
        restart_window: pick(&own.restart_window, &shared.restart_window).map(|s| s.v),
        limits: Limits {
            memory_max: pick(&own.memory_max, &shared.memory_max).map(|s| s.v),
            memory_high: pick(&own.memory_high, &shared.memory_high).map(|s| s.v),
            cpu_quota: pick(&own.cpu_quota, &shared.cpu_quota).map(|s| s.v),
            tasks_max: pick(&own.tasks_max, &shared.tasks_max).map(|s| s.v),
        },
        env,
        env_files,
        user: identity.user,
        group: identity.group,
        after,
        requires,
        wants,
        depends_on: pick(&own.depends_on, &shared.depends_on)
            .map(|l| l.v.into_iter().map(|s| s.v).collect())
            .unwrap_or_default(),
        cron_restart: pick(&own.cron_restart, &shared.cron_restart).map(|s| s.v),
        hardening: pick(&own.hardening, &shared.hardening).map_or(Hardening::Default, |s| s.v),
        read_write_paths,
        log_level_prefix: pick(&own.log_level_prefix, &shared.log_level_prefix).map(|s| s.v),
        instance_var,
        increment,
        node_preload: pick(&own.node_preload, &shared.node_preload).is_none_or(|s| s.v),
        runtime,
        programs: reach.programs,
        real_cwd: reach.real_cwd,
        watch,
        log_rate_limit: pick(&own.log_rate_limit, &shared.log_rate_limit)
            .map_or_else(LogRateLimit::default, |s| s.v),
    })
}

/// Why a `read_write_paths` entry must exist.
const WRITABLE_HELP: &str =
    "create it (systemd cannot make a missing path writable and would not start the app)";

/// Whether the app's user can reach its program and cwd (and its command fits the kernel's
/// limit), said at `cwd` or else at the app.
#[allow(clippy::too_many_arguments)]
fn resolve_reach(
    c: &mut Ctx<'_>,
    name: &Sp<String>,
    own: &AppSpec,
    shared: &AppSpec,
    (cmd, argv): &(Sp<Vec<String>>, Vec<String>),
    dir: &Path,
    id: &Identity,
    env: &mut BTreeMap<String, String>,
) -> Option<program::Reach> {
    let place = pick(&own.cwd, &shared.cwd).map_or_else(
        || Place {
            span: name.span.clone(),
            key: format!("{}.cwd", name.key),
        },
        |s| Place::from(&s),
    );
    let reach = program::check_reach(c, cmd, &place, Path::new(&argv[0]), dir, env, &id.cred);
    program::check_arg_max(c, cmd, argv, env);
    reach
}

/// The longest `watch_delay`: past an hour, a change would seem to do nothing.
const MAX_WATCH_DELAY: Duration = Duration(3_600_000);

/// `watch`, `ignore_watch`, `watch_delay`: the paths must exist (inotify watches what is
/// there), relative ones are taken from the app's cwd; the patterns must compile.
fn resolve_watch(
    c: &mut Ctx<'_>,
    own: &AppSpec,
    shared: &AppSpec,
    cwd: Option<&Path>,
    cwd_exists: bool,
) -> Option<Watch> {
    let spec = pick(&own.watch, &shared.watch)?;
    let base = cwd.map_or_else(|| c.dir.clone(), Path::to_path_buf);
    let mut paths = Vec::new();
    match &spec.v {
        WatchSpec::Off => return None,
        WatchSpec::Cwd => paths.push(base.clone()),
        WatchSpec::Paths(list) if list.is_empty() => paths.push(base.clone()),
        WatchSpec::Paths(list) => {
            for s in list {
                let help = "create it, or remove it from `watch` (relative paths are taken from the app's cwd)";
                if let Some(p) = c.existing_path(s, &base, cwd_exists, "watched", help) {
                    paths.push(p);
                }
            }
        }
    }
    let ignore = match pick(&own.ignore_watch, &shared.ignore_watch) {
        None => crate::watch::DEFAULT_IGNORE
            .iter()
            .map(|s| s.to_string())
            .collect(),
        Some(list) => {
            let mut out = Vec::new();
            for s in list.v {
                match crate::watch::check_pattern(&s.v) {
                    Ok(()) => out.push(s.v),
                    Err(why) => c.error(
                        s.span.clone(),
                        &s.key,
                        format!("{:?} is not a glob pattern unitgen can read: {why}", s.v),
                        "ignore_watch holds glob patterns: `node_modules`, `*.log` (any component), `public/uploads` (from the cwd); PM2's regular expressions must be rewritten as globs".to_string(),
                    ),
                }
            }
            out
        }
    };
    let delay = pick(&own.watch_delay, &shared.watch_delay);
    if let Some(dl) = delay.as_ref().filter(|dl| dl.v > MAX_WATCH_DELAY) {
        c.error(
            dl.span.clone(),
            &dl.key,
            format!("watch_delay = \"{}\" is longer than an hour", dl.v),
            "changes settle within seconds: write something like watch_delay = \"1s\"".to_string(),
        );
    }
    Some(Watch {
        paths,
        ignore,
        delay: delay.map_or(Duration(1_000), |s| s.v),
    })
}

/// `command`: the program found (see [`program::resolve_command`]), with the words as
/// written.
fn resolve_exec(
    c: &mut Ctx<'_>,
    name: &Sp<String>,
    own: &AppSpec,
    shared: &AppSpec,
    cwd: Option<&Path>,
    env: &BTreeMap<String, String>,
    identity: Option<&Identity>,
) -> Option<(Sp<Vec<String>>, Vec<String>)> {
    let Some(cmd) = pick(&own.command, &shared.command) else {
        // Written, but with a bad value: that has its own error.
        if !own.has("command") && !shared.has("command") {
            c.error(
                name.span.clone(),
                &name.key,
                "this app has no `command`".into(),
                "say what to run, like command = \"node dist/server.js\"".to_string(),
            );
        }
        return None;
    };
    // The run-as user's home, where the help looks for a Node installed with nvm.
    let home = identity
        .and_then(|i| i.cred.uid)
        .and_then(|uid| c.host.user_by_uid(uid))
        .map(|acct| acct.home);
    let exec = program::resolve_command(c, &cmd, cwd, env, home.as_deref())?;
    Some((cmd, exec))
}

/// The app's name must make valid unit names.
fn check_app_name(c: &mut Ctx<'_>, ns: &str, name: &Sp<String>) {
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
}

/// Who the app runs as: its `user` (which must exist here), else the owner of the file when
/// that is an ordinary user. With `--user`, the calling user, and `user` is an error.
fn resolve_identity(
    c: &mut Ctx<'_>,
    name: &Sp<String>,
    own: &AppSpec,
    shared: &AppSpec,
) -> Option<Identity> {
    let user = pick(&own.user, &shared.user);
    let group = pick(&own.group, &shared.group);
    if c.host.user_manager() {
        return user_manager_identity(c, [user, group]);
    }
    let gid = group.as_ref().map(|g| resolve_group(c, g));
    let found = match &user {
        Some(u) => named_user(c, u, gid.flatten()),
        None if own.has("user") || shared.has("user") => None,
        None => match &c.owner {
            Owner::User(acct) => Some((
                User::Named(acct.name.clone()),
                Cred::of(acct, gid.flatten()),
            )),
            Owner::NoDefault(_) => {
                c.needs_user.push(name.clone());
                None
            }
        },
    };
    let (user, cred) = found?;
    if gid == Some(None) {
        return None;
    }
    Some(Identity {
        user: Some(user),
        group: group.map(|g| g.v),
        cred,
    })
}

/// Under `--user`, the calling user runs every app: `user` and `group` cannot say otherwise.
fn user_manager_identity(c: &mut Ctx<'_>, given: [Option<Sp<String>>; 2]) -> Option<Identity> {
    let mut ok = true;
    for s in given.into_iter().flatten() {
        let key = s.key.rsplit('.').next().unwrap_or("user").to_string();
        c.error(
            s.span.clone(),
            &s.key,
            format!("`{key}` cannot be used with --user: a user's own systemd runs every app as that user"),
            "remove it to run the app under your own systemd, or apply the file to the system's systemd (as root, without --user)".to_string(),
        );
        ok = false;
    }
    let uid = c.host.caller();
    let cred = match c.host.user_by_uid(uid) {
        Some(acct) => Cred::of(&acct, None),
        None => Cred {
            uid: Some(uid),
            gids: Vec::new(),
            shown: format!("uid {uid}"),
        },
    };
    ok.then_some(Identity {
        user: None,
        group: None,
        cred,
    })
}

/// `user = "..."`: "dynamic", or a user of this machine's user database.
fn named_user(c: &mut Ctx<'_>, u: &Sp<String>, gid: Option<u32>) -> Option<(User, Cred)> {
    if u.v == "dynamic" {
        return Some((User::Dynamic, Cred::dynamic(gid)));
    }
    if u.v == "nobody" || u.v == "65534" {
        c.error(
            u.span.clone(),
            &u.key,
            "running as \"nobody\" is not safe: every service that does shares its files and processes".into(),
            "use user = \"dynamic\" for a user of this app's own, made up by systemd".to_string(),
        );
        return None;
    }
    if !names::is_user_name(&u.v) {
        let help = match u.v.split_once(':') {
            Some((user, group)) => format!("give the group on its own: user = {user:?} and group = {group:?}"),
            None => "a user name is letters, digits, '_' and '-', not starting with a digit or '-', at most 31 of them; or a numeric uid; or \"dynamic\" for a user made up by systemd".to_string(),
        };
        c.error(
            u.span.clone(),
            &u.key,
            format!("{:?} is not a valid user name", u.v),
            help,
        );
        return None;
    }
    match c.host.user(&u.v) {
        Some(acct) => Some((User::Named(u.v.clone()), Cred::of(&acct, gid))),
        None => {
            let what = if u.v.chars().all(|ch| ch.is_ascii_digit()) {
                format!("uid {} is no user on this machine", u.v)
            } else {
                format!("there is no user {:?} on this machine", u.v)
            };
            c.error(
                u.span.clone(),
                &u.key,
                format!("{what}: systemd would not start the app (217/USER)"),
                format!("create it first (adduser --system --group {}), or name a user that exists; user = \"dynamic\" runs the app as a transient user made up by systemd", if what.starts_with("uid") { "NAME" } else { &u.v }),
            );
            None
        }
    }
}

/// `group = "..."`: a group of this machine. `None` (with its error) when it is not one.
fn resolve_group(c: &mut Ctx<'_>, g: &Sp<String>) -> Option<u32> {
    if !names::is_user_name(&g.v) {
        c.error(
            g.span.clone(),
            &g.key,
            format!("{:?} is not a valid group name", g.v),
            "a group name is letters, digits, '_' and '-', not starting with a digit or '-', at most 31 of them; or a numeric gid".to_string(),
        );
        return None;
    }
    let gid = c.host.group(&g.v);
    if gid.is_none() {
        c.error(
            g.span.clone(),
            &g.key,
            format!("there is no group {:?} on this machine: systemd would not start the app (216/GROUP)", g.v),
            format!("create it first (addgroup --system {}), or name a group that exists; without `group`, the app runs in its user's own group", g.v),
        );
    }
    gid
}

/// `cwd`: made absolute and checked to be a directory; the file's folder by default. The
/// flag says whether it exists (what is looked for inside a missing one is not another error).
fn resolve_cwd(c: &mut Ctx<'_>, own: &AppSpec, shared: &AppSpec) -> (Option<PathBuf>, bool) {
    let dir = c.dir.clone();
    match pick(&own.cwd, &shared.cwd) {
        Some(s) => {
            let Some(p) = c.path(&s, &dir, true) else {
                return (None, true);
            };
            if c.host.is_dir(&p) {
                return (Some(p), true);
            }
            let shown = c.show(&p);
            let (message, help) = if c.host.is_file(&p) {
                (format!("the working directory {shown} is a file, not a directory"),
                    "name the directory the app runs in (a relative path is taken from the ecosystem file's directory)")
            } else {
                (format!("the working directory {shown} does not exist"),
                    "create it, or fix the path (a relative path is taken from the ecosystem file's directory)")
            };
            c.error(s.span.clone(), &s.key, message, help.to_string());
            (Some(p), false)
        }
        None if own.has("cwd") || shared.has("cwd") => (None, true),
        None => (Some(dir), true),
    }
}

/// `env`, merged over `[defaults]`: each name and value must reach the app intact and within
/// the kernel's limits, and `PATH` must not make the app's directory a place to look.
fn resolve_env(c: &mut Ctx<'_>, own: &AppSpec, shared: &AppSpec) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for (k, v) in shared.env.iter().chain(own.env.iter()) {
        if !names::is_env_name(&k.v) {
            c.error(
                k.span.clone(),
                &k.key,
                format!("{:?} is not a valid environment variable name", k.v),
                "use letters, digits and underscores, not starting with a digit".to_string(),
            );
            continue;
        }
        if let Some((message, help)) = bad_env_value(&k.v, &v.v) {
            c.error(v.span.clone(), &v.key, message, help.to_string());
            continue;
        }
        env.insert(k.v.clone(), v.v.clone());
    }
    env
}

/// Why `NAME=value` cannot be given to the app, if it cannot.
fn bad_env_value(name: &str, value: &str) -> Option<(String, &'static str)> {
    let size = name.len() + 1 + value.len();
    if value.contains('\0') {
        Some((
            "the value contains a NUL byte, which no environment can hold".into(),
            "remove the \\u0000 from the value",
        ))
    } else if noncharacter(value) {
        Some((
            "the value contains a Unicode noncharacter (such as U+FFFF), which systemd refuses"
                .into(),
            "remove it from the value",
        ))
    } else if size >= program::MAX_ARG_STRLEN {
        Some((
            format!(
                "{name}=value is {size} bytes; the kernel starts a program with variables of at most {} bytes each (MAX_ARG_STRLEN), and the app would fail with 203/EXEC",
                program::MAX_ARG_STRLEN - 1
            ),
            "keep large data in a file the app reads, and pass its path",
        ))
    } else if name == "PATH" && value.split(':').any(|shared| !shared.starts_with('/')) {
        Some((
            format!("PATH {value:?} has an empty or relative entry, which env and shells read as the working directory: a program planted there would run"),
            "list absolute directories only, like PATH = \"/opt/node/bin:/usr/bin:/bin\"",
        ))
    } else {
        None
    }
}

/// `instances`: a count, or one per CPU of this machine.
fn resolve_instances(c: &mut Ctx<'_>, own: &AppSpec, shared: &AppSpec) -> u32 {
    match pick(&own.instances, &shared.instances) {
        None => 1,
        Some(Sp {
            v: Instances::Count(n),
            ..
        }) => n,
        Some(Sp {
            v: Instances::Max, ..
        }) => c.host.cpu_count().max(1),
    }
}

/// `listen`: each socket path must fit a unit file and a `sockaddr_un`; every entry is a claim.
fn resolve_listen(
    c: &mut Ctx<'_>,
    name: &Sp<String>,
    own: &AppSpec,
    shared: &AppSpec,
    claims: &mut Vec<Claim>,
) -> Vec<Listen> {
    let mut out = Vec::new();
    for s in pick(&own.listen, &shared.listen)
        .map(|l| l.v)
        .unwrap_or_default()
    {
        if let Listen::Unix(p) = &s.v {
            check_socket_path(c, &s, p);
        }
        claims.push(Claim {
            app: name.v.clone(),
            listen: s.v.clone(),
            span: s.span.clone(),
            key: s.key.clone(),
            via_env: false,
        });
        out.push(s.v);
    }
    out
}

/// The longest Unix socket path: `sun_path` holds 108 bytes, its final NUL included. systemd
/// 252 refuses `ListenStream=` with a longer one, and the socket unit does not load.
const MAX_SOCKET_PATH: usize = 107;

fn check_socket_path(c: &mut Ctx<'_>, s: &Sp<Listen>, p: &str) {
    if let Some(why) = unwritable(p) {
        c.error(
            s.span.clone(),
            &s.key,
            format!("this socket path cannot be written to a unit file faithfully: {why}"),
            None,
        );
    } else if p.len() > MAX_SOCKET_PATH {
        c.error(
            s.span.clone(),
            &s.key,
            format!("this socket path is {} bytes long; a Unix socket path is at most {MAX_SOCKET_PATH} (sun_path holds 108 with the final NUL), and systemd would not load the socket", p.len()),
            "use a shorter path, such as /run/APP/app.sock".to_string(),
        );
    }
}

/// The app binds `env.PORT` itself: that port is claimed too (the seed incident was two of
/// those). Returns the port, when `env.PORT` is one.
#[allow(clippy::too_many_arguments)]
fn claim_port_env(
    c: &mut Ctx<'_>,
    name: &Sp<String>,
    own: &AppSpec,
    shared: &AppSpec,
    instances: u32,
    listen: &[Listen],
    increment: Option<&Increment>,
    claims: &mut Vec<Claim>,
) -> Option<u16> {
    let pv = own
        .env
        .iter()
        .chain(shared.env.iter())
        .find(|(k, _)| k.v == "PORT")
        .map(|(_, v)| v.clone())?;
    let p = pv.v.trim().parse::<u16>().ok()?;
    let claim = |port| Claim {
        app: name.v.clone(),
        listen: Listen::Port(port),
        span: pv.span.clone(),
        key: pv.key.clone(),
        via_env: true,
    };
    if increment.is_some_and(|i| i.var == "PORT") {
        // Each instance binds a port of its own: base, base + 1, …
        for i in 0..instances {
            if let Some(port) = u16::try_from(i).ok().and_then(|i| p.checked_add(i)) {
                claims.push(claim(port));
            }
        }
    } else if !listen.iter().any(|l| l.tcp_port() == Some(p)) {
        if instances > 1 {
            c.error(pv.span.clone(), &pv.key,
                format!("{instances} instances would each bind port {p} themselves; all but one would crash-loop with EADDRINUSE"),
                format!("add `listen = [{p}]` so that systemd holds the socket and shares it with every instance (the app must accept it as LISTEN_FDS, e.g. server.listen({{fd: 3}}) in Node)"));
        }
        claims.push(claim(p));
    }
    Some(p)
}

/// `ready`, as written (`None` when it is not): "listen" needs a port to watch.
fn resolve_ready(
    c: &mut Ctx<'_>,
    own: &AppSpec,
    shared: &AppSpec,
    listen: &[Listen],
    port_env: Option<u16>,
) -> Option<Ready> {
    let r = pick(&own.ready, &shared.ready)?;
    if r.v == Ready::Listen && listen.is_empty() && port_env.is_none() {
        c.error(
            r.span.clone(),
            &r.key,
            "ready = \"listen\" needs to know the port: set env.PORT to the port the app binds"
                .into(),
            None,
        );
    }
    Some(r.v)
}

/// One `env_file`: it must exist. systemd reads it itself, as root and before the sandbox is
/// set up, so neither the profile nor the app's user matters for it.
fn env_file(c: &mut Ctx<'_>, s: &Sp<String>, base: &Path, cwd_exists: bool) -> Option<PathBuf> {
    let p = c.path(s, base, true)?;
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
}

/// The paths of a list key, relative to `cwd` (or the file's directory), each checked and
/// made absolute by `each`, which leaves out the ones it reported.
fn resolve_paths(
    c: &mut Ctx<'_>,
    list: Option<Vec<Sp<String>>>,
    cwd: Option<&Path>,
    mut each: impl FnMut(&mut Ctx<'_>, &Sp<String>, &Path) -> Option<PathBuf>,
) -> Vec<PathBuf> {
    let base = cwd.map_or_else(|| c.dir.clone(), Path::to_path_buf);
    list.unwrap_or_default()
        .iter()
        .filter_map(|s| each(c, s, &base))
        .collect()
}

/// `instance_var`: a variable name, `""` for none, `NODE_APP_INSTANCE` by default.
fn resolve_instance_var(c: &mut Ctx<'_>, own: &AppSpec, shared: &AppSpec) -> Option<String> {
    match pick(&own.instance_var, &shared.instance_var) {
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
    }
}

/// `restart_window` must be a window systemd keeps: 0 turns its start limit off, and the
/// default window ((restart_delay + 1 s) × max_restarts) must be a duration it can hold.
fn check_restart_limits(c: &mut Ctx<'_>, own: &AppSpec, shared: &AppSpec) {
    let window = pick(&own.restart_window, &shared.restart_window);
    if let Some(w) = window.as_ref().filter(|w| w.v.0 == 0) {
        c.error(
            w.span.clone(),
            &w.key,
            "a restart_window of 0 turns systemd's start limit off (StartLimitIntervalSec=0): max_restarts would never stop a crash loop".into(),
            "give the window max_restarts counts starts in, like restart_window = \"60s\"; leave out max_restarts for no limit".to_string(),
        );
    }
    let restart = pick(&own.restart, &shared.restart).map_or(Restart::Always, |s| s.v);
    let Some(n) = pick(&own.max_restarts, &shared.max_restarts) else {
        return;
    };
    if window.is_some() || restart == Restart::Never {
        return;
    }
    let delay = pick(&own.restart_delay, &shared.restart_delay);
    let per = u128::from(delay.as_ref().map_or(100, |s| s.v.0)) + 1_000;
    let ms = per * u128::from(n.v);
    let fits = u64::try_from(ms).is_ok_and(|ms| Duration(ms).fits_systemd());
    if !fits {
        let at = delay.map_or_else(|| Place::from(&n), |s| Place::from(&s));
        c.error(
            at.span,
            &at.key,
            format!("with max_restarts = {}, the default restart_window, (restart_delay + 1s) × {}, is longer than systemd can hold", n.v, n.v),
            "set restart_window to the window max_restarts counts starts in, like \"60s\"".to_string(),
        );
    }
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
    own: &AppSpec,
    shared: &AppSpec,
    env: &BTreeMap<String, String>,
    instances: u32,
    listen: &[Listen],
) -> Option<Increment> {
    let s = pick(&own.increment_var, &shared.increment_var)?;
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

/// `depends_on` must name apps of this namespace and form no cycle.
fn check_depends(c: &mut Ctx<'_>, apps: &[(Sp<String>, AppSpec)], defaults: &AppSpec) {
    let known: Vec<&str> = apps.iter().map(|(n, _)| n.v.as_str()).collect();
    let set: BTreeSet<&str> = known.iter().copied().collect();
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, own) in apps {
        let deps = own.depends_on.as_ref().or(defaults.depends_on.as_ref());
        for dep in deps.iter().flat_map(|l| l.v.iter()) {
            if set.contains(dep.v.as_str()) {
                graph
                    .entry(name.v.as_str())
                    .or_default()
                    .push(dep.v.as_str());
            } else {
                let help = unknown_app_help(&dep.v, &known);
                c.error(
                    dep.span.clone(),
                    &dep.key,
                    format!("depends on {:?}, which is not an app of this file", dep.v),
                    help,
                );
            }
        }
    }
    let roots = apps.iter().map(|(n, _)| n.v.as_str());
    if let Some(cycle) = find_cycle(roots, &graph) {
        report_cycle(c, apps, defaults, &cycle);
    }
}

/// "did you mean", or the apps there are (the first few of them).
fn unknown_app_help(name: &str, known: &[&str]) -> String {
    // Comparing with every name is quadratic over a file of thousands of apps.
    let close = (known.len() <= 1_000)
        .then(|| did_you_mean(name, known))
        .flatten();
    match close {
        Some(s) => format!("did you mean {s:?}?"),
        None if known.len() > 10 => format!(
            "apps in this file: {}, and {} more",
            known[..10].join(", "),
            known.len() - 10
        ),
        None => format!("apps in this file: {}", known.join(", ")),
    }
}

/// The first cycle a depth-first search from each root in turn meets, as the path from the
/// app it comes back to, round to that app again. Iterative: a chain of a hundred thousand
/// apps is as deep as it is long.
fn find_cycle<'a>(
    roots: impl Iterator<Item = &'a str>,
    graph: &BTreeMap<&'a str, Vec<&'a str>>,
) -> Option<Vec<&'a str>> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for root in roots {
        if !seen.insert(root) {
            continue;
        }
        // The path being explored, each app with the index of its next dependency.
        let mut path: Vec<(&str, usize)> = vec![(root, 0)];
        let mut on_path: BTreeSet<&str> = BTreeSet::from([root]);
        while let Some((n, next)) = path.last_mut() {
            let deps = graph.get(*n).map_or(&[][..], Vec::as_slice);
            let Some(&m) = deps.get(*next) else {
                on_path.remove(*n);
                path.pop();
                continue;
            };
            *next += 1;
            if on_path.contains(m) {
                let from = path.iter().position(|(p, _)| *p == m).unwrap_or(0);
                let mut cycle: Vec<&str> = path[from..].iter().map(|(p, _)| *p).collect();
                cycle.push(m);
                return Some(cycle);
            }
            if seen.insert(m) {
                on_path.insert(m);
                path.push((m, 0));
            }
        }
    }
    None
}

/// Point at the first app of the cycle, where its list names the next one.
fn report_cycle(
    c: &mut Ctx<'_>,
    apps: &[(Sp<String>, AppSpec)],
    defaults: &AppSpec,
    cycle: &[&str],
) {
    let Some((first, spec)) = apps.iter().find(|(n, _)| n.v == cycle[0]) else {
        return;
    };
    let (span, key) = match spec.depends_on.as_ref().or(defaults.depends_on.as_ref()) {
        Some(list) => list
            .v
            .iter()
            .find(|shared| shared.v == cycle[1])
            .map_or((list.span.clone(), list.key.clone()), |shared| {
                (shared.span.clone(), shared.key.clone())
            }),
        None => (first.span.clone(), first.key.clone()),
    };
    let how = if cycle.len() == 2 {
        format!("app {:?} depends on itself", cycle[0])
    } else if cycle.len() > 12 {
        format!(
            "depends_on goes round in a circle of {} apps: {} -> … -> {}",
            cycle.len() - 1,
            cycle[..5].join(" -> "),
            cycle[cycle.len() - 5..].join(" -> ")
        )
    } else {
        format!("depends_on goes round in a circle: {}", cycle.join(" -> "))
    };
    c.error(
        span,
        &key,
        how,
        "each app must be able to start after the ones it depends on: remove one of these dependencies".to_string(),
    );
}

/// Two names that turn into the same unit names, or into each other's.
fn check_collisions(c: &mut Ctx<'_>, ns: &str, apps: &[(Sp<String>, AppSpec)], defaults: &AppSpec) {
    let mut stems: BTreeMap<String, String> = BTreeMap::new();
    for (name, own) in apps {
        let mut mine = vec![(names::app_stem(ns, &name.v), format!("app {:?}", name.v))];
        if own.cron_restart.is_some() || defaults.cron_restart.is_some() {
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

/// The fix for a bad entry of `hosts`.
pub(super) const HOST_HELP: &str =
    "give host names as ssh takes them: web1, deploy@web1.example.com, or an alias of ~/.ssh/config";

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
        owner: file_owner(host, &abs),
        needs_user: Vec::new(),
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
    for h in f.hosts.iter().flat_map(|h| &h.v) {
        if let Err(why) = crate::core::fleet::Host::parse(&h.v) {
            c.error(h.span.clone(), &h.key, why, HOST_HELP.to_string());
        }
    }
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
    report_needs_user(&mut c);
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

/// Apps that name no `user` in a file whose owner cannot stand in: one error for them all.
fn report_needs_user(c: &mut Ctx<'_>) {
    let Some(first) = c.needs_user.first().cloned() else {
        return;
    };
    let Owner::NoDefault(why) = &c.owner else {
        return;
    };
    let names: Vec<String> = c.needs_user.iter().map(|n| format!("{:?}", n.v)).collect();
    let apps = match names.len() {
        1 => format!("app {}", names[0]),
        n if n <= 5 => format!("apps {}", names.join(", ")),
        n => format!("apps {} and {} more", names[..4].join(", "), n - 4),
    };
    let message = format!(
        "{apps} name{} no `user`, and {} {why}: an app without `user` runs as the owner of its ecosystem file, never as root unasked",
        if names.len() == 1 { "s" } else { "" },
        c.src.path.display(),
    );
    c.error(
        first.span.clone(),
        &format!("{}.user", first.key),
        message,
        "say who runs them, in [defaults] or per app: user = \"deploy\" (an account of its own), user = \"dynamic\" (a transient user made up by systemd), or user = \"root\" (root, knowingly)".to_string(),
    );
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
    check_claims(files, &all_claims, &installed, diags);
    out
}

fn what(l: &Listen) -> String {
    match l {
        Listen::Port(p) => format!("port {p}"),
        Listen::HostPort(h, p) => format!("{h}:{p}"),
        Listen::Unix(path) => format!("the socket {path}"),
    }
}

fn how(c: &Claim) -> String {
    if c.via_env {
        format!("binds {} itself (env PORT)", what(&c.listen))
    } else {
        format!("listens on {}", what(&c.listen))
    }
}

fn how_other(via_env: bool) -> &'static str {
    if via_env {
        "binds it"
    } else {
        "listens on it"
    }
}

/// No port or socket claimed twice: each claim against the earlier claims of this run (each
/// pair reported once), then against the namespaces installed.
fn check_claims(
    files: &[(Source, FileSpec)],
    all_claims: &[(usize, String, Claim)],
    installed: &[crate::adapters::host::Claim],
    diags: &mut Diagnostics,
) {
    let mut seen = claims::Index::default();
    let mut there = claims::Index::default();
    for (n, other) in installed.iter().enumerate() {
        there.add(n, &other.listen);
    }
    for (k, (i, ns, claim)) in all_claims.iter().enumerate() {
        let src = &files[*i].0;
        let earlier = seen.first_conflict(&claim.listen);
        seen.add(k, &claim.listen);
        let (message, help) = if let Some(j) = earlier {
            conflict_in_run(files, &all_claims[j], (*i, ns, claim))
        } else if let Some(o) = there.first_conflict(&claim.listen) {
            conflict_installed(&installed[o], claim)
        } else {
            continue;
        };
        diags.push(
            src.diag(claim.span.clone(), &claim.key, message)
                .with_help(help),
        );
    }
}

/// Two claims of this run on one port.
fn conflict_in_run(
    files: &[(Source, FileSpec)],
    (j, ons, other): &(usize, String, Claim),
    (i, ns, claim): (usize, &String, &Claim),
) -> (String, String) {
    let other_src = &files[*j].0;
    let at = other_src.diag(other.span.clone(), "", "");
    if *j == i && other.app == claim.app {
        return (
            format!("app {:?} lists {} twice", claim.app, what(&claim.listen)),
            "name each port once".to_string(),
        );
    }
    let whose = if ons == ns {
        format!("app {:?}", other.app)
    } else {
        format!("app {:?} of namespace {:?}", other.app, ons)
    };
    let place = if *j == i {
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
        "two apps on one port crash-loop with EADDRINUSE: give each app its own port".to_string(),
    )
}

/// A claim on a port an installed namespace holds.
fn conflict_installed(other: &crate::adapters::host::Claim, claim: &Claim) -> (String, String) {
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
    (message, help)
}
