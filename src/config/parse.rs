//! Walk the TOML document, keeping each value's position, into a [`FileSpec`]: every key is
//! checked for its name and type here; meaning across keys is checked in `resolve`.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::cron::Cron;
use super::value::*;
use crate::diagnostic::{did_you_mean, Diagnostics, Source, Span};

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
pub const TOP_KEYS: &[&str] = &["namespace", "description", "limits", "defaults", "apps"];
const LIMIT_KEYS: &[&str] = &["memory_max", "memory_high", "cpu_quota", "tasks_max"];
/// The keys allowed in an app table (and in `[defaults]`).
pub const APP_KEYS: &[&str] = &[
    "description",
    "command",
    "cwd",
    "instances",
    "listen",
    "ready",
    "start_timeout",
    "stop_timeout",
    "stop_signal",
    "reload_signal",
    "restart",
    "restart_delay",
    "max_restarts",
    "restart_window",
    "memory_max",
    "memory_high",
    "cpu_quota",
    "tasks_max",
    "env",
    "env_file",
    "user",
    "group",
    "after",
    "requires",
    "wants",
    "depends_on",
    "cron_restart",
    "hardening",
    "read_write_paths",
    "log_level_prefix",
];

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
    pub limits: LimitSpec,
    pub defaults: AppSpec,
    pub apps: Vec<(Sp<String>, AppSpec)>,
    /// Where the file begins, for errors about a missing key.
    pub top: Span,
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

impl Walker<'_> {
    fn error(&mut self, span: Span, key: &str, message: String, help: Option<String>) {
        let mut d = self.src.diag(span, key, message);
        d.help = help;
        self.diags.push(d);
    }

    fn wrong_type(&mut self, v: &V<'_>, key: &str, expected: &str, help: Option<String>) {
        let found = type_name(v.get_ref());
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
        let help = match did_you_mean(name, known) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("known keys here: {}", known.join(", ")),
        };
        self.error(
            k.span(),
            &format!("{prefix}{name}"),
            "unknown key".into(),
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

    fn choice<T: Copy>(&mut self, v: &V<'_>, key: &str, options: &[(&str, T)]) -> Option<Sp<T>> {
        let names: Vec<&str> = options.iter().map(|o| o.0).collect();
        let list = names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.parsed(v, key, |s| {
            options
                .iter()
                .find(|o| o.0 == s)
                .map(|o| o.1)
                .ok_or_else(|| {
                    let help = did_you_mean(s, &names).map(|n| format!("did you mean {n:?}?"));
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
        if let Some(n) = int_of(v.get_ref()) {
            let help = Some(format!(
                "write it with a unit, like \"{}M\", or as a string of bytes",
                n.max(1)
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
        if let Some(n) = int_of(v.get_ref()) {
            let help = Some(format!("say which unit: \"{n}ms\" or \"{n}s\""));
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
        self.error(
            v.span(),
            key,
            "expected a positive whole number or \"infinity\"".into(),
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
            w.parsed(item, key, Listen::parse_str)
        };
        let items = match v.get_ref() {
            DeValue::Array(a) => a
                .iter()
                .enumerate()
                .filter_map(|(i, it)| one(self, it, &format!("{key}[{i}]")))
                .collect(),
            _ => vec![one(self, v, key)?],
        };
        Some(Sp {
            v: items,
            span: v.span(),
            key: key.into(),
        })
    }

    fn env(&mut self, v: &V<'_>, key: &str) -> Vec<(Sp<String>, Sp<String>)> {
        let Some(t) = self.table(v, key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, val) in t.iter() {
            let name = k.get_ref().to_string();
            let kk = format!("{key}.{name}");
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
            match name {
                "description" => a.description = self.string(v, key),
                "command" => a.command = self.command(v, key),
                "cwd" => a.cwd = self.string(v, key),
                "instances" => {
                    a.instances = match v.get_ref() {
                        DeValue::String(s) if s == "max" => Some(Sp {
                            v: Instances::Max,
                            span: v.span(),
                            key: key.into(),
                        }),
                        DeValue::String(_) => {
                            self.error(
                                v.span(),
                                key,
                                format!(
                                    "expected a whole number or \"max\", found {}",
                                    &self.src.text[v.span()]
                                ),
                                None,
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
                "listen" => a.listen = self.listen(v, key),
                "ready" => {
                    a.ready = self.choice(
                        v,
                        key,
                        &[
                            ("started", Ready::Started),
                            ("notify", Ready::Notify),
                            ("listen", Ready::Listen),
                        ],
                    )
                }
                "start_timeout" => a.start_timeout = self.duration(v, key),
                "stop_timeout" => a.stop_timeout = self.duration(v, key),
                "stop_signal" => a.stop_signal = self.parsed(v, key, Signal::parse),
                "reload_signal" => a.reload_signal = self.parsed(v, key, Signal::parse),
                "restart" => {
                    a.restart = self.choice(
                        v,
                        key,
                        &[
                            ("always", Restart::Always),
                            ("on-failure", Restart::OnFailure),
                            ("never", Restart::Never),
                        ],
                    )
                }
                "restart_delay" => a.restart_delay = self.duration(v, key),
                "max_restarts" => a.max_restarts = self.uint(v, key, 1, 100_000),
                "restart_window" => a.restart_window = self.duration(v, key),
                "memory_max" => a.memory_max = self.size(v, key),
                "memory_high" => a.memory_high = self.size(v, key),
                "cpu_quota" => a.cpu_quota = self.parsed(v, key, CpuQuota::parse),
                "tasks_max" => a.tasks_max = self.tasks(v, key),
                "env" => a.env = self.env(v, key),
                "env_file" => a.env_file = self.strings(v, key),
                "user" => a.user = self.string(v, key),
                "group" => a.group = self.string(v, key),
                "after" => a.after = self.strings(v, key),
                "requires" => a.requires = self.strings(v, key),
                "wants" => a.wants = self.strings(v, key),
                "depends_on" => a.depends_on = self.strings(v, key),
                "cron_restart" => a.cron_restart = self.parsed(v, key, Cron::parse),
                "hardening" => {
                    a.hardening = self.choice(
                        v,
                        key,
                        &[
                            ("default", Hardening::Default),
                            ("strict", Hardening::Strict),
                            ("off", Hardening::Off),
                        ],
                    )
                }
                "read_write_paths" => a.read_write_paths = self.strings(v, key),
                "log_level_prefix" => a.log_level_prefix = self.boolean(v, key),
                _ => self.unknown_key(k, prefix, APP_KEYS),
            }
        }
        a
    }
}

/// Parse one file; syntax errors and key errors go to `diags`. `None` only when the TOML
/// itself cannot be read.
pub fn parse(src: &Source, diags: &mut Diagnostics) -> Option<FileSpec> {
    let (doc, errors) = DeTable::parse_recoverable(&src.text);
    let syntax = !errors.is_empty();
    for e in errors {
        let span = e.span().unwrap_or(0..0);
        let mut d = src.diag(span, "", format!("TOML syntax: {}", e.message().trim()));
        d.help = Some("see https://toml.io for the file syntax".into());
        diags.push(d);
    }
    if syntax {
        return None;
    }
    let mut w = Walker { src, diags };
    let mut f = FileSpec {
        top: 0..0,
        ..Default::default()
    };
    for (k, v) in doc.get_ref().iter() {
        let name = k.get_ref().as_ref();
        match name {
            "namespace" => f.namespace = w.string(v, "namespace"),
            "description" => f.description = w.string(v, "description"),
            "limits" => {
                if let Some(t) = w.table(v, "limits") {
                    for (lk, lv) in t.iter() {
                        let key = format!("limits.{}", lk.get_ref());
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
                if let Some(t) = w.table(v, "apps") {
                    for (ak, av) in t.iter() {
                        let app_name = ak.get_ref().to_string();
                        let prefix = format!("apps.{app_name}.");
                        if let Some(at) = w.table(av, &format!("apps.{app_name}")) {
                            let spec = w.app(at, &prefix);
                            f.apps.push((
                                Sp {
                                    v: app_name,
                                    span: ak.span(),
                                    key: format!("apps.{}", ak.get_ref()),
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
                        "`{name}` belongs in an app table such as [apps.api], or in [defaults]"
                    );
                    w.error(k.span(), name, "unknown top-level key".into(), Some(help));
                } else {
                    w.unknown_key(k, "", TOP_KEYS);
                }
            }
        }
    }
    Some(f)
}
