//! What the compiler needs to know about the machine, behind a trait so that the core stays
//! pure: the real machine for commands, a fixed one for golden tests and benchmarks.

use std::path::{Path, PathBuf};

use crate::config::Listen;

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
}

/// The machine unitgen runs on.
pub struct SystemHost {
    claims: Vec<Claim>,
}

impl SystemHost {
    /// A host whose installed claims were read from the unit directory.
    pub fn new(claims: Vec<Claim>) -> Self {
        SystemHost { claims }
    }
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
        let f = std::fs::File::open(p).ok()?;
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
}

/// A machine where every path exists, programs live in `/usr/bin`, and there are 4 CPUs:
/// output does not depend on the machine it is rendered on (golden tests, benchmarks).
#[derive(Debug, Default, Clone)]
pub struct FixedHost {
    /// Claims to pretend are installed.
    pub claims: Vec<Claim>,
    /// Paths to pretend do not exist.
    pub missing: Vec<PathBuf>,
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
        p.starts_with("/usr/bin") && self.is_dir(p)
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
}
