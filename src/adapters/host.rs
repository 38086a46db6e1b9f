//! What the compiler needs to know about the machine, behind a trait so that the core stays
//! pure: the real machine for commands, a fixed one for golden tests and benchmarks.

use std::path::{Path, PathBuf};

use crate::core::config::Listen;

/// A socket or port already claimed by an app installed in the unit directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The namespace that owns it.
    pub namespace: String,
    /// The app that owns it.
    pub app: String,
    /// What it listens on.
    pub listen: Listen,
    /// The unit file it was read from.
    pub origin: PathBuf,
}

/// A user of the user database, with what permission checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user name.
    pub name: String,
    /// The uid.
    pub uid: u32,
    /// The primary gid.
    pub gid: u32,
    /// Every group the user is in (supplementary groups and the primary one).
    pub groups: Vec<u32>,
    /// The home directory.
    pub home: PathBuf,
}

/// One entry of a directory, as `lstat(2)` sees it: symlinks are not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// Is it a symbolic link?
    pub symlink: bool,
    /// The owner's uid.
    pub uid: u32,
    /// The owning group.
    pub gid: u32,
    /// The permission bits (`0o755`).
    pub mode: u32,
    /// Does it carry a POSIX access control list, which may grant more than the mode says?
    pub acl: bool,
}

/// Facts about the machine that validation checks against.
pub trait Host {
    /// The path made absolute against the current directory (no symlinks resolved).
    fn absolute(&self, p: &Path) -> PathBuf;
    /// Is it an existing directory?
    fn is_dir(&self, p: &Path) -> bool;
    /// Is it an existing file (or a link to one)?
    fn is_file(&self, p: &Path) -> bool;
    /// Is it a file that may be executed?
    fn is_executable(&self, p: &Path) -> bool;
    /// The first line of a file (at most 256 bytes of it), such as a script's `#!` line.
    fn first_line(&self, p: &Path) -> Option<String>;
    /// The directories of `PATH`, in order.
    fn search_path(&self) -> Vec<PathBuf>;
    /// The number of CPUs, for `instances = "max"`.
    fn cpu_count(&self) -> u32;
    /// Ports and sockets claimed by the units of other namespaces already installed.
    fn installed_claims(&self) -> Vec<Claim>;
    /// The entry at this path, symlinks not followed.
    fn lstat(&self, p: &Path) -> Option<Node>;
    /// Where a symbolic link points, as written in it.
    fn read_link(&self, p: &Path) -> Option<PathBuf>;
    /// The entries of a directory (at most a few hundred, sorted), for suggestions.
    fn list_dir(&self, p: &Path) -> Vec<PathBuf>;
    /// The uid that owns the ecosystem file; for a file not written yet, the caller's.
    fn owner(&self, p: &Path) -> Option<u32>;
    /// A user by name, or by a numeric uid given as text.
    fn user(&self, name: &str) -> Option<Account>;
    /// A user by uid.
    fn user_by_uid(&self, uid: u32) -> Option<Account>;
    /// A group's gid, by name or by a numeric gid given as text.
    fn group(&self, name: &str) -> Option<u32>;
    /// Are the units for a user's own systemd (`--user`), which runs every app as that user?
    fn user_manager(&self) -> bool;
    /// The user unitgen runs as (the one a user manager runs apps as).
    fn caller(&self) -> u32;
}

/// The machine unitgen runs on.
pub struct SystemHost {
    claims: Vec<Claim>,
    user_manager: bool,
}

impl SystemHost {
    /// A host whose installed claims were read from the unit directory, for the system manager.
    pub fn new(claims: Vec<Claim>) -> Self {
        SystemHost {
            claims,
            user_manager: false,
        }
    }

    /// The same, for the calling user's own systemd (`--user`) when `user_manager` is true.
    pub fn for_manager(mut self, user_manager: bool) -> Self {
        self.user_manager = user_manager;
        self
    }
}

fn account(u: nix::unistd::User) -> Account {
    let mut groups: Vec<u32> = std::ffi::CString::new(u.name.as_bytes())
        .ok()
        .and_then(|name| nix::unistd::getgrouplist(&name, u.gid).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|g| g.as_raw())
        .collect();
    groups.push(u.gid.as_raw());
    groups.sort_unstable();
    groups.dedup();
    Account {
        name: u.name,
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
        groups,
        home: u.dir,
    }
}

/// Does the file carry a POSIX access ACL (`system.posix_acl_access`)?
fn has_acl(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    extern "C" {
        fn lgetxattr(
            path: *const std::ffi::c_char,
            name: *const std::ffi::c_char,
            value: *mut std::ffi::c_void,
            size: usize,
        ) -> isize;
    }
    let Ok(path) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: both pointers are to NUL-terminated strings that outlive the call; a null
    // value of size 0 only asks for the attribute's size, and nothing is written.
    let size = unsafe {
        lgetxattr(
            path.as_ptr(),
            c"system.posix_acl_access".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    size > 0
}

impl Host for SystemHost {
    fn absolute(&self, p: &Path) -> PathBuf {
        std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
    }
    fn is_dir(&self, p: &Path) -> bool {
        p.is_dir()
    }
    fn is_file(&self, p: &Path) -> bool {
        p.is_file()
    }
    fn is_executable(&self, p: &Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    fn first_line(&self, p: &Path) -> Option<String> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        // Non-blocking: a FIFO named as a program must not hang validation.
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(p)
            .ok()?;
        if !f.metadata().ok()?.is_file() {
            return None;
        }
        let mut buf = Vec::with_capacity(256);
        f.take(256).read_to_end(&mut buf).ok()?;
        let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
        Some(String::from_utf8_lossy(line).into_owned())
    }
    fn search_path(&self) -> Vec<PathBuf> {
        let path =
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        std::env::split_paths(&path)
            .filter(|p| p.is_absolute())
            .collect()
    }
    fn cpu_count(&self) -> u32 {
        std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
    }
    fn installed_claims(&self) -> Vec<Claim> {
        self.claims.clone()
    }
    fn lstat(&self, p: &Path) -> Option<Node> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(p).ok()?;
        Some(Node {
            symlink: m.file_type().is_symlink(),
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode() & 0o7777,
            acl: !m.file_type().is_symlink() && has_acl(p),
        })
    }
    fn read_link(&self, p: &Path) -> Option<PathBuf> {
        std::fs::read_link(p).ok()
    }
    fn list_dir(&self, p: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|d| {
                d.take(512)
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
    fn owner(&self, p: &Path) -> Option<u32> {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(p) {
            Ok(m) => Some(m.uid()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(self.caller()),
            Err(_) => None,
        }
    }
    fn user(&self, name: &str) -> Option<Account> {
        let found = match name.parse::<u32>() {
            Ok(uid) => nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)),
            Err(_) => nix::unistd::User::from_name(name),
        };
        found.ok().flatten().map(account)
    }
    fn user_by_uid(&self, uid: u32) -> Option<Account> {
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(account)
    }
    fn group(&self, name: &str) -> Option<u32> {
        let found = match name.parse::<u32>() {
            Ok(gid) => nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)),
            Err(_) => nix::unistd::Group::from_name(name),
        };
        found.ok().flatten().map(|g| g.gid.as_raw())
    }
    fn user_manager(&self) -> bool {
        self.user_manager
    }
    fn caller(&self) -> u32 {
        nix::unistd::geteuid().as_raw()
    }
}

/// A machine where every path exists (a directory or file of mode 0755 owned by root, no
/// symlinks), programs live in `/usr/bin` (and in `programs`), every well-formed user and
/// group name exists, the
/// ecosystem file is owned by the user `deploy` (uid 1000), and there are 4 CPUs: output does
/// not depend on the machine it is rendered on (golden tests, benchmarks).
#[derive(Debug, Default, Clone)]
pub struct FixedHost {
    /// Claims to pretend are installed.
    pub claims: Vec<Claim>,
    /// Paths to pretend do not exist.
    pub missing: Vec<PathBuf>,
    /// Pretend the ecosystem file is owned by root.
    pub root_owned: bool,
    /// Units for a user's own systemd (`--user`).
    pub user_manager: bool,
    /// Users and groups to pretend do not exist.
    pub unknown_users: Vec<String>,
    /// Programs outside `/usr/bin` to pretend are installed.
    pub programs: Vec<PathBuf>,
}

/// The uid of FixedHost's ordinary users (`deploy` by that uid).
const FIXED_UID: u32 = 1000;

impl FixedHost {
    fn fixed_account(&self, name: &str) -> Option<Account> {
        if self.unknown_users.iter().any(|u| u == name) {
            return None;
        }
        let (uid, home) = match name {
            "root" | "0" => (0, PathBuf::from("/root")),
            _ => (FIXED_UID, Path::new("/home").join(name)),
        };
        let name = if name == "0" { "root" } else { name };
        Some(Account {
            name: name.to_string(),
            uid,
            gid: uid,
            groups: vec![uid],
            home,
        })
    }
}

impl Host for FixedHost {
    fn absolute(&self, p: &Path) -> PathBuf {
        Path::new("/").join(p)
    }
    fn is_dir(&self, p: &Path) -> bool {
        !self.missing.iter().any(|m| p.starts_with(m))
    }
    fn is_file(&self, p: &Path) -> bool {
        self.is_dir(p)
    }
    fn is_executable(&self, p: &Path) -> bool {
        (p.starts_with("/usr/bin") || self.programs.iter().any(|x| x == p)) && self.is_dir(p)
    }
    fn first_line(&self, p: &Path) -> Option<String> {
        // Node's launchers, as Debian installs them.
        let name = p.file_name()?.to_str()?;
        ["npm", "npx", "yarn", "pnpm", "ts-node"]
            .contains(&name)
            .then(|| "#!/usr/bin/env node".to_string())
    }
    fn search_path(&self) -> Vec<PathBuf> {
        vec![PathBuf::from("/usr/bin")]
    }
    fn cpu_count(&self) -> u32 {
        4
    }
    fn installed_claims(&self) -> Vec<Claim> {
        self.claims.clone()
    }
    fn lstat(&self, p: &Path) -> Option<Node> {
        self.is_dir(p).then_some(Node {
            symlink: false,
            uid: 0,
            gid: 0,
            mode: 0o755,
            acl: false,
        })
    }
    fn read_link(&self, _: &Path) -> Option<PathBuf> {
        None
    }
    fn list_dir(&self, _: &Path) -> Vec<PathBuf> {
        Vec::new()
    }
    fn owner(&self, _: &Path) -> Option<u32> {
        Some(if self.root_owned { 0 } else { FIXED_UID })
    }
    fn user(&self, name: &str) -> Option<Account> {
        self.fixed_account(name)
    }
    fn user_by_uid(&self, uid: u32) -> Option<Account> {
        match uid {
            0 => self.fixed_account("root"),
            FIXED_UID => self.fixed_account("deploy"),
            _ => None,
        }
    }
    fn group(&self, name: &str) -> Option<u32> {
        let unknown = self.unknown_users.iter().any(|u| u == name);
        (!unknown).then_some(if name == "root" { 0 } else { FIXED_UID })
    }
    fn user_manager(&self) -> bool {
        self.user_manager
    }
    fn caller(&self) -> u32 {
        if self.root_owned {
            0
        } else {
            FIXED_UID
        }
    }
}

/// Another host's answers, each asked once: a file of many apps asks about the same few
/// directories, programs and users again and again.
pub struct Cached<'a> {
    host: &'a dyn Host,
    nodes: Memo<PathBuf, Option<Node>>,
    links: Memo<PathBuf, Option<PathBuf>>,
    kinds: Memo<PathBuf, (bool, bool, bool)>,
    lines: Memo<PathBuf, Option<String>>,
    users: Memo<String, Option<Account>>,
    uids: Memo<u32, Option<Account>>,
    groups: Memo<String, Option<u32>>,
}

type Memo<K, V> = std::cell::RefCell<std::collections::HashMap<K, V>>;

fn memo<K: std::hash::Hash + Eq + Clone, V: Clone>(
    m: &Memo<K, V>,
    k: &K,
    f: impl FnOnce() -> V,
) -> V {
    if let Some(v) = m.borrow().get(k) {
        return v.clone();
    }
    let v = f();
    m.borrow_mut().insert(k.clone(), v.clone());
    v
}

impl<'a> Cached<'a> {
    /// Remember what `host` answers.
    pub fn new(host: &'a dyn Host) -> Self {
        Cached {
            host,
            nodes: Default::default(),
            links: Default::default(),
            kinds: Default::default(),
            lines: Default::default(),
            users: Default::default(),
            uids: Default::default(),
            groups: Default::default(),
        }
    }

    /// Is it a directory, a file, an executable file?
    fn kind(&self, p: &Path) -> (bool, bool, bool) {
        memo(&self.kinds, &p.to_path_buf(), || {
            let h = self.host;
            (h.is_dir(p), h.is_file(p), h.is_executable(p))
        })
    }
}

impl Host for Cached<'_> {
    fn absolute(&self, p: &Path) -> PathBuf {
        self.host.absolute(p)
    }
    fn is_dir(&self, p: &Path) -> bool {
        self.kind(p).0
    }
    fn is_file(&self, p: &Path) -> bool {
        self.kind(p).1
    }
    fn is_executable(&self, p: &Path) -> bool {
        self.kind(p).2
    }
    fn first_line(&self, p: &Path) -> Option<String> {
        memo(&self.lines, &p.to_path_buf(), || self.host.first_line(p))
    }
    fn search_path(&self) -> Vec<PathBuf> {
        self.host.search_path()
    }
    fn cpu_count(&self) -> u32 {
        self.host.cpu_count()
    }
    fn installed_claims(&self) -> Vec<Claim> {
        self.host.installed_claims()
    }
    fn lstat(&self, p: &Path) -> Option<Node> {
        memo(&self.nodes, &p.to_path_buf(), || self.host.lstat(p))
    }
    fn read_link(&self, p: &Path) -> Option<PathBuf> {
        memo(&self.links, &p.to_path_buf(), || self.host.read_link(p))
    }
    fn list_dir(&self, p: &Path) -> Vec<PathBuf> {
        self.host.list_dir(p)
    }
    fn owner(&self, p: &Path) -> Option<u32> {
        self.host.owner(p)
    }
    fn user(&self, name: &str) -> Option<Account> {
        memo(&self.users, &name.to_string(), || self.host.user(name))
    }
    fn user_by_uid(&self, uid: u32) -> Option<Account> {
        memo(&self.uids, &uid, || self.host.user_by_uid(uid))
    }
    fn group(&self, name: &str) -> Option<u32> {
        memo(&self.groups, &name.to_string(), || self.host.group(name))
    }
    fn user_manager(&self) -> bool {
        self.host.user_manager()
    }
    fn caller(&self) -> u32 {
        self.host.caller()
    }
}
