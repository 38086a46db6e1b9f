//! Unit names: what ops staff type into `systemctl`, and the rules for the names they are made of.

/// The namespace's slice, a child of `unitgen.slice`.
pub fn slice(ns: &str) -> String {
    format!("unitgen-{ns}.slice")
}

/// The namespace's target: starting it starts every app, stopping it stops them.
pub fn target(ns: &str) -> String {
    format!("unitgen-{ns}.target")
}

/// The common prefix of an app's units, such as `prod-api`.
pub fn app_stem(ns: &str, app: &str) -> String {
    format!("{ns}-{app}")
}

/// The template service, `prod-api@.service`.
pub fn template(ns: &str, app: &str) -> String {
    format!("{ns}-{app}@.service")
}

/// One instance, `prod-api@2.service`.
pub fn instance(ns: &str, app: &str, i: u32) -> String {
    format!("{ns}-{app}@{i}.service")
}

/// The socket unit holding an app's listening sockets.
pub fn socket(ns: &str, app: &str) -> String {
    format!("{ns}-{app}.socket")
}

/// The common prefix of the scheduled-restart units, such as `prod-api-restart`.
pub fn restart_stem(ns: &str, app: &str) -> String {
    format!("{ns}-{app}-restart")
}

/// The timer of an app's scheduled restart, `prod-api-restart.timer`.
pub fn restart_timer(ns: &str, app: &str) -> String {
    format!("{}.timer", restart_stem(ns, app))
}

/// The service the timer runs, `prod-api-restart.service`.
pub fn restart_service(ns: &str, app: &str) -> String {
    format!("{}.service", restart_stem(ns, app))
}

/// An app's watcher (`watch`), `prod-api-watch.service`.
pub fn watch_service(ns: &str, app: &str) -> String {
    format!("{ns}-{app}-watch.service")
}

/// What a unit of unitgen's is, read back from its name (the reverse of the builders above).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitKind {
    /// `unitgen-NS.slice`.
    Slice,
    /// `unitgen-NS.target`.
    Target,
    /// `NS-APP@.service`.
    Template,
    /// `NS-APP@N.service`.
    Instance(u32),
    /// `NS-APP.socket`.
    Socket,
    /// `NS-APP-restart.timer`.
    RestartTimer,
    /// `NS-APP-restart.service`.
    RestartService,
    /// `NS-APP-watch.service`.
    Watch,
}

/// A unit name of unitgen's: its namespace, its app (none for the slice and target), its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitName {
    /// Namespace.
    pub namespace: String,
    /// App, for the units of one app.
    pub app: Option<String>,
    /// Which unit of the app or namespace.
    pub kind: UnitKind,
}

impl UnitName {
    /// Read a unit name back; `None` for a name no builder here makes.
    pub fn parse(name: &str) -> Option<UnitName> {
        let (stem, suffix) = name.rsplit_once('.')?;
        if let (Some(ns), "slice" | "target") = (stem.strip_prefix("unitgen-"), suffix) {
            check_namespace(ns).ok()?;
            return Some(UnitName {
                namespace: ns.to_string(),
                app: None,
                kind: if suffix == "slice" {
                    UnitKind::Slice
                } else {
                    UnitKind::Target
                },
            });
        }
        let (ns, rest) = stem.split_once('-')?;
        let (app, kind) = match (suffix, rest.rsplit_once('@')) {
            ("service", Some((app, ""))) => (app, UnitKind::Template),
            ("service", Some((app, i))) if i.bytes().all(|b| b.is_ascii_digit()) => {
                (app, UnitKind::Instance(i.parse().ok()?))
            }
            ("service", None) => match rest.strip_suffix("-restart") {
                Some(app) => (app, UnitKind::RestartService),
                None => (rest.strip_suffix("-watch")?, UnitKind::Watch),
            },
            ("timer", None) => (rest.strip_suffix("-restart")?, UnitKind::RestartTimer),
            ("socket", None) => (rest, UnitKind::Socket),
            _ => return None,
        };
        check_namespace(ns).ok()?;
        check_app(app).ok()?;
        Some(UnitName {
            namespace: ns.to_string(),
            app: Some(app.to_string()),
            kind,
        })
    }

    /// The instance number of an instance of `ns`/`app`, read from `name`.
    pub fn instance_of(name: &str, ns: &str, app: &str) -> Option<u32> {
        match UnitName::parse(name)? {
            UnitName {
                namespace,
                app: Some(a),
                kind: UnitKind::Instance(i),
            } if namespace == ns && a == app => Some(i),
            _ => None,
        }
    }
}

/// Check a namespace name: `[a-z][a-z0-9_]{0,31}`, no dash (a dash means a sub-slice).
pub fn check_namespace(ns: &str) -> Result<(), String> {
    fn valid(ns: &str) -> bool {
        let mut chars = ns.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        first_ok
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && ns.len() <= 32
    }
    if valid(ns) {
        return Ok(());
    }
    let suggestion: String = ns
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut help = "a namespace is a lower-case letter then up to 31 lower-case letters, digits or '_' (no '-': systemd reads a dash in a slice name as nesting)".to_string();
    if valid(&suggestion) {
        help.push_str(&format!("; for example {suggestion:?}"));
    }
    Err(help)
}

/// Check an app name: letters, digits, `_`, `.` and `-`, starting with a letter or digit.
pub fn check_app(app: &str) -> Result<(), String> {
    fn valid(app: &str) -> bool {
        let mut chars = app.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        first_ok && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) && app.len() <= 64
    }
    if valid(app) {
        return Ok(());
    }
    let suggestion: String = app
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    let mut help = "an app name is up to 64 ASCII letters, digits, '_', '.' or '-', starting with a letter or digit (it becomes part of unit names)".to_string();
    if valid(&suggestion) {
        help.push_str(&format!("; for example {suggestion:?}"));
    }
    Err(help)
}

/// Unit names are at most 255 bytes.
pub fn check_unit_len(ns: &str, app: &str) -> Result<(), String> {
    let longest = format!("{}.service", restart_stem(ns, app));
    if longest.len() > 255 {
        return Err(format!(
            "the unit name {longest} would be longer than systemd's 255 bytes"
        ));
    }
    Ok(())
}

/// The unit types a dependency may name.
const UNIT_SUFFIXES: &[&str] = &[
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "path",
    "timer",
    "slice",
    "scope",
];

/// systemd's targets that people name without their suffix (`after = ["network-online"]`).
const WELL_KNOWN_TARGETS: &[&str] = &[
    "basic",
    "default",
    "graphical",
    "local-fs",
    "multi-user",
    "network",
    "network-online",
    "network-pre",
    "nss-lookup",
    "remote-fs",
    "sockets",
    "sysinit",
    "time-set",
    "time-sync",
    "timers",
];

/// Check the name of a unit outside unitgen (`after`, `requires`, `wants`).
pub fn check_foreign_unit(name: &str) -> Result<(), String> {
    let chars_ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c));
    let suffix = name.rsplit_once('.').map(|(_, s)| s);
    match suffix {
        Some(s) if chars_ok && UNIT_SUFFIXES.contains(&s) => Ok(()),
        _ if chars_ok && suffix.is_none() => {
            let kind = if WELL_KNOWN_TARGETS.contains(&name) {
                "target"
            } else {
                "service"
            };
            Err(format!(
                "a unit name ends with its type: did you mean \"{name}.{kind}\"?"
            ))
        }
        _ => Err(format!(
            "a unit name is letters, digits and :-_.\\@ followed by a type ({})",
            UNIT_SUFFIXES.join(", ")
        )),
    }
}

/// A valid environment variable name.
pub fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A user or group name as systemd's strict rule has it (`^[a-zA-Z_][a-zA-Z0-9_-]{0,30}$`,
/// systemd's USER_NAMES.md), or a numeric id.
pub fn is_user_name(s: &str) -> bool {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return s
            .parse::<u32>()
            .is_ok_and(|id| id != u32::MAX && id != 65535);
    }
    let mut chars = s.chars();
    s.len() <= 31
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_name_reads_back_as_what_made_it() {
        for (ns, app) in [
            ("prod", "api"),
            ("p2", "web-restart"),
            ("x", "a.b-c"),
            ("n_1", "9"),
        ] {
            let unit = |app: Option<&str>, kind| UnitName {
                namespace: ns.to_string(),
                app: app.map(str::to_string),
                kind,
            };
            let cases = [
                (slice(ns), unit(None, UnitKind::Slice)),
                (target(ns), unit(None, UnitKind::Target)),
                (template(ns, app), unit(Some(app), UnitKind::Template)),
                (
                    instance(ns, app, 12),
                    unit(Some(app), UnitKind::Instance(12)),
                ),
                (socket(ns, app), unit(Some(app), UnitKind::Socket)),
                (
                    restart_timer(ns, app),
                    unit(Some(app), UnitKind::RestartTimer),
                ),
                (
                    restart_service(ns, app),
                    unit(Some(app), UnitKind::RestartService),
                ),
            ];
            for (name, want) in cases {
                assert_eq!(UnitName::parse(&name), Some(want), "{name}");
            }
        }
        for other in [
            "sshd.service",
            "prod-api@x.service",
            "prod-api.mount",
            "Prod-api.socket",
            "unitgen.slice",
            "prod-api@1",
        ] {
            assert_eq!(UnitName::parse(other), None, "{other}");
        }
        // A namespace called unitgen: its apps' units are not slices.
        assert_eq!(
            UnitName::parse("unitgen-x.socket").map(|u| (u.namespace, u.app)),
            Some(("unitgen".to_string(), Some("x".to_string())))
        );
        assert_eq!(
            UnitName::instance_of("prod-api@3.service", "prod", "api"),
            Some(3)
        );
        assert_eq!(
            UnitName::instance_of("prod-api@3.service", "prod", "ap"),
            None
        );
    }

    #[test]
    fn namespaces() {
        assert!(check_namespace("prod").is_ok());
        assert!(check_namespace("prod_eu2").is_ok());
        assert!(check_namespace("prod-eu")
            .unwrap_err()
            .contains("\"prod_eu\""));
        assert!(check_namespace("Prod").is_err());
        assert!(check_namespace("").is_err());
    }

    #[test]
    fn apps() {
        assert!(check_app("proxy-service").is_ok());
        assert!(check_app("api.v2").is_ok());
        assert!(check_app("my app").unwrap_err().contains("\"my-app\""));
        assert!(check_app("api@2").is_err());
        assert!(check_app("-x").is_err());
    }

    #[test]
    fn users() {
        assert!(is_user_name("deploy-prod"));
        assert!(is_user_name("Deploy"));
        assert!(is_user_name("1000"));
        assert!(!is_user_name("deploy:prod"));
        assert!(!is_user_name("deploy prod"));
        assert!(!is_user_name("-x"));
        assert!(!is_user_name("4294967295"));
    }

    #[test]
    fn foreign_units() {
        assert!(check_foreign_unit("postgresql.service").is_ok());
        assert!(check_foreign_unit("postgresql")
            .unwrap_err()
            .contains("postgresql.service"));
        assert!(check_foreign_unit("a b.service").is_err());
        assert!(check_foreign_unit("network-online")
            .unwrap_err()
            .contains("network-online.target"));
    }
}
