//! Walk the TOML document, keeping each value's position, into a [`FileSpec`]: every key is
//! checked for its name and type here; meaning across keys is checked in `resolve`.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::cron::Cron;
use super::value::*;
use crate::core::diagnostic::{did_you_mean, Diagnostics, Source, Span};

/// A value with the place it came from and its dotted key.
#[derive(Debug, Clone)]
pub struct Sp<T> {
    /// The value.
    pub v: T,
    /// Where it is in the file.
    pub span: Span,
    /// Its dotted key, such as `apps.api.listen`.
    pub key: String,
}

/// `instances`: a count, or one per CPU.
#[derive(Debug, Clone, Copy)]
pub enum Instances {
    /// This many.
    Count(u32),
    /// One per CPU at apply time.
    Max,
}

/// The keys allowed at the top of the file.
pub const TOP_KEYS: &[&str] = &[
    "namespace",
    "description",
    "hosts",
    "limits",
    "defaults",
    "apps",
];
const LIMIT_KEYS: &[&str] = &["memory_max", "memory_high", "cpu_quota", "tasks_max"];
/// The keys allowed in an app table (and in `[defaults]`).
/// How one app key is read into an [`AppSpec`].
type ReadKey = fn(&mut Walker<'_>, &V<'_>, &str, &mut AppSpec);

/// Every app key (and `[defaults]` key) with how it is read, in one place and in the order
/// files and `import` write them: the key list, did-you-mean, the man page's check and
/// import's order all come from here.
macro_rules! app_keys {
    ($($name:literal => $read:expr,)*) => {
        /// The keys allowed in an app table (and in `[defaults]`), in their usual order.
        pub const APP_KEYS: &[&str] = &[$($name),*];
        /// How each of [`APP_KEYS`] is read, in the same order.
        const READ_APP_KEY: &[ReadKey] = &[$($read),*];
    };
}

app_keys! {
    "description" => |w, v, k, a| a.description = w.string(v, k),
    "command" => |w, v, k, a| a.command = w.command(v, k),
    "cwd" => |w, v, k, a| a.cwd = w.string(v, k),
    "instances" => |w, v, k, a| a.instances = w.instances(v, k),
    "listen" => |w, v, k, a| a.listen = w.listen(v, k),
    "ready" => |w, v, k, a| a.ready = w.ready(v, k),
    "start_timeout" => |w, v, k, a| a.start_timeout = w.duration(v, k),
    "stop_timeout" => |w, v, k, a| a.stop_timeout = w.duration(v, k),
    "stop_signal" => |w, v, k, a| a.stop_signal = w.parsed(v, k, Signal::parse),
    "reload_signal" => |w, v, k, a| a.reload_signal = w.parsed(v, k, Signal::parse),
    "memory_max" => |w, v, k, a| a.memory_max = w.size(v, k),
    "memory_high" => |w, v, k, a| a.memory_high = w.size(v, k),
    "cpu_quota" => |w, v, k, a| a.cpu_quota = w.parsed(v, k, CpuQuota::parse),
    "tasks_max" => |w, v, k, a| a.tasks_max = w.tasks(v, k),
    "restart" => |w, v, k, a| a.restart = w.restart(v, k),
    "restart_delay" => |w, v, k, a| a.restart_delay = w.duration(v, k),
    "max_restarts" => |w, v, k, a| a.max_restarts = w.uint(v, k, 1, 100_000),
    "restart_window" => |w, v, k, a| a.restart_window = w.duration(v, k),
    "cron_restart" => |w, v, k, a| a.cron_restart = w.parsed(v, k, Cron::parse),
    "increment_var" => |w, v, k, a| a.increment_var = w.string(v, k),
    "instance_var" => |w, v, k, a| a.instance_var = w.string(v, k),
    "env" => |w, v, k, a| a.env = w.env(v, k),
    "env_file" => |w, v, k, a| a.env_file = w.strings(v, k),
    "user" => |w, v, k, a| a.user = w.string(v, k),
    "group" => |w, v, k, a| a.group = w.string(v, k),
    "after" => |w, v, k, a| a.after = w.strings(v, k),
    "requires" => |w, v, k, a| a.requires = w.strings(v, k),
    "wants" => |w, v, k, a| a.wants = w.strings(v, k),
    "depends_on" => |w, v, k, a| a.depends_on = w.strings(v, k),
    "hardening" => |w, v, k, a| a.hardening = w.hardening(v, k),
    "read_write_paths" => |w, v, k, a| a.read_write_paths = w.strings(v, k),
    "log_level_prefix" => |w, v, k, a| a.log_level_prefix = w.boolean(v, k),
    "node_preload" => |w, v, k, a| a.node_preload = w.boolean(v, k),
    "watch" => |w, v, k, a| a.watch = w.watch(v, k),
    "ignore_watch" => |w, v, k, a| a.ignore_watch = w.strings(v, k),
    "watch_delay" => |w, v, k, a| a.watch_delay = w.duration(v, k),
    "log_rate_limit" => |w, v, k, a| a.log_rate_limit = w.parsed(v, k, LogRateLimit::parse),
}

/// `watch` as written: `true`/`false`, or the paths to watch.
#[derive(Debug, Clone)]
pub enum WatchSpec {
    /// `false`.
    Off,
    /// `true`: the app's working directory.
    Cwd,
    /// These paths (relative to the app's working directory).
    Paths(Vec<Sp<String>>),
}

/// An app table (or `[defaults]`) as written: every key optional.
#[derive(Debug, Clone, Default)]
pub struct AppSpec {
    pub description: Option<Sp<String>>,
    pub command: Option<Sp<Vec<String>>>,
    pub cwd: Option<Sp<String>>,
    pub instances: Option<Sp<Instances>>,
    pub listen: Option<Sp<Vec<Sp<Listen>>>>,
    pub ready: Option<Sp<Ready>>,
    pub start_timeout: Option<Sp<Duration>>,
    pub stop_timeout: Option<Sp<Duration>>,
    pub stop_signal: Option<Sp<Signal>>,
    pub reload_signal: Option<Sp<Signal>>,
    pub restart: Option<Sp<Restart>>,
    pub restart_delay: Option<Sp<Duration>>,
    pub max_restarts: Option<Sp<u32>>,
    pub restart_window: Option<Sp<Duration>>,
    pub memory_max: Option<Sp<Size>>,
    pub memory_high: Option<Sp<Size>>,
    pub cpu_quota: Option<Sp<CpuQuota>>,
    pub tasks_max: Option<Sp<TasksMax>>,
    pub env: Vec<(Sp<String>, Sp<String>)>,
    pub env_file: Option<Sp<Vec<Sp<String>>>>,
    pub user: Option<Sp<String>>,
    pub group: Option<Sp<String>>,
    pub after: Option<Sp<Vec<Sp<String>>>>,
    pub requires: Option<Sp<Vec<Sp<String>>>>,
    pub wants: Option<Sp<Vec<Sp<String>>>>,
    pub depends_on: Option<Sp<Vec<Sp<String>>>>,
    pub cron_restart: Option<Sp<Cron>>,
    pub hardening: Option<Sp<Hardening>>,
    pub read_write_paths: Option<Sp<Vec<Sp<String>>>>,
    pub log_level_prefix: Option<Sp<bool>>,
    pub instance_var: Option<Sp<String>>,
    pub increment_var: Option<Sp<String>>,
    pub node_preload: Option<Sp<bool>>,
    pub watch: Option<Sp<WatchSpec>>,
    pub ignore_watch: Option<Sp<Vec<Sp<String>>>>,
    pub watch_delay: Option<Sp<Duration>>,
    pub log_rate_limit: Option<Sp<LogRateLimit>>,
    /// The keys the table sets, valid or not: a key with a bad value has had its error, and
    /// must not be reported missing as well.
    pub written: Vec<&'static str>,
}

impl AppSpec {
    /// Does the table set this key, even to a bad value?
    pub fn has(&self, key: &str) -> bool {
        self.written.contains(&key)
    }
}

/// Namespace-wide limits as written.
#[derive(Debug, Clone, Default)]
pub struct LimitSpec {
    pub memory_max: Option<Sp<Size>>,
    pub memory_high: Option<Sp<Size>>,
    pub cpu_quota: Option<Sp<CpuQuota>>,
    pub tasks_max: Option<Sp<TasksMax>>,
}

/// A whole file as written.
#[derive(Debug, Clone, Default)]
pub struct FileSpec {
    pub namespace: Option<Sp<String>>,
    pub description: Option<Sp<String>>,
    /// The machines `apply` and `plan` run on over ssh.
    pub hosts: Option<Sp<Vec<Sp<String>>>>,
    pub limits: LimitSpec,
    pub defaults: AppSpec,
    pub apps: Vec<(Sp<String>, AppSpec)>,
    /// Where the file begins, for errors about a missing key.
    pub top: Span,
    /// Where `[apps]` is, when it is there but empty.
    pub apps_span: Option<Span>,
    /// True when `apps` is in the file, even if in error.
    pub apps_written: bool,
    /// True when the file holds no key at all.
    pub empty: bool,
}

struct Walker<'a> {
    src: &'a Source,
    diags: &'a mut Diagnostics,
}

type V<'i> = Spanned<DeValue<'i>>;

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn int_of(v: &DeValue<'_>) -> Option<i64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok(),
        _ => None,
    }
}

/// A number (integer or float) as written, for messages about a number given without a unit.
fn number_of(src: &Source, v: &V<'_>) -> Option<String> {
    match v.get_ref() {
        DeValue::Integer(_) | DeValue::Float(_) => {
            Some(raw(src, &v.span()).unwrap_or("").replace('_', ""))
        }
        _ => None,
    }
}

/// A key as it would be written in a dotted TOML path: bare when it can be, quoted otherwise
/// (`apps."my api".command`).
pub fn key_part(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return k.to_string();
    }
    let mut out = String::from("\"");
    for c in k.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// PM2's names for what an app says, and what to write here instead.
const PM2_KEYS: &[(&str, &str)] = &[
    ("name", "an app's name is the name of its table, as in [apps.api]"),
    ("script", "`script` is PM2's: here the program and its arguments are one `command`, like command = \"node dist/server.js\""),
    ("args", "`args` is PM2's: put the arguments at the end of `command`, like command = \"node dist/server.js --port 3000\""),
    ("interpreter", "`interpreter` is PM2's: put the interpreter first in `command`, like command = \"node dist/server.js\""),
    ("interpreter_args", "`interpreter_args` is PM2's: put them in `command`, like command = \"node --max-old-space-size=512 dist/server.js\""),
    ("node_args", "`node_args` is PM2's: put them in `command`, like command = \"node --max-old-space-size=512 dist/server.js\""),
    ("exec_mode", "`exec_mode` is PM2's: there is no cluster mode; `instances` runs that many copies and `listen` lets them share one port"),
    ("kill_timeout", "`kill_timeout` is PM2's name: here it is `stop_timeout`, with a unit (PM2 counts milliseconds), like stop_timeout = \"5s\""),
    ("listen_timeout", "`listen_timeout` is PM2's: PM2 counted the app up once it had passed; here `start_timeout` is how long an instance may take to be ready before it fails, with a unit, like start_timeout = \"30s\""),
    ("kill_signal", "`kill_signal` is PM2's name: here it is `stop_signal`, like stop_signal = \"SIGINT\""),
    ("max_memory_restart", "`max_memory_restart` is PM2's name: here it is `memory_max`, like memory_max = \"500M\""),
    ("autorestart", "`autorestart` is PM2's: here it is `restart`, \"always\" (autorestart = true) or \"never\" (autorestart = false)"),
    ("wait_ready", "`wait_ready` is PM2's: here it is `ready`, \"listen\" (up when the app listens on its port) or \"notify\" (the app sends READY=1 with sd_notify instead of process.send('ready'))"),
    ("min_uptime", "`min_uptime` is PM2's: here `max_restarts` within `restart_window` decides when an app is errored, like restart_window = \"60s\""),
    ("exp_backoff_restart_delay", "`exp_backoff_restart_delay` is PM2's: here the delay is fixed, like restart_delay = \"4s\""),
    ("uid", "`uid` is PM2's name: here it is `user`, a name or a numeric uid in quotes"),
    ("gid", "`gid` is PM2's name: here it is `group`, a name or a numeric gid in quotes"),
    ("watch_options", "`watch_options` is PM2's (chokidar's options): here `watch` always uses inotify, and `ignore_watch` and `watch_delay` are the settings"),
    ("error_file", "output goes to the journal here, not to files: read it with `unitgen logs NAME`"),
    ("out_file", "output goes to the journal here, not to files: read it with `unitgen logs NAME`"),
    ("log_file", "output goes to the journal here, not to files: read it with `unitgen logs NAME`"),
    ("merge_logs", "output goes to the journal here, not to files: read it with `unitgen logs NAME`"),
    ("log_date_format", "the journal stamps every line itself: read it with `unitgen logs NAME`"),
    ("time", "the journal stamps every line itself: read it with `unitgen logs NAME`"),
    ("pid_file", "systemd tracks the processes itself: there is no pid file"),
    ("port", "to hold the port in systemd and share it between instances, write listen = [3000]; to tell the app its port, env = { PORT = \"3000\" }"),
];

/// What to say about an unknown app key PM2 users write, if it is one.
fn pm2_hint(name: &str) -> Option<String> {
    if let Some((_, hint)) = PM2_KEYS.iter().find(|(k, _)| *k == name) {
        return Some((*hint).to_string());
    }
    if let Some(env) = name.strip_prefix("env_") {
        if !env.is_empty() && env != "file" {
            return Some(format!("`{name}` is PM2's per-environment env: here each environment has its own file, so put these variables in `env` of the {env} file"));
        }
    }
    None
}

/// The raw source text of a span, when it is on one line and short enough to quote back.
fn raw<'s>(src: &'s Source, span: &Span) -> Option<&'s str> {
    let t = src.text.get(span.clone())?;
    (!t.contains('\n') && t.len() <= 60).then_some(t)
}

impl Walker<'_> {
    fn error(&mut self, span: Span, key: &str, message: String, help: Option<String>) {
        let mut d = self.src.diag(span, key, message);
        d.help = help;
        self.diags.push(d);
    }

    fn wrong_type(&mut self, v: &V<'_>, key: &str, expected: &str, help: Option<String>) {
        let found = type_name(v.get_ref());
        let text = raw(self.src, &v.span());
        // `user = "1000"`, or just `"1000"` inside a list
        let assign = |value: &str| match key.rsplit('.').next() {
            Some(name) if !key.ends_with(']') => format!("{name} = {value}"),
            _ => value.to_string(),
        };
        let help = help.or_else(|| match v.get_ref() {
            DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_)
                if expected.starts_with("a string") =>
            {
                text.map(|t| format!("put it in quotes: {}", assign(&format!("\"{t}\""))))
            }
            DeValue::String(s)
                if expected.starts_with("a whole number") && s.trim().parse::<i64>().is_ok() =>
            {
                Some(format!("remove the quotes: {}", assign(s.trim())))
            }
            _ => None,
        });
        self.error(
            v.span(),
            key,
            format!("expected {expected}, found {found}"),
            help,
        );
    }

    fn unknown_key(
        &mut self,
        k: &Spanned<std::borrow::Cow<'_, str>>,
        prefix: &str,
        known: &[&str],
    ) {
        let name = k.get_ref().as_ref();
        let table = prefix.trim_end_matches('.');
        let is_app = known == APP_KEYS;
        let help = if TOP_KEYS.contains(&name) && !prefix.is_empty() {
            format!("`{name}` belongs at the top of the file, above the first [table]: here it is read as part of [{table}]")
        } else if let Some(hint) = is_app.then(|| pm2_hint(name)).flatten() {
            hint
        } else if let Some(s) = did_you_mean(name, known) {
            format!("did you mean `{s}`?")
        } else {
            format!("known keys here: {}", known.join(", "))
        };
        let message = if prefix.is_empty() {
            "unknown key at the top of the file".to_string()
        } else {
            format!("unknown key in [{table}]")
        };
        self.error(
            k.span(),
            &format!("{prefix}{}", key_part(name)),
            message,
            Some(help),
        );
    }

    fn string(&mut self, v: &V<'_>, key: &str) -> Option<Sp<String>> {
        match v.get_ref() {
            DeValue::String(s) => Some(Sp {
                v: s.to_string(),
                span: v.span(),
                key: key.into(),
            }),
            _ => {
                self.wrong_type(v, key, "a string", None);
                None
            }
        }
    }

    /// A string run through a value parser.
    fn parsed<T>(
        &mut self,
        v: &V<'_>,
        key: &str,
        f: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Option<Sp<T>> {
        if !matches!(v.get_ref(), DeValue::String(_)) {
            // A number or a boolean: say how to write it, from what the parser makes of it.
            let text = raw(self.src, &v.span());
            let help = match text.map(|t| (t, f(t))) {
                Some((t, Ok(_))) => Some(format!("put it in quotes: \"{t}\"")),
                Some((_, Err((_, help)))) => help,
                None => None,
            };
            self.wrong_type(v, key, "a string", help);
            return None;
        }
        let s = self.string(v, key)?;
        match f(&s.v) {
            Ok(t) => Some(Sp {
                v: t,
                span: s.span,
                key: s.key,
            }),
            Err((msg, help)) => {
                self.error(s.span, key, format!("expected {msg}"), help);
                None
            }
        }
    }

    /// One of a few words; `aliases` are what people write instead (`true`, systemd's or PM2's
    /// words) and the word they mean.
    fn choice<T: Copy>(
        &mut self,
        v: &V<'_>,
        key: &str,
        options: &[(&str, T)],
        aliases: &[(&str, &str)],
    ) -> Option<Sp<T>> {
        let names: Vec<&str> = options.iter().map(|o| o.0).collect();
        let list = names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let alias = |s: &str| aliases.iter().find(|a| a.0 == s).map(|a| a.1);
        if let DeValue::Boolean(b) = v.get_ref() {
            let help = alias(&b.to_string()).map(|n| format!("did you mean {n:?}?"));
            self.error(
                v.span(),
                key,
                format!("expected one of {list}, found {b}"),
                help,
            );
            return None;
        }
        self.parsed(v, key, |s| {
            options
                .iter()
                .find(|o| o.0 == s)
                .map(|o| o.1)
                .ok_or_else(|| {
                    let help = alias(s)
                        .or_else(|| did_you_mean(s, &names))
                        .map(|n| format!("did you mean {n:?}?"));
                    (format!("one of {list}, found {s:?}"), help)
                })
        })
    }

    fn uint(&mut self, v: &V<'_>, key: &str, min: i64, max: i64) -> Option<Sp<u32>> {
        match int_of(v.get_ref()) {
            Some(n) if (min..=max).contains(&n) => Some(Sp {
                v: n as u32,
                span: v.span(),
                key: key.into(),
            }),
            Some(n) => {
                self.error(
                    v.span(),
                    key,
                    format!("expected a whole number from {min} to {max}, found {n}"),
                    None,
                );
                None
            }
            None => {
                self.wrong_type(v, key, "a whole number", None);
                None
            }
        }
    }

    fn boolean(&mut self, v: &V<'_>, key: &str) -> Option<Sp<bool>> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(Sp {
                v: *b,
                span: v.span(),
                key: key.into(),
            }),
            _ => {
                self.wrong_type(v, key, "true or false", None);
                None
            }
        }
    }

    /// A string or a list of strings (a lone string is a list of one).
    fn strings(&mut self, v: &V<'_>, key: &str) -> Option<Sp<Vec<Sp<String>>>> {
        let items: Vec<Sp<String>> = match v.get_ref() {
            DeValue::String(_) => vec![self.string(v, key)?],
            DeValue::Array(a) => {
                let mut out = Vec::new();
                for (i, item) in a.iter().enumerate() {
                    if let Some(s) = self.string(item, &format!("{key}[{i}]")) {
                        out.push(s);
                    }
                }
                out
            }
            _ => {
                self.wrong_type(v, key, "a string or a list of strings", None);
                return None;
            }
        };
        Some(Sp {
            v: items,
            span: v.span(),
            key: key.into(),
        })
    }

    /// `watch`: true, false, or a path or list of paths.
    fn instances(&mut self, v: &V<'_>, key: &str) -> Option<Sp<Instances>> {
        match v.get_ref() {
            DeValue::String(s) if s == "max" => Some(Sp {
                v: Instances::Max,
                span: v.span(),
                key: key.into(),
            }),
            DeValue::String(s) => {
                let help = if s.trim().parse::<u32>().is_ok() {
                    format!("remove the quotes: instances = {}", s.trim())
                } else {
                    "write a number, like instances = 4, or \"max\" for one per CPU".to_string()
                };
                self.error(
                    v.span(),
                    key,
                    format!("expected a whole number or \"max\", found {s:?}"),
                    Some(help),
                );
                None
            }
            _ => self.uint(v, key, 1, 1024).map(|s| Sp {
                v: Instances::Count(s.v),
                span: s.span,
                key: s.key,
            }),
        }
    }

    fn ready(&mut self, v: &V<'_>, key: &str) -> Option<Sp<Ready>> {
        self.choice(
            v,
            key,
            &[
                ("started", Ready::Started),
                ("notify", Ready::Notify),
                ("listen", Ready::Listen),
            ],
            &[
                ("true", "notify"),
                ("wait_ready", "notify"),
                ("sd_notify", "notify"),
                ("ready", "notify"),
                ("port", "listen"),
            ],
        )
    }

    fn restart(&mut self, v: &V<'_>, key: &str) -> Option<Sp<Restart>> {
        self.choice(
            v,
            key,
            &[
                ("always", Restart::Always),
                ("on-failure", Restart::OnFailure),
                ("never", Restart::Never),
            ],
            &[
                ("true", "always"),
                ("false", "never"),
                ("no", "never"),
                ("unless-stopped", "always"),
                ("on-abnormal", "on-failure"),
                ("on-abort", "on-failure"),
                ("on-watchdog", "on-failure"),
            ],
        )
    }

    fn hardening(&mut self, v: &V<'_>, key: &str) -> Option<Sp<Hardening>> {
        self.choice(
            v,
            key,
            &[
                ("default", Hardening::Default),
                ("strict", Hardening::Strict),
                ("off", Hardening::Off),
            ],
            &[
                ("true", "default"),
                ("on", "default"),
                ("false", "off"),
                ("none", "off"),
                ("disabled", "off"),
            ],
        )
    }

    fn watch(&mut self, v: &V<'_>, key: &str) -> Option<Sp<WatchSpec>> {
        let w = match v.get_ref() {
            DeValue::Boolean(true) => WatchSpec::Cwd,
            DeValue::Boolean(false) => WatchSpec::Off,
            DeValue::String(_) | DeValue::Array(_) => WatchSpec::Paths(self.strings(v, key)?.v),
            _ => {
                self.wrong_type(
                    v,
                    key,
                    "true, false, or a list of paths",
                    Some(
                        "for example watch = true (the app's cwd) or watch = [\"src\", \"config\"]"
                            .into(),
                    ),
                );
                return None;
            }
        };
        Some(Sp {
            v: w,
            span: v.span(),
            key: key.into(),
        })
    }

    fn table<'t, 'i>(&mut self, v: &'t V<'i>, key: &str) -> Option<&'t DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(v, key, "a table", None);
                None
            }
        }
    }

    fn size(&mut self, v: &V<'_>, key: &str) -> Option<Sp<Size>> {
        if let Some(n) = number_of(self.src, v) {
            let help = Some(format!(
                "write it as a string with a unit, like \"{n}M\" for {n} MiB (\"{n}\" alone would be {n} bytes)"
            ));
            self.error(
                v.span(),
                key,
                format!("expected a size string like \"500M\", found the number {n}"),
                help,
            );
            return None;
        }
        self.parsed(v, key, Size::parse)
    }

    fn duration(&mut self, v: &V<'_>, key: &str) -> Option<Sp<Duration>> {
        if let Some(n) = number_of(self.src, v) {
            let help = Some(if n.contains('.') {
                format!("say which unit, like \"{n}s\"")
            } else {
                format!("say which unit: \"{n}ms\" (PM2 counts milliseconds) or \"{n}s\"")
            });
            self.error(
                v.span(),
                key,
                format!("expected a duration string like \"4s\", found the number {n}"),
                help,
            );
            return None;
        }
        self.parsed(v, key, Duration::parse)
    }

    fn tasks(&mut self, v: &V<'_>, key: &str) -> Option<Sp<TasksMax>> {
        if let Some(n) = int_of(v.get_ref()) {
            if n > 0 {
                return Some(Sp {
                    v: TasksMax::Count(n as u64),
                    span: v.span(),
                    key: key.into(),
                });
            }
        }
        if let DeValue::String(s) = v.get_ref() {
            if s == "infinity" {
                return Some(Sp {
                    v: TasksMax::Infinity,
                    span: v.span(),
                    key: key.into(),
                });
            }
        }
        let found = raw(self.src, &v.span()).unwrap_or(type_name(v.get_ref()));
        self.error(
            v.span(),
            key,
            format!("expected a positive whole number or \"infinity\", found {found}"),
            None,
        );
        None
    }

    fn limit(&mut self, k: &str, v: &V<'_>, key: &str, l: &mut LimitSpec) -> bool {
        match k {
            "memory_max" => l.memory_max = self.size(v, key),
            "memory_high" => l.memory_high = self.size(v, key),
            "cpu_quota" => l.cpu_quota = self.parsed(v, key, CpuQuota::parse),
            "tasks_max" => l.tasks_max = self.tasks(v, key),
            _ => return false,
        }
        true
    }

    fn command(&mut self, v: &V<'_>, key: &str) -> Option<Sp<Vec<String>>> {
        let words = match v.get_ref() {
            DeValue::String(s) => match shlex::split(s) {
                Some(w) => w,
                None => {
                    self.error(
                        v.span(),
                        key,
                        "the command has an unclosed quote or a trailing backslash".into(),
                        Some("close the quote, or give the command as an array of words".into()),
                    );
                    return None;
                }
            },
            DeValue::Array(a) => {
                let list = self.strings(&Spanned::new(v.span(), DeValue::Array(a.clone())), key)?;
                list.v.into_iter().map(|s| s.v).collect()
            }
            _ => {
                self.wrong_type(v, key, "a string or an array of strings", None);
                return None;
            }
        };
        if words.is_empty() || words[0].is_empty() {
            self.error(
                v.span(),
                key,
                "the command is empty".into(),
                Some("name the program to run, like \"node dist/server.js\"".into()),
            );
            return None;
        }
        Some(Sp {
            v: words,
            span: v.span(),
            key: key.into(),
        })
    }

    fn listen(&mut self, v: &V<'_>, key: &str) -> Option<Sp<Vec<Sp<Listen>>>> {
        let one = |w: &mut Self, item: &V<'_>, key: &str| -> Option<Sp<Listen>> {
            if let Some(n) = int_of(item.get_ref()) {
                return match Listen::port(n) {
                    Some(l) => Some(Sp {
                        v: l,
                        span: item.span(),
                        key: key.into(),
                    }),
                    None => {
                        w.error(
                            item.span(),
                            key,
                            format!("expected a port from 1 to 65535, found {n}"),
                            None,
                        );
                        None
                    }
                };
            }
            if !matches!(item.get_ref(), DeValue::String(_)) {
                w.wrong_type(
                    item,
                    key,
                    "a port, \"host:port\" or a socket path",
                    Some("for example 3000, \"127.0.0.1:3000\" or \"/run/app.sock\"".into()),
                );
                return None;
            }
            w.parsed(item, key, Listen::parse_str)
        };
        let items = match v.get_ref() {
            DeValue::Array(a) => a
                .iter()
                .enumerate()
                .filter_map(|(i, it)| one(self, it, &format!("{key}[{i}]")))
                .collect(),
            DeValue::Integer(_) | DeValue::String(_) => vec![one(self, v, key)?],
            _ => {
                self.wrong_type(
                    v,
                    key,
                    "a list of ports, \"host:port\" or socket paths",
                    Some("for example listen = [3000] or listen = [\"127.0.0.1:3000\"]".into()),
                );
                return None;
            }
        };
        Some(Sp {
            v: items,
            span: v.span(),
            key: key.into(),
        })
    }

    fn env(&mut self, v: &V<'_>, key: &str) -> Vec<(Sp<String>, Sp<String>)> {
        let DeValue::Table(t) = v.get_ref() else {
            // `["NODE_ENV=production"]`, as in a shell or Docker: show it as a table.
            let pairs: Option<Vec<String>> = match v.get_ref() {
                DeValue::Array(a) if !a.is_empty() => a
                    .iter()
                    .map(|i| match i.get_ref() {
                        DeValue::String(s) => s
                            .split_once('=')
                            .filter(|(n, _)| crate::core::names::is_env_name(n))
                            .map(|(n, val)| format!("{n} = {val:?}")),
                        _ => None,
                    })
                    .collect(),
                _ => None,
            };
            let help = match pairs {
                Some(p) => format!(
                    "env is a table of names and values: env = {{ {} }}",
                    p.join(", ")
                ),
                None => {
                    "env is a table of names and values, like env = { NODE_ENV = \"production\" }"
                        .into()
                }
            };
            self.wrong_type(v, key, "a table", Some(help));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, val) in t.iter() {
            let name = k.get_ref().to_string();
            let kk = format!("{key}.{}", key_part(&name));
            let value = match val.get_ref() {
                DeValue::String(s) => s.to_string(),
                DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => {
                    // PM2 files often say PORT: 3000; the environment only holds strings.
                    let raw = &self.src.text[val.span()];
                    raw.to_string()
                }
                _ => {
                    self.wrong_type(
                        val,
                        &kk,
                        "a string",
                        Some("environment values are strings".into()),
                    );
                    continue;
                }
            };
            out.push((
                Sp {
                    v: name,
                    span: k.span(),
                    key: kk.clone(),
                },
                Sp {
                    v: value,
                    span: val.span(),
                    key: kk,
                },
            ));
        }
        out
    }

    fn app(&mut self, t: &DeTable<'_>, prefix: &str) -> AppSpec {
        let mut a = AppSpec::default();
        for (k, v) in t.iter() {
            let name = k.get_ref().as_ref();
            let key = format!("{prefix}{name}");
            let key = key.as_str();
            match APP_KEYS.iter().position(|known| *known == name) {
                Some(i) => {
                    a.written.push(APP_KEYS[i]);
                    READ_APP_KEY[i](self, v, key, &mut a)
                }
                None => self.unknown_key(k, prefix, APP_KEYS),
            }
        }
        a
    }
}

/// The nearest char boundary at or before `i`.
fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The table headers of a text, in order: where each header line starts, and its table
/// (`apps.api`). Read once per file, so that each of many syntax errors finds its table by a
/// binary search instead of reading the text back to the header.
fn headers(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut start = 0;
    for l in text.split_inclusive('\n') {
        let t = l.trim();
        let inner = t.strip_prefix("[[").and_then(|r| r.split("]]").next());
        let inner = inner.or_else(|| t.strip_prefix('[').and_then(|r| r.split(']').next()));
        if let Some(h) = inner {
            out.push((
                start,
                h.split('.').map(str::trim).collect::<Vec<_>>().join("."),
            ));
        }
        start += l.len();
    }
    out
}

/// The table a byte offset is in, as its header says (`apps.api`), or `""` at the top: the
/// last header on a line that starts before `offset`.
fn header_before(headers: &[(usize, String)], offset: usize) -> String {
    let n = headers.partition_point(|(start, _)| *start < offset);
    n.checked_sub(1)
        .map(|i| headers[i].1.clone())
        .unwrap_or_default()
}

/// The dotted key a syntax error is about, as well as the raw text can tell, and whether the
/// error is on a table header.
fn syntax_key(
    text: &str,
    headers: &[(usize, String)],
    span: &Span,
    duplicate: bool,
) -> (String, bool) {
    let start = floor_boundary(text, span.start);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[line_start..line_end];
    if line.trim_start().starts_with('[') {
        let table = header_before(headers, line_end);
        return (table, true);
    }
    let table = header_before(headers, line_start);
    let join = |k: &str| {
        if table.is_empty() {
            k.to_string()
        } else {
            format!("{table}.{k}")
        }
    };
    let line_key = line.split('=').next().unwrap_or("").trim();
    let found = text.get(span.clone()).unwrap_or("").trim();
    let before = &text[line_start..start];
    if !line.contains('=') {
        (table, false)
    } else if !duplicate
        || before.trim().is_empty()
        || found.is_empty()
        || found.contains(['=', '"', '\n'])
    {
        (join(line_key), false)
    } else {
        // A key inside an inline table: env = { A = "1", A = "2" }
        (join(&format!("{line_key}.{found}")), false)
    }
}

/// Report TOML syntax errors: each duplicate key once, then the first other error (what the
/// parser says after that one is mostly the echo of it).
fn syntax_errors(src: &Source, errors: Vec<toml::de::Error>, diags: &mut Diagnostics) {
    let mut errors: Vec<(Span, String)> = errors
        .into_iter()
        .map(|e| (e.span().unwrap_or(0..0), e.message().trim().to_string()))
        .collect();
    errors.sort_by_key(|(span, _)| (span.start, span.end));
    let mut duplicated_tables: std::collections::BTreeSet<String> = Default::default();
    let headers = headers(&src.text);
    let mut other_seen = false;
    for (span, message) in errors {
        let duplicate = message.starts_with("duplicate key");
        let (key, on_header) = syntax_key(&src.text, &headers, &span, duplicate);
        let found = src.text.get(span.clone()).unwrap_or("").trim().to_string();
        if duplicate {
            let d = if on_header {
                duplicated_tables.insert(key.clone());
                src.diag(span, &key, format!("the table [{key}] appears twice"))
                    .with_help("a table is written once: merge the two into one")
            } else {
                // The keys of a table written twice are all duplicates: one error is enough.
                let in_duplicate = key
                    .match_indices('.')
                    .any(|(i, _)| duplicated_tables.contains(&key[..i]));
                if in_duplicate {
                    continue;
                }
                let place = match key.rsplit_once('.') {
                    Some((table, _)) => format!("[{table}]"),
                    None => "the top of the file".to_string(),
                };
                src.diag(span, &key, format!("`{found}` is set twice in {place}"))
                    .with_help("a key is set once: remove one of the two")
            };
            diags.push(d);
            continue;
        }
        if other_seen {
            continue;
        }
        other_seen = true;
        let mut message = message;
        let help = if message.contains("must be quoted") {
            message = "a string value must be in quotes".into();
            let at = floor_boundary(&src.text, span.start);
            let line_start = src.text[..at].rfind('\n').map_or(0, |i| i + 1);
            let rest = src.text[at..].lines().next().unwrap_or("");
            let value = rest.split(" #").next().unwrap_or("").trim();
            let name = src.text[line_start..]
                .split('=')
                .next()
                .unwrap_or("")
                .trim();
            format!("put the value in quotes: {name} = \"{value}\"")
        } else {
            "see https://toml.io for the file syntax".into()
        };
        diags.push(
            src.diag(span, &key, format!("this is not valid TOML: {message}"))
                .with_help(help),
        );
    }
}

/// Parse one file; syntax errors and key errors go to `diags`. `None` only when the TOML
/// itself cannot be read.
pub fn parse(src: &Source, diags: &mut Diagnostics) -> Option<FileSpec> {
    let (doc, errors) = DeTable::parse_recoverable(&src.text);
    if !errors.is_empty() {
        syntax_errors(src, errors, diags);
        return None;
    }
    let mut w = Walker { src, diags };
    let mut f = FileSpec {
        top: 0..0,
        empty: doc.get_ref().is_empty(),
        ..Default::default()
    };
    for (k, v) in doc.get_ref().iter() {
        let name = k.get_ref().as_ref();
        match name {
            "namespace" => f.namespace = w.string(v, "namespace"),
            "description" => f.description = w.string(v, "description"),
            "hosts" => f.hosts = w.strings(v, "hosts"),
            "limits" => {
                if let Some(t) = w.table(v, "limits") {
                    for (lk, lv) in t.iter() {
                        let key = format!("limits.{}", key_part(lk.get_ref()));
                        if !w.limit(lk.get_ref(), lv, &key, &mut f.limits) {
                            w.unknown_key(lk, "limits.", LIMIT_KEYS);
                        }
                    }
                }
            }
            "defaults" => {
                if let Some(t) = w.table(v, "defaults") {
                    f.defaults = w.app(t, "defaults.");
                }
            }
            "apps" => {
                f.apps_written = true;
                if let DeValue::Array(_) = v.get_ref() {
                    // PM2's `apps: [{ name: "api", ... }]`, written as [[apps]].
                    w.wrong_type(
                        v,
                        "apps",
                        "a table of apps",
                        Some("each app is a table named by the app: write [apps.api] instead of [[apps]] with name = \"api\"".into()),
                    );
                    continue;
                }
                if let Some(t) = w.table(v, "apps") {
                    if t.is_empty() {
                        f.apps_span = Some(v.span());
                    }
                    for (ak, av) in t.iter() {
                        let app_name = ak.get_ref().to_string();
                        let app_key = format!("apps.{}", key_part(&app_name));
                        let prefix = format!("{app_key}.");
                        if !matches!(av.get_ref(), DeValue::Table(_)) {
                            let help = format!(
                                "each app is a table: write [{app_key}] on a line of its own, then its keys, like command = \"node dist/server.js\""
                            );
                            w.wrong_type(av, &app_key, "a table", Some(help));
                            continue;
                        }
                        if let Some(at) = w.table(av, &app_key) {
                            let spec = w.app(at, &prefix);
                            f.apps.push((
                                Sp {
                                    v: app_name,
                                    span: ak.span(),
                                    key: app_key,
                                },
                                spec,
                            ));
                        }
                    }
                }
            }
            _ => {
                // An app key at the top level is a common slip: say where it belongs.
                if APP_KEYS.contains(&name) && name != "description" {
                    let help = format!(
                        "`{name}` is set per app: move it into an app table such as [apps.api], or into [defaults] for every app"
                    );
                    w.error(
                        k.span(),
                        name,
                        "an app key at the top of the file".into(),
                        Some(help),
                    );
                } else {
                    w.unknown_key(k, "", TOP_KEYS);
                }
            }
        }
    }
    Some(f)
}
