//! What a NAME on the command line means: `api`, `prod/api`, `api -n prod`, `api@2`, `all`.
//! Names are looked up among the namespaces installed in the unit directory.

use std::collections::BTreeMap;

use crate::adapters::unit_dir::{installed_apps, InstalledApp, UnitDir};

/// One app (or one instance of it) that a command acts on.
#[derive(Debug, Clone)]
pub struct Selected {
    /// Its namespace.
    pub namespace: String,
    /// The app.
    pub app: String,
    /// What is installed for it.
    pub installed: InstalledApp,
    /// One instance only, when the name said `@N`.
    pub instance: Option<u32>,
}

impl Selected {
    /// The instance units this selection covers.
    pub fn instance_units(&self) -> Vec<String> {
        let all = self.installed.instances.clone();
        let list = match self.instance {
            Some(i) => vec![i],
            None => all,
        };
        list.into_iter()
            .map(|i| crate::core::names::instance(&self.namespace, &self.app, i))
            .collect()
    }
}

/// Every installed namespace with its apps.
pub fn installed(
    dir: &UnitDir,
) -> std::io::Result<BTreeMap<String, BTreeMap<String, InstalledApp>>> {
    let all = dir.read_all()?;
    let mut namespaces: Vec<&str> = all
        .values()
        .filter_map(|t| crate::adapters::unit_dir::marked_namespace(t))
        .collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    let mut out = BTreeMap::new();
    for ns in namespaces {
        let owned: BTreeMap<String, String> = all
            .iter()
            .filter(|(_, t)| crate::adapters::unit_dir::marked_namespace(t) == Some(ns))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.insert(ns.to_string(), installed_apps(ns, &owned));
    }
    Ok(out)
}

/// The names a shell completes for an app: `app` where one namespace has it, and `ns/app` for
/// every app, sorted.
pub fn completion_names(
    installed: &BTreeMap<String, BTreeMap<String, InstalledApp>>,
) -> Vec<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for apps in installed.values() {
        for app in apps.keys() {
            *count.entry(app.as_str()).or_default() += 1;
        }
    }
    let mut out: Vec<String> = count
        .iter()
        .filter(|(_, n)| **n == 1)
        .map(|(a, _)| a.to_string())
        .collect();
    for (ns, apps) in installed {
        out.extend(apps.keys().map(|a| format!("{ns}/{a}")));
    }
    out.sort();
    out
}

/// Resolve `name` (or every app with `None`) under an optional namespace.
///
/// `all` without `-n` is refused when several namespaces are installed: acting on every
/// environment at once is how cleanup scripts hit the wrong one.
pub fn select(
    dir: &UnitDir,
    name: Option<&str>,
    ns: Option<&str>,
    all_needs_ns: bool,
) -> Result<Vec<Selected>, String> {
    let inst = installed(dir).map_err(|e| format!("cannot read {}: {e}", dir.path.display()))?;
    let (ns, name) = match name.and_then(|n| n.split_once('/')) {
        Some((n, a)) => (Some(n), Some(a)),
        None => (ns, name),
    };
    if let Some(n) = ns {
        if !inst.contains_key(n) {
            let known: Vec<&str> = inst.keys().map(String::as_str).collect();
            return Err(format!(
                "no namespace {n:?} is installed in {} (installed: {})",
                dir.path.display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        }
    }
    let in_scope = |n: &str| ns.is_none_or(|want| want == n);
    let everything = name.is_none() || name == Some("all");
    if name == Some("all") && all_needs_ns && ns.is_none() && inst.len() > 1 {
        return Err(format!(
            "`all` names every app of several namespaces ({}): say which with -n NS",
            inst.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let (app_name, instance) = match name
        .filter(|_| !everything)
        .map(|n| n.split_once('@').map_or((n, None), |(a, i)| (a, Some(i))))
    {
        Some((a, Some(i))) => match i.parse::<u32>() {
            Ok(i) => (Some(a), Some(i)),
            Err(_) => return Err(format!("{i:?} is not an instance number (as in api@2)")),
        },
        Some((a, None)) => (Some(a), None),
        None => (None, None),
    };
    let mut out = Vec::new();
    for (n, apps) in &inst {
        if !in_scope(n) {
            continue;
        }
        for (a, ia) in apps {
            if app_name.is_none_or(|want| want == a) {
                out.push(Selected {
                    namespace: n.clone(),
                    app: a.clone(),
                    installed: ia.clone(),
                    instance,
                });
            }
        }
    }
    if let Some(a) = app_name {
        if out.is_empty() {
            return Err(format!(
                "no app {a:?} is installed{}",
                ns.map(|n| format!(" in namespace {n}")).unwrap_or_default()
            ));
        }
        let namespaces: Vec<&str> = out.iter().map(|s| s.namespace.as_str()).collect();
        if namespaces.len() > 1 {
            return Err(format!(
                "app {a:?} exists in several namespaces ({}): say which, as {}/{a} or {a} -n {}",
                namespaces.join(", "),
                namespaces[0],
                namespaces[0]
            ));
        }
        if let Some(i) = instance {
            if !out[0].installed.instances.contains(&i) {
                return Err(format!("{}/{a} has no instance {i}", out[0].namespace));
            }
        }
    }
    Ok(out)
}
