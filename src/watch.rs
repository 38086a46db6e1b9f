//! Watch mode's decisions, pure: which changed paths are ignored (`ignore_watch`), and when a
//! burst of changes has settled enough to restart (`watch_delay`). The watcher that applies
//! them, `unitgen __watch`, is in [`crate::ops::watch`].
//!
//! `ignore_watch` holds glob patterns (the one key whose values are patterns, not paths):
//! `*`, `?` and `[...]` match within one path component, `**` across components, `\` escapes.
//! A pattern without `/` is matched against each component of the changed path below the
//! watched directory (`node_modules`, `*.log`, `.git`); a pattern with `/` against the whole
//! path relative to the app's working directory (`public/uploads`, `src/**/*.test.js`), or,
//! when it starts with `/`, against the absolute path. What a pattern matches is ignored with
//! everything under it.

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// What PM2 ignores when `ignore_watch` is not given: dot files and directories, and
/// `node_modules`.
pub const DEFAULT_IGNORE: &[&str] = &[".*", "node_modules"];

fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
}

/// Why a pattern cannot be used, if it can't.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.trim().is_empty() {
        return Err("an empty pattern would match nothing".into());
    }
    glob(pattern).map(|_| ()).map_err(|e| match e.kind() {
        globset::ErrorKind::UnclosedClass => "a `[` opens a class that is not closed".to_string(),
        globset::ErrorKind::InvalidRecursive => {
            "`**` must be a whole path component, as in `src/**/*.js`".to_string()
        }
        globset::ErrorKind::DanglingEscape => "the pattern ends with a lone `\\`".to_string(),
        globset::ErrorKind::UnclosedAlternates => "a `{` is not closed".to_string(),
        k => k.to_string(),
    })
}

/// The compiled `ignore_watch` of one app.
#[derive(Debug, Clone)]
pub struct Ignore {
    /// The app's working directory: relative patterns are taken from it.
    cwd: PathBuf,
    /// Patterns without `/`: matched against each component.
    names: GlobSet,
    /// Patterns with `/`: matched against the path and each of its parents.
    paths: GlobSet,
}

impl Ignore {
    /// Compile patterns already checked with [`check_pattern`].
    pub fn new(cwd: &Path, patterns: &[String]) -> Result<Self, String> {
        let mut names = GlobSetBuilder::new();
        let mut paths = GlobSetBuilder::new();
        for p in patterns {
            check_pattern(p).map_err(|e| format!("{p:?}: {e}"))?;
            // `./cache/` is the cwd's cache, `cache/` any cache directory.
            let anchored = p.trim_end_matches('/').contains('/');
            let p = p.strip_prefix("./").unwrap_or(p);
            let p = p.strip_suffix('/').unwrap_or(p);
            let g = glob(p).map_err(|e| format!("{p:?}: {e}"))?;
            if anchored {
                paths.add(g);
            } else {
                names.add(g);
            }
        }
        Ok(Ignore {
            cwd: cwd.to_path_buf(),
            names: names.build().map_err(|e| e.to_string())?,
            paths: paths.build().map_err(|e| e.to_string())?,
        })
    }

    /// Is a change at `path` (absolute), seen under the watched directory `root`, ignored?
    pub fn ignores(&self, root: &Path, path: &Path) -> bool {
        let below = path.strip_prefix(root).unwrap_or(path);
        let by_name = below.components().any(|c| match c {
            Component::Normal(n) => self.names.is_match(Path::new(n)),
            _ => false,
        });
        if by_name {
            return true;
        }
        if self.paths.is_empty() {
            return false;
        }
        path.ancestors().any(|a| {
            self.paths.is_match(a)
                || a.strip_prefix(&self.cwd)
                    .is_ok_and(|r| !r.as_os_str().is_empty() && self.paths.is_match(r))
        })
    }
}

/// When a burst of changes has settled: `delay` after the last change, and never more than
/// [`Debounce::longest`] after the first, so that a file rewritten without pause still
/// restarts the app.
#[derive(Debug, Clone)]
pub struct Debounce {
    delay: Duration,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Debounce {
    /// A debouncer with `watch_delay`.
    pub fn new(delay: Duration) -> Self {
        Debounce {
            delay,
            first: None,
            last: None,
        }
    }

    /// The longest a restart waits after the first change of a burst.
    pub fn longest(&self) -> Duration {
        (self.delay * 10).max(Duration::from_secs(5))
    }

    /// A change was seen at `now`.
    pub fn change(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// When the restart is due, if a change waits for one.
    pub fn due(&self) -> Option<Instant> {
        let (first, last) = (self.first?, self.last?);
        Some((last + self.delay).min(first + self.longest()))
    }

    /// The restart is done (changes seen after this call wait for the next one).
    pub fn fired(&mut self) {
        self.first = None;
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(patterns: &[&str]) -> Ignore {
        let p: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        Ignore::new(Path::new("/srv/app"), &p).unwrap()
    }

    #[test]
    fn names_match_any_component_and_paths_match_from_the_cwd() {
        let root = Path::new("/srv/app");
        let i = ig(&[
            "node_modules",
            "*.log",
            "public/uploads",
            "src/**/*.test.js",
        ]);
        let yes = [
            "/srv/app/node_modules/x/index.js",
            "/srv/app/lib/node_modules/y.js",
            "/srv/app/logs/out.log",
            "/srv/app/public/uploads/a.png",
            "/srv/app/src/a/b/c.test.js",
            "/srv/app/src/c.test.js",
        ];
        for p in yes {
            assert!(i.ignores(root, Path::new(p)), "{p}");
        }
        let no = [
            "/srv/app/src/server.js",
            "/srv/app/public/index.html",
            "/srv/app/node_modules.js",
            "/srv/app/log",
            "/srv/app/src/c.test.jsx",
        ];
        for p in no {
            assert!(!i.ignores(root, Path::new(p)), "{p}");
        }
    }

    #[test]
    fn the_default_ignores_dot_files_and_node_modules_only_below_the_root() {
        // A dot directory above the watched root is not a reason to ignore everything.
        let i = Ignore::new(
            Path::new("/home/d/.apps/web"),
            &DEFAULT_IGNORE
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let root = Path::new("/home/d/.apps/web");
        assert!(!i.ignores(root, Path::new("/home/d/.apps/web/server.js")));
        assert!(i.ignores(root, Path::new("/home/d/.apps/web/.git/index")));
        assert!(i.ignores(root, Path::new("/home/d/.apps/web/.server.js.swp")));
        assert!(i.ignores(root, Path::new("/home/d/.apps/web/node_modules/a")));
    }

    #[test]
    fn absolute_and_escaped_patterns() {
        let root = Path::new("/srv/app");
        let i = ig(&["/srv/app/tmp", "\\.git", "./cache/"]);
        assert!(i.ignores(root, Path::new("/srv/app/tmp/x")));
        assert!(i.ignores(root, Path::new("/srv/app/.git/HEAD")));
        assert!(i.ignores(root, Path::new("/srv/app/cache/a")));
        assert!(!i.ignores(root, Path::new("/srv/app/xgit")));
        assert!(!i.ignores(root, Path::new("/srv/app/src/cache/a")));
    }

    #[test]
    fn bad_patterns_are_named() {
        assert!(check_pattern("src/[ab").unwrap_err().contains("not closed"));
        assert!(check_pattern("").is_err());
        assert!(check_pattern("src/{a,b").is_err());
        assert!(check_pattern("*.log").is_ok());
    }

    #[test]
    fn a_burst_restarts_once_after_the_delay_and_a_long_one_still_restarts() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut d = Debounce::new(ms(1000));
        assert_eq!(d.due(), None);
        for k in 0..20 {
            d.change(t0 + ms(50 * k));
        }
        assert_eq!(d.due(), Some(t0 + ms(950 + 1000)));
        d.fired();
        assert_eq!(d.due(), None);
        // Changes every 500 ms without end: due 10 s after the first at the latest.
        for k in 0..100 {
            d.change(t0 + ms(500 * k));
        }
        assert_eq!(d.due(), Some(t0 + ms(10_000)));
    }
}
