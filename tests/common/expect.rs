//! Expected-output files, one kit for every test that keeps its expectations as plain files
//! beside its inputs (`tests/bad/*.err`, `tests/import/expected/<case>/`): compare, or with
//! `UPDATE_EXPECT=1` write what was produced; collect every difference as a unified diff and
//! report them all at the end. Shared by test binaries (`#[path]` module).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

/// Differences found so far; [`Expect::finish`] fails the test with all of them.
pub struct Expect {
    update: bool,
    failures: Vec<String>,
}

impl Default for Expect {
    fn default() -> Self {
        Self::new()
    }
}

impl Expect {
    /// Blessing when `UPDATE_EXPECT` is set.
    pub fn new() -> Self {
        Expect {
            update: std::env::var_os("UPDATE_EXPECT").is_some(),
            failures: Vec::new(),
        }
    }

    /// Whether this run writes what it produces instead of comparing.
    pub fn updating(&self) -> bool {
        self.update
    }

    /// Record a failure that is not a difference of text.
    pub fn fail(&mut self, what: String) {
        self.failures.push(what);
    }

    /// `got` must equal the file at `path` (`what` names the case in the report).
    pub fn file(&mut self, what: &str, path: &Path, got: &str) {
        if self.update {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).unwrap();
            }
            std::fs::write(path, got).unwrap();
            return;
        }
        let want = std::fs::read_to_string(path).unwrap_or_default();
        if want != got {
            self.failures.push(format!(
                "{what}: differs from {} (bless with UPDATE_EXPECT=1):\n{}",
                path.display(),
                diff(&want, got)
            ));
        }
    }

    /// The files of `dir` must be exactly `produced` (name → content).
    pub fn dir(&mut self, what: &str, dir: &Path, produced: &BTreeMap<String, String>) {
        if self.update {
            let _ = std::fs::remove_dir_all(dir);
        }
        let mut want = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries {
                let p = e.unwrap().path();
                want.insert(p.file_name().unwrap().to_string_lossy().into_owned(), p);
            }
        }
        if !self.update {
            let names = |m: Vec<&String>| m.into_iter().cloned().collect::<Vec<_>>();
            let (got, exp) = (
                names(produced.keys().collect()),
                names(want.keys().collect()),
            );
            if got != exp {
                self.failures.push(format!(
                    "{what}: the files written {got:?} differ from those in {} {exp:?} (bless with UPDATE_EXPECT=1)",
                    dir.display()
                ));
            }
        }
        for (name, content) in produced {
            self.file(&format!("{what}: {name}"), &dir.join(name), content);
        }
    }

    /// Fail with every difference found.
    pub fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} expectation(s) not met:\n\n{}",
            self.failures.len(),
            self.failures.join("\n\n")
        );
    }
}

/// A unified diff, expected against produced.
pub fn diff(want: &str, got: &str) -> String {
    similar::TextDiff::from_lines(want, got)
        .unified_diff()
        .header("expected", "produced")
        .to_string()
}
