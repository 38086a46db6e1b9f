//! What `apply` would change in a unit directory: files added, changed (with a diff) and
//! removed, and which units that means starting, restarting or stopping.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::compile::UnitFile;
use crate::unit_dir::marked_namespace;

/// One file's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new file.
    Add(UnitFile),
    /// A file whose text changes: the old text and the new file.
    Update(String, UnitFile),
    /// A file of this namespace that the ecosystem file no longer names.
    Remove(String, String),
}

impl Change {
    /// The unit's file name.
    pub fn name(&self) -> &str {
        match self {
            Change::Add(f) | Change::Update(_, f) => &f.name,
            Change::Remove(n, _) => n,
        }
    }
}

/// The difference between the wanted units of one namespace and the installed ones.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The namespace.
    pub namespace: String,
    /// What changes, by file name.
    pub changes: Vec<Change>,
    /// Files that stay as they are.
    pub unchanged: Vec<String>,
    /// Files that have one of this namespace's names but are not marked as ours.
    pub foreign: Vec<String>,
}

/// Compare `wanted` with the files of the unit directory (`installed`: every unit file there).
pub fn plan(namespace: &str, wanted: &[UnitFile], installed: &BTreeMap<String, String>) -> Plan {
    let mut p = Plan {
        namespace: namespace.to_string(),
        ..Default::default()
    };
    for f in wanted {
        match installed.get(&f.name) {
            None => p.changes.push(Change::Add(f.clone())),
            Some(old) if marked_namespace(old) != Some(namespace) => p.foreign.push(f.name.clone()),
            Some(old) if old == &f.content => p.unchanged.push(f.name.clone()),
            Some(old) => p.changes.push(Change::Update(old.clone(), f.clone())),
        }
    }
    for (name, text) in installed {
        if marked_namespace(text) == Some(namespace) && !wanted.iter().any(|f| &f.name == name) {
            p.changes.push(Change::Remove(name.clone(), text.clone()));
        }
    }
    p
}

impl Plan {
    /// Nothing to write or remove.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// A human-readable report with unified diffs.
    pub fn describe(&self, dir: &std::path::Path) -> String {
        let mut s = String::new();
        if self.changes.is_empty() {
            let _ = writeln!(
                s,
                "{}: up to date ({} units)",
                self.namespace,
                self.unchanged.len()
            );
            return s;
        }
        let _ = writeln!(s, "{}:", self.namespace);
        for c in &self.changes {
            let path = dir.join(c.name());
            match c {
                Change::Add(f) => {
                    let _ = writeln!(s, "  + add     {}", f.name);
                    let _ = write!(s, "{}", diff("", &f.content, &path));
                }
                Change::Update(old, f) => {
                    let _ = writeln!(s, "  ~ change  {}", f.name);
                    let _ = write!(s, "{}", diff(old, &f.content, &path));
                }
                Change::Remove(name, old) => {
                    let _ = writeln!(s, "  - remove  {name}");
                    let _ = write!(s, "{}", diff(old, "", &path));
                }
            }
        }
        s
    }
}

/// A unified diff between two texts, indented to sit under its plan line.
pub fn diff(old: &str, new: &str, path: &std::path::Path) -> String {
    let p = path.display().to_string();
    let d = similar::TextDiff::from_lines(old, new);
    let text = d
        .unified_diff()
        .context_radius(2)
        .header(
            if old.is_empty() { "/dev/null" } else { &p },
            if new.is_empty() { "/dev/null" } else { &p },
        )
        .to_string();
    text.lines().map(|l| format!("      {l}\n")).collect()
}
