//! Can the app's user reach a path? The kernel's rules for looking a path up, applied to the
//! user database and the file modes the [`Host`] reports: every directory on the way needs
//! search (x) permission, symlinks are followed wherever they point (and need nothing
//! themselves), and the last entry needs what the app does with it.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use crate::adapters::host::{Account, Host, Node};

/// The credentials an app's processes have, for permission checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cred {
    /// The uid; `None` for a dynamic user, which owns nothing on disk ("other" everywhere).
    pub uid: Option<u32>,
    /// The primary and supplementary groups.
    pub gids: Vec<u32>,
    /// How to name it in a message: `user "deploy"`, `root`, `the dynamic user`.
    pub shown: String,
}

impl Cred {
    /// A user of the user database, with `group` (a gid) as its primary group when given.
    pub fn of(acct: &Account, group: Option<u32>) -> Cred {
        let mut gids = acct.groups.clone();
        gids.extend(group);
        Cred {
            uid: Some(acct.uid),
            gids,
            shown: if acct.uid == 0 {
                "root".to_string()
            } else {
                format!("user {:?}", acct.name)
            },
        }
    }

    /// `DynamicUser=yes`: a uid no file belongs to, in `group` when given.
    pub fn dynamic(group: Option<u32>) -> Cred {
        Cred {
            uid: None,
            gids: group.into_iter().collect(),
            shown: "the dynamic user".to_string(),
        }
    }

    fn is_root(&self) -> bool {
        self.uid == Some(0)
    }
}

/// What an app does with a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Search a directory (x): `chdir`, or passing through.
    Search,
    /// Execute a file (x), and for a script read it too (r).
    Execute {
        /// Is it a script, which its interpreter must read?
        script: bool,
    },
}

/// Why a path cannot be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// A directory on the way does not let the user search it.
    Search(PathBuf, Node),
    /// The entry itself does not let the user do what the app does with it.
    Denied(PathBuf, Node),
    /// Something on the way does not exist.
    Missing(PathBuf),
    /// Symlinks that go round (more than 40 followed).
    Loop(PathBuf),
}

/// May `cred` do `bits` (4 read, 1 execute or search) on `node`? An entry with an access
/// control list is given the benefit of the doubt: only the kernel can tell.
fn may(cred: &Cred, node: &Node, bits: u32, dir: bool) -> bool {
    if node.acl {
        return true;
    }
    if cred.is_root() {
        // root reads and searches anything, and executes what anyone may execute.
        return bits & 1 == 0 || dir || node.mode & 0o111 != 0;
    }
    let shift = if cred.uid == Some(node.uid) {
        6
    } else if cred.gids.contains(&node.gid) {
        3
    } else {
        0
    };
    (node.mode >> shift) & bits == bits
}

/// Follow `path` (absolute) as the kernel would for `cred`: the path it leads to, with every
/// symlink resolved, or why it cannot be reached.
pub fn walk(host: &dyn Host, path: &Path, cred: &Cred, access: Access) -> Result<PathBuf, Blocked> {
    let mut todo: VecDeque<OsString> = parts(path).collect();
    let mut at = PathBuf::from("/");
    let mut links = 0;
    while let Some(part) = todo.pop_front() {
        let here = host
            .lstat(&at)
            .ok_or_else(|| Blocked::Missing(at.clone()))?;
        if !may(cred, &here, 1, true) {
            return Err(Blocked::Search(at, here));
        }
        if part == ".." {
            at.pop();
            continue;
        }
        let next = at.join(&part);
        let node = host
            .lstat(&next)
            .ok_or_else(|| Blocked::Missing(next.clone()))?;
        if !node.symlink {
            at = next;
            continue;
        }
        links += 1;
        let target = match host.read_link(&next) {
            Some(t) if links <= 40 => t,
            _ => return Err(Blocked::Loop(next)),
        };
        if target.is_absolute() {
            at = PathBuf::from("/");
        }
        for p in parts(&target).collect::<Vec<_>>().into_iter().rev() {
            todo.push_front(p);
        }
    }
    let node = host
        .lstat(&at)
        .ok_or_else(|| Blocked::Missing(at.clone()))?;
    let ok = match access {
        Access::Search => may(cred, &node, 1, true),
        Access::Execute { script } => {
            may(cred, &node, 1, false) && (!script || may(cred, &node, 4, false))
        }
    };
    if ok {
        Ok(at)
    } else {
        Err(Blocked::Denied(at, node))
    }
}

/// The names and `..` of a path, in order (`/` and `.` dropped).
fn parts(p: &Path) -> impl Iterator<Item = OsString> + '_ {
    p.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_os_string()),
        Component::ParentDir => Some("..".into()),
        _ => None,
    })
}

/// `0700, owner alice`, for messages.
pub fn describe(host: &dyn Host, node: &Node) -> String {
    let owner = host
        .user_by_uid(node.uid)
        .map_or_else(|| format!("uid {}", node.uid), |a| a.name);
    format!("mode {:04o}, owner {owner}", node.mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::host::Claim;
    use std::collections::BTreeMap;

    /// A tiny filesystem: path -> (node, link target).
    #[derive(Default)]
    struct Fs(BTreeMap<PathBuf, (Node, Option<PathBuf>)>);

    impl Fs {
        fn add(mut self, p: &str, uid: u32, mode: u32, link: Option<&str>) -> Self {
            let node = Node {
                symlink: link.is_some(),
                uid,
                gid: uid,
                mode,
                acl: false,
            };
            self.0.insert(p.into(), (node, link.map(PathBuf::from)));
            self
        }
    }

    impl Host for Fs {
        fn absolute(&self, p: &Path) -> PathBuf {
            p.to_path_buf()
        }
        fn is_dir(&self, _: &Path) -> bool {
            true
        }
        fn is_file(&self, _: &Path) -> bool {
            true
        }
        fn is_executable(&self, _: &Path) -> bool {
            true
        }
        fn first_line(&self, _: &Path) -> Option<String> {
            None
        }
        fn search_path(&self) -> Vec<PathBuf> {
            Vec::new()
        }
        fn cpu_count(&self) -> u32 {
            1
        }
        fn installed_claims(&self) -> Vec<Claim> {
            Vec::new()
        }
        fn lstat(&self, p: &Path) -> Option<Node> {
            self.0.get(p).map(|e| e.0)
        }
        fn read_link(&self, p: &Path) -> Option<PathBuf> {
            self.0.get(p).and_then(|e| e.1.clone())
        }
        fn list_dir(&self, _: &Path) -> Vec<PathBuf> {
            Vec::new()
        }
        fn owner(&self, _: &Path) -> Option<u32> {
            None
        }
        fn user(&self, _: &str) -> Option<Account> {
            None
        }
        fn user_by_uid(&self, _: u32) -> Option<Account> {
            None
        }
        fn group(&self, _: &str) -> Option<u32> {
            None
        }
        fn user_manager(&self) -> bool {
            false
        }
        fn caller(&self) -> u32 {
            0
        }
    }

    fn fs() -> Fs {
        Fs::default()
            .add("/", 0, 0o755, None)
            .add("/home", 0, 0o755, None)
            .add("/home/alice", 1000, 0o700, None)
            .add("/home/alice/app", 1000, 0o755, None)
            .add("/home/alice/app/run", 1000, 0o755, None)
            .add("/srv", 0, 0o755, None)
            .add("/srv/bin", 0, 0o755, None)
            .add("/srv/bin/run", 0, 0o777, Some("../app/run"))
            .add("/srv/app", 0, 0o755, None)
            .add("/srv/app/run", 0, 0o750, None)
            .add("/srv/loop", 0, 0o777, Some("/srv/loop"))
    }

    fn user(uid: u32) -> Cred {
        Cred {
            uid: Some(uid),
            gids: vec![uid],
            shown: String::new(),
        }
    }

    const EXEC: Access = Access::Execute { script: false };

    #[test]
    fn a_home_of_mode_0700_stops_everyone_but_its_owner_and_root() {
        let fs = fs();
        let p = Path::new("/home/alice/app/run");
        assert_eq!(walk(&fs, p, &user(1000), EXEC), Ok(p.to_path_buf()));
        assert_eq!(walk(&fs, p, &user(0), EXEC), Ok(p.to_path_buf()));
        match walk(&fs, p, &user(1001), EXEC) {
            Err(Blocked::Search(d, _)) => assert_eq!(d, Path::new("/home/alice")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            walk(&fs, p, &Cred::dynamic(None), EXEC),
            Err(Blocked::Search(..))
        ));
    }

    #[test]
    fn symlinks_and_dotdot_are_followed_and_the_target_checked() {
        let fs = fs();
        let p = Path::new("/srv/bin/run");
        assert_eq!(
            walk(&fs, p, &user(0), EXEC),
            Ok(PathBuf::from("/srv/app/run"))
        );
        // 0750 root: others may not execute the target, whatever the link's own mode.
        assert!(matches!(
            walk(&fs, p, &user(1000), EXEC),
            Err(Blocked::Denied(..))
        ));
        assert_eq!(
            walk(
                &fs,
                Path::new("/srv/bin/../app"),
                &user(1000),
                Access::Search
            ),
            Ok(PathBuf::from("/srv/app"))
        );
        assert!(matches!(
            walk(&fs, Path::new("/srv/loop"), &user(0), Access::Search),
            Err(Blocked::Loop(_))
        ));
        assert!(matches!(
            walk(&fs, Path::new("/srv/none"), &user(0), Access::Search),
            Err(Blocked::Missing(_))
        ));
    }
}
