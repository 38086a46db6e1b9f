//! The unit directory: what unitgen installed there, and writing it back atomically.
//!
//! unitgen only ever touches top-level files that carry `X-Unitgen-Namespace=` with the
//! namespace at hand; drop-ins (`NAME.d/*.conf`) and everything else are left alone.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::config::Listen;
use crate::host::Claim;
use crate::quote;

/// The suffixes of the units unitgen writes.
const SUFFIXES: &[&str] = &[".service", ".socket", ".slice", ".target", ".timer"];

/// The mark line that says which namespace a unit belongs to.
pub fn mark(ns: &str) -> String {
    format!("X-Unitgen-Namespace={ns}")
}

/// The namespace a unit file's text is marked with, if any.
pub fn marked_namespace(content: &str) -> Option<&str> {
    content
        .lines()
        .find_map(|l| l.trim().strip_prefix("X-Unitgen-Namespace="))
        .map(str::trim)
}

/// The app a unit file's text is marked with, if any.
pub fn app_of(content: &str) -> Option<&str> {
    content
        .lines()
        .find_map(|l| l.trim().strip_prefix("X-Unitgen-App="))
        .map(str::trim)
}

/// What is at one unit's name in the unit directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular file.
    File(InstalledFile),
    /// A symbolic link: `systemctl mask` (to /dev/null) or `systemctl link` (to a file
    /// elsewhere). An admin's decision, never unitgen's.
    Link(PathBuf),
}

/// A regular unit file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstalledFile {
    /// Its text (a file that is not UTF-8 reads as empty, and so as not unitgen's).
    pub text: String,
    /// When it was last written, in microseconds since the epoch.
    pub modified_us: u64,
}

impl InstalledFile {
    /// The namespace it is marked with.
    pub fn namespace(&self) -> Option<&str> {
        marked_namespace(&self.text)
    }

    /// The app it is marked with.
    pub fn app(&self) -> Option<&str> {
        app_of(&self.text)
    }
}

/// Every unit-named entry at the top of a unit directory.
pub type Installed = BTreeMap<String, Entry>;

/// A file elsewhere in systemd's search path with one of the names unitgen would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadow {
    /// The unit name.
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
    /// Where it links to, when it is a symbolic link (/dev/null: masked).
    pub link: Option<PathBuf>,
    /// The namespace its text is marked with.
    pub namespace: Option<String>,
}

/// A directory of unit files, such as `/etc/systemd/system`.
#[derive(Debug, Clone)]
pub struct UnitDir {
    /// Its path.
    pub path: PathBuf,
}

/// The largest unit file unitgen reads (its own are a few KiB).
const MAX_UNIT_FILE: u64 = 4 << 20;

fn modified_us(m: &fs::Metadata) -> u64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_micros() as u64)
}

fn read_unit(path: &Path, meta: &fs::Metadata) -> io::Result<InstalledFile> {
    use std::io::Read;
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(MAX_UNIT_FILE)
        .read_to_end(&mut bytes)?;
    Ok(InstalledFile {
        // A unit that is not UTF-8 is not one of ours.
        text: String::from_utf8(bytes).unwrap_or_default(),
        modified_us: modified_us(meta),
    })
}

impl UnitDir {
    /// The directory at `path` (it need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        UnitDir { path: path.into() }
    }

    /// Every unit file and link at the top of the directory. A missing directory is empty.
    pub fn scan(&self) -> io::Result<Installed> {
        let mut out = BTreeMap::new();
        let entries = match fs::read_dir(&self.path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !SUFFIXES.iter().any(|s| name.ends_with(s)) || name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_symlink() {
                out.insert(name, Entry::Link(fs::read_link(&path)?));
            } else if kind.is_file() {
                let meta = entry.metadata()?;
                match read_unit(&path, &meta) {
                    Ok(f) => {
                        out.insert(name, Entry::File(f));
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(out)
    }

    /// Every regular unit file at the top of the directory, name → text.
    pub fn read_all(&self) -> io::Result<BTreeMap<String, String>> {
        Ok(self
            .scan()?
            .into_iter()
            .filter_map(|(n, e)| match e {
                Entry::File(f) => Some((n, f.text)),
                Entry::Link(_) => None,
            })
            .collect())
    }

    /// Remove what an interrupted write left behind: the temporary files of these units.
    pub fn clean_temporary(&self, names: &[String]) -> io::Result<usize> {
        let entries = match fs::read_dir(&self.path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let ours = names
                .iter()
                .any(|n| file.starts_with(&temp_prefix(n)) && file.len() > temp_prefix(n).len());
            if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
                fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The files marked as belonging to namespace `ns`.
    pub fn owned(&self, ns: &str) -> io::Result<BTreeMap<String, String>> {
        Ok(self
            .read_all()?
            .into_iter()
            .filter(|(_, t)| marked_namespace(t) == Some(ns))
            .collect())
    }

    /// Ports and sockets claimed by installed apps of every namespace: the `ListenStream=`
    /// of their sockets, and the `PORT` their services bind (from their environment files in
    /// `env`; files this user cannot read are skipped).
    pub fn claims(&self, env: &EnvDir) -> io::Result<Vec<Claim>> {
        let mut out = Vec::new();
        let mut namespaces = std::collections::BTreeSet::new();
        for (name, text) in self.read_all()? {
            let (Some(ns), Some(app)) = (marked_namespace(&text), app_of(&text)) else {
                continue;
            };
            namespaces.insert(ns.to_string());
            for v in text.lines().filter_map(|l| l.strip_prefix("ListenStream=")) {
                let v = v.trim().replace("%%", "%");
                let listen = if v.starts_with('/') {
                    Some(Listen::Unix(v))
                } else {
                    Listen::parse_str(&v).ok()
                };
                if let Some(listen) = listen {
                    out.push(Claim {
                        namespace: ns.to_string(),
                        app: app.to_string(),
                        listen,
                        origin: self.path.join(&name),
                    });
                }
            }
        }
        for ns in namespaces {
            for (name, file) in env.scan(&ns).unwrap_or_default() {
                let app = name
                    .strip_prefix(&format!("{ns}/"))
                    .and_then(|n| n.strip_suffix(".env"))
                    .map(|n| n.split('@').next().unwrap_or(n).to_string())
                    .unwrap_or_default();
                for (k, v) in quote::parse_env_file(&file.text) {
                    if let (true, Ok(p)) = (k == "PORT", v.trim().parse::<u16>()) {
                        out.push(Claim {
                            namespace: ns.clone(),
                            app: app.clone(),
                            listen: Listen::Port(p),
                            origin: env.file(&name),
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// Write one file atomically: a temporary file in the same directory, flushed to disk,
    /// then renamed over the old one. Readers see the old file or the new one, never a mix.
    pub fn write(&self, name: &str, content: &str) -> io::Result<()> {
        fs::create_dir_all(&self.path)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(&temp_prefix(name))
            .tempfile_in(&self.path)?;
        tmp.write_all(content.as_bytes())?;
        tmp.as_file().sync_all()?;
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))?;
        tmp.persist(self.path.join(name)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Make the renames durable.
    pub fn sync(&self) -> io::Result<()> {
        fs::File::open(&self.path)?.sync_all()
    }

    /// Remove one file (a missing file is not an error).
    pub fn remove(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.path.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The path of one unit file.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

/// The name a unit's temporary file begins with while it is written: a dot (systemd skips
/// hidden files) and the unit's own name, so that a clean-up touches its own namespace only.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.unitgen-")
}

/// What is installed for one app of a namespace, read back from the unit files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstalledApp {
    /// The instance numbers the namespace target wants.
    pub instances: Vec<u32>,
    /// Its socket unit, if it listens.
    pub socket: Option<String>,
    /// What the socket listens on.
    pub listen: Vec<String>,
    /// Its scheduled-restart timer, if any.
    pub timer: Option<String>,
    /// Its watcher (`watch`), if any.
    pub watch: Option<String>,
    /// It reloads in place (`ExecReload=`) instead of restarting.
    pub reload_in_place: bool,
}

/// The apps of namespace `ns` as installed: from the target's `Wants=` and the files.
pub fn installed_apps(
    ns: &str,
    owned: &BTreeMap<String, String>,
) -> BTreeMap<String, InstalledApp> {
    let mut apps: BTreeMap<String, InstalledApp> = BTreeMap::new();
    let prefix = format!("{ns}-");
    for name in owned.keys() {
        if let Some(app) = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix("@.service"))
        {
            apps.entry(app.to_string()).or_default();
        }
    }
    if let Some(target) = owned.get(&crate::names::target(ns)) {
        for w in target.lines().filter_map(|l| l.strip_prefix("Wants=")) {
            let w = w.trim();
            let Some(rest) = w.strip_prefix(&prefix) else {
                continue;
            };
            if let Some((app, i)) = rest
                .strip_suffix(".service")
                .and_then(|r| r.rsplit_once('@'))
            {
                if let (Some(a), Ok(i)) = (apps.get_mut(app), i.parse()) {
                    a.instances.push(i);
                }
            }
        }
    }
    for (name, a) in apps.iter_mut() {
        a.reload_in_place = owned
            .get(&crate::names::template(ns, name))
            .is_some_and(|t| t.lines().any(|l| l.starts_with("ExecReload=")));
        let socket = crate::names::socket(ns, name);
        if let Some(text) = owned.get(&socket) {
            a.listen = text
                .lines()
                .filter_map(|l| l.strip_prefix("ListenStream="))
                .map(|v| v.trim().replace("%%", "%"))
                .collect();
            a.socket = Some(socket);
        }
        let timer = crate::names::restart_timer(ns, name);
        if owned.contains_key(&timer) {
            a.timer = Some(timer);
        }
        let watch = crate::names::watch_service(ns, name);
        if owned.contains_key(&watch) {
            a.watch = Some(watch);
        }
    }
    apps
}

/// The directories systemd loads units from, in its order of precedence.
pub fn search_path(user: bool) -> Vec<PathBuf> {
    if user {
        let mut v = vec![default_dir(true)];
        v.extend(
            [
                "/etc/systemd/user",
                "/run/systemd/user",
                "/usr/local/lib/systemd/user",
                "/usr/lib/systemd/user",
            ]
            .map(PathBuf::from),
        );
        v
    } else {
        [
            "/etc/systemd/system",
            "/run/systemd/system",
            "/usr/local/lib/systemd/system",
            "/usr/lib/systemd/system",
            "/lib/systemd/system",
        ]
        .map(PathBuf::from)
        .to_vec()
    }
}

/// Files elsewhere in systemd's search path that have one of `names`: units unitgen must not
/// shadow or take over (unless they are its own, in `ns`), and masks.
pub fn shadows(names: &[String], ours: &Path, user: bool) -> Vec<Shadow> {
    let ours = fs::canonicalize(ours).unwrap_or_else(|_| ours.to_path_buf());
    let mut out = Vec::new();
    for dir in search_path(user) {
        if fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone()) == ours {
            continue;
        }
        for n in names {
            let path = dir.join(n);
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let link = meta
                .file_type()
                .is_symlink()
                .then(|| fs::read_link(&path).unwrap_or_default());
            let namespace = fs::metadata(&path)
                .ok()
                .filter(fs::Metadata::is_file)
                .and_then(|m| read_unit(&path, &m).ok())
                .and_then(|f| f.namespace().map(str::to_string));
            out.push(Shadow {
                name: n.clone(),
                path,
                link,
                namespace,
            });
        }
    }
    out
}

/// The directory of the environment files that go with the units of `unit_dir`: for systemd's
/// own directories `/etc/unitgen/env` (system) and `~/.config/unitgen/env` (user), for any
/// other unit directory its `unitgen-env` subdirectory.
pub fn env_dir(unit_dir: &Path, user: bool) -> PathBuf {
    if unit_dir == default_dir(user) {
        if user {
            default_dir(true)
                .parent()
                .and_then(Path::parent)
                .map_or_else(|| PathBuf::from(".config"), Path::to_path_buf)
                .join("unitgen/env")
        } else {
            PathBuf::from(crate::compile::SYSTEM_ENV_DIR)
        }
    } else {
        unit_dir.join("unitgen-env")
    }
}

/// The default unit directory for the system or the user manager.
pub fn default_dir(user: bool) -> PathBuf {
    if user {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
            .unwrap_or_else(|| PathBuf::from(".config"));
        base.join("systemd/user")
    } else {
        PathBuf::from("/etc/systemd/system")
    }
}

/// The directory of environment files (see [`env_dir`]): one subdirectory per namespace, every
/// file in it unitgen's, readable by its owner only (root, or the user of a user manager), as
/// the variables may be secrets. systemd reads them when an instance starts.
#[derive(Debug, Clone)]
pub struct EnvDir {
    /// Its path.
    pub path: PathBuf,
}

impl EnvDir {
    /// The directory at `path` (it need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        EnvDir { path: path.into() }
    }

    /// The path of one file, `NS/APP.env`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Every file of namespace `ns`, by name (`NS/APP.env`). A missing directory is empty.
    pub fn scan(&self, ns: &str) -> io::Result<BTreeMap<String, InstalledFile>> {
        let mut out = BTreeMap::new();
        let entries = match fs::read_dir(self.path.join(ns)) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".env") || name.starts_with('.') || !entry.file_type()?.is_file() {
                continue;
            }
            let meta = entry.metadata()?;
            out.insert(format!("{ns}/{name}"), read_unit(&entry.path(), &meta)?);
        }
        Ok(out)
    }

    /// Write one file atomically, mode 0600, its directories 0700.
    pub fn write(&self, name: &str, content: &str) -> io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let path = self.path.join(name);
        let dir = path.parent().unwrap_or(&self.path);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let file = path
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
        let mut tmp = tempfile::Builder::new()
            .prefix(&temp_prefix(&file))
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)?;
        tmp.write_all(content.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Remove one file (a missing file is not an error).
    pub fn remove(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.path.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Remove a namespace's directory once it is empty.
    pub fn remove_namespace(&self, ns: &str) -> io::Result<()> {
        match fs::remove_dir(self.path.join(ns)) {
            Err(e)
                if !matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::DirectoryNotEmpty
                ) =>
            {
                Err(e)
            }
            _ => Ok(()),
        }
    }

    /// Make the renames in a namespace's directory durable.
    pub fn sync(&self, ns: &str) -> io::Result<()> {
        match fs::File::open(self.path.join(ns)) {
            Ok(f) => f.sync_all(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Remove the temporary files an interrupted write left in a namespace's directory.
    pub fn clean_temporary(&self, ns: &str) -> io::Result<usize> {
        let entries = match fs::read_dir(self.path.join(ns)) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".env.unitgen-") {
                fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
