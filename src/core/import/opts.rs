//! An app's options read the way PM2 reads them.
//!
//! PM2 validates every app with `Config.validateJSON` (lib/tools/Config.js), which knows the
//! options of lib/API/schema.json. Each option may also be written under its aliases: the ones
//! schema.json lists, and the camelCase form of its name (`max_memory_restart` is also
//! `maxMemoryRestart`; the `schema` getter builds it). For each option, validateJSON runs
//! `conf[key] || (conf[key] = json[alias])` over the aliases in turn, so:
//!
//! - the first of (name, aliases…) whose value is truthy wins;
//! - a value JavaScript holds false (`false`, `0`, `""`, `null`) is replaced by the next alias,
//!   which is usually absent: `max_restarts: 0` reaches PM2 as "not set", and PM2 uses its
//!   default. Names without an underscore are their own camelCase alias, so `autorestart:
//!   false` and `instances: 0` keep their value.
//!
//! Keys that are not in schema.json (and not `env_*`) are dropped by validateJSON.

use super::value::Js;

/// The aliases schema.json lists, in the order `Config.schema` puts them in front of the
/// camelCase alias (each listed alias is inserted at the front: the last listed comes first).
/// `cmd` and `command` become `script` earlier, in `Common.verifyConfs`.
const LISTED: &[(&str, &[&str])] = &[
    ("script", &["cmd", "command", "exec"]),
    ("exec_interpreter", &["interpreter"]),
    ("node_args", &["interpreter_args", "interpreterArgs"]),
    ("out_file", &["out_log", "output", "out"]),
    ("error_file", &["err_log", "err_file", "err", "error"]),
    ("log_file", &["log"]),
    ("merge_logs", &["combine_logs"]),
    ("pid_file", &["pid"]),
    ("cron_restart", &["cron"]),
    ("uid", &["user"]),
];

/// The camelCase alias PM2 makes of an option name (`Config.schema`): every part after the
/// first that is longer than one letter gets a capital.
pub fn camel(key: &str) -> String {
    key.split('_')
        .enumerate()
        .map(|(i, part)| {
            if i != 0 && part.len() > 1 {
                let mut c = part.chars();
                let first = c.next().map(|f| f.to_ascii_uppercase());
                first.into_iter().chain(c).collect()
            } else {
                part.to_string()
            }
        })
        .collect()
}

/// Every name PM2 reads an option under, in the order it tries them.
pub fn names(key: &str) -> Vec<String> {
    let mut v = vec![key.to_string()];
    if let Some((_, listed)) = LISTED.iter().find(|(k, _)| *k == key) {
        v.extend(listed.iter().map(|s| s.to_string()));
    }
    v.push(camel(key));
    v
}

/// Is the value true for JavaScript?
pub fn truthy(v: &Js) -> bool {
    match v {
        Js::Null => false,
        Js::Bool(b) => *b,
        Js::Num(n) => {
            let f = n.as_f64();
            f != 0.0 && !f.is_nan()
        }
        Js::Str(s) => !s.is_empty(),
        Js::Arr(_) | Js::Obj(_) => true,
    }
}

/// The app's options, taken one by one; what is left at the end is unknown to PM2.
pub struct Opts {
    left: Vec<(String, Js)>,
    /// Options the file wrote that PM2 read as not set (a false value of an option with an
    /// alias), or that another spelling of the same option overrode: `(key, value)`.
    pub unread: Vec<(String, Js)>,
}

impl Opts {
    /// The options of one app, in file order.
    pub fn new(fields: Vec<(String, Js)>) -> Self {
        Opts {
            left: fields,
            unread: Vec::new(),
        }
    }

    fn remove(&mut self, name: &str) -> Option<(String, Js)> {
        let i = self.left.iter().position(|(n, _)| n == name)?;
        Some(self.left.remove(i))
    }

    /// Take a PM2 option under any of its names, with the value PM2 would use (and the name
    /// it was written under); `None` when PM2 sees it as not set.
    pub fn take(&mut self, key: &str) -> Option<(String, Js)> {
        let order = names(key);
        let value_of = |n: &str| self.left.iter().find(|(k, _)| k == n).cloned();
        // validateJSON: cur = json[key]; for each alias: cur || (cur = json[alias]).
        let mut cur = value_of(&order[0]);
        for n in &order[1..] {
            if !cur.as_ref().is_some_and(|(_, v)| truthy(v)) {
                cur = value_of(n);
            }
        }
        let cur = cur.filter(|(_, v)| !matches!(v, Js::Null));
        let mut seen: Vec<String> = Vec::new();
        for n in &order {
            if seen.contains(n) {
                continue;
            }
            seen.push(n.clone());
            if let Some((k, v)) = self.remove(n) {
                let chosen = cur.as_ref().is_some_and(|(ck, _)| *ck == k);
                if !chosen && !matches!(v, Js::Null) {
                    self.unread.push((k, v));
                }
            }
        }
        cur
    }

    /// Take a key PM2 does not know (so no aliases): `kill_signal`, `env_NAME` blocks.
    pub fn take_exact(&mut self, key: &str) -> Option<(String, Js)> {
        self.remove(key).filter(|(_, v)| !matches!(v, Js::Null))
    }

    /// The keys left, in file order (without taking them).
    pub fn keys(&self) -> Vec<String> {
        self.left.iter().map(|(k, _)| k.clone()).collect()
    }

    /// Whatever has not been taken.
    pub fn rest(&mut self) -> Vec<(String, Js)> {
        std::mem::take(&mut self.left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::import::value::Num;

    fn opts(pairs: &[(&str, Js)]) -> Opts {
        Opts::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn camel_case_like_pm2() {
        assert_eq!(camel("max_memory_restart"), "maxMemoryRestart");
        assert_eq!(camel("exp_backoff_restart_delay"), "expBackoffRestartDelay");
        assert_eq!(camel("instances"), "instances");
        assert_eq!(camel("v8"), "v8");
        assert_eq!(
            names("node_args"),
            [
                "node_args",
                "interpreter_args",
                "interpreterArgs",
                "nodeArgs"
            ]
        );
    }

    #[test]
    fn camel_case_keys_are_read() {
        let mut o = opts(&[("maxMemoryRestart", Js::Str("1G".into()))]);
        assert_eq!(
            o.take("max_memory_restart"),
            Some(("maxMemoryRestart".into(), Js::Str("1G".into())))
        );
        assert!(o.rest().is_empty());
    }

    #[test]
    fn a_false_value_of_an_aliased_option_is_not_set() {
        let zero = Js::Num(Num::Int(0));
        let mut o = opts(&[
            ("max_restarts", zero.clone()),
            ("autorestart", Js::Bool(false)),
        ]);
        assert_eq!(o.take("max_restarts"), None);
        assert_eq!(o.unread, [("max_restarts".to_string(), zero)]);
        // No underscore: its own alias, so the false value stays.
        assert_eq!(
            o.take("autorestart"),
            Some(("autorestart".into(), Js::Bool(false)))
        );
    }

    #[test]
    fn the_name_wins_over_its_aliases_when_true() {
        let mut o = opts(&[
            ("interpreter", Js::Str("python3".into())),
            ("exec_interpreter", Js::Str("node".into())),
        ]);
        assert_eq!(
            o.take("exec_interpreter"),
            Some(("exec_interpreter".into(), Js::Str("node".into())))
        );
        assert_eq!(o.unread.len(), 1);
    }
}
