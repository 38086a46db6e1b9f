//! The sandboxing profiles: which directives a service gets for `hardening = ...`.

use std::path::Path;

use crate::core::config::{App, Hardening, User};

/// Is the path somewhere `ProtectHome=yes` would hide?
fn under_home(p: &Path) -> bool {
    ["/home", "/root", "/run/user"]
        .iter()
        .any(|h| p.starts_with(h))
}

/// Is the path somewhere `PrivateTmp=yes` would hide?
fn under_tmp(p: &Path) -> bool {
    ["/tmp", "/var/tmp"].iter().any(|t| p.starts_with(t))
}

/// Would the profile hide this path from the app?
fn hidden(app: &App, p: &Path) -> bool {
    under_tmp(p) || (app.hardening == Hardening::Strict && under_home(p))
}

/// The path to bind for one the app needs: the path as written when the profile hides it,
/// else where its symlinks lead when that is hidden.
fn to_bind<'a>(app: &App, written: &'a Path, real: &'a Path) -> Option<&'a Path> {
    if hidden(app, written) {
        Some(written)
    } else {
        hidden(app, real).then_some(real)
    }
}

/// The app's own writable paths that the profile would hide — under /tmp or /var/tmp
/// (`PrivateTmp=`), or under a home directory with `strict` (`ProtectHome=tmpfs`): bound back
/// into the app's view (`ReadWritePaths=` alone cannot reach through those mounts).
pub fn bind_paths(app: &App, user_manager: bool) -> Vec<&Path> {
    if app.hardening == Hardening::Off || user_manager {
        return Vec::new();
    }
    std::iter::once(to_bind(app, &app.cwd, &app.real_cwd))
        .flatten()
        .chain(
            app.read_write_paths
                .iter()
                .map(|p| p.as_path())
                .filter(|p| hidden(app, p)),
        )
        .collect()
}

/// Is `d` a home directory itself (`/root`, `/home/NAME`, `/run/user/UID`)?
fn home_dir(d: &Path) -> bool {
    d == Path::new("/root")
        || d.parent()
            .is_some_and(|p| p == Path::new("/home") || p == Path::new("/run/user"))
}

/// What to bind for a program: the whole installation when it lives in a `bin` directory
/// (`~/.nvm/versions/node/v20/bin/npm` needs `../lib/node_modules` and the `node` beside it),
/// else the file itself.
fn install_root(p: &Path) -> &Path {
    let prefix = p
        .parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "bin"))
        .and_then(Path::parent);
    match prefix {
        Some(root) if root != Path::new("/") && !home_dir(root) => root,
        _ => p,
    }
}

/// Likewise for what the app only reads and executes: its program and the program's
/// interpreter, as written and where their symlinks lead, unless a bound directory already
/// holds them. (Environment files are read by systemd before the sandbox is set up.)
pub fn bind_read_only_paths(app: &App, user_manager: bool) -> Vec<&Path> {
    let bound = bind_paths(app, user_manager);
    if app.hardening == Hardening::Off || user_manager {
        return Vec::new();
    }
    let mut out: Vec<&Path> = Vec::new();
    for p in &app.programs {
        let root = install_root(p);
        if !hidden(app, root) || bound.iter().chain(&out).any(|b| root.starts_with(b)) {
            continue;
        }
        out.retain(|o| !o.starts_with(root));
        out.push(root);
    }
    out
}

/// Does the app need anything under a home directory (so that `ProtectHome=yes` would break
/// it)?
fn needs_home(app: &App) -> bool {
    [app.cwd.as_path(), app.real_cwd.as_path()]
        .into_iter()
        .chain(app.read_write_paths.iter().map(|p| p.as_path()))
        .chain(app.programs.iter().map(|p| p.as_path()))
        .any(under_home)
}

/// The directives of the app's profile, as `Key=value` lines, for the system manager.
///
/// `default` is what a typical Node or Python web server and worker tolerates: no new
/// privileges, a read-only system with `cwd` and `read_write_paths` writable, private /tmp and
/// devices, kernel and cgroup settings out of reach, no capabilities, the `@system-service`
/// system calls. It leaves out `MemoryDenyWriteExecute=` (V8's and other JITs need W+X pages)
/// and `ProcSubset=pid` (Node's `os.cpus()` reads /proc/cpuinfo). `strict` adds both, hides
/// the home directories entirely and narrows address families and system calls further.
pub fn directives(app: &App, user_manager: bool) -> Vec<String> {
    let profile = app.hardening;
    if profile == Hardening::Off {
        return Vec::new();
    }
    let mut d: Vec<String> = Vec::new();
    let mut add = |s: &str| d.push(s.to_string());
    add("NoNewPrivileges=yes");
    add("LockPersonality=yes");
    add("RestrictRealtime=yes");
    add("RestrictSUIDSGID=yes");
    add("SystemCallArchitectures=native");
    add("SystemCallFilter=@system-service");
    add("SystemCallErrorNumber=EPERM");
    if profile == Hardening::Strict {
        add("SystemCallFilter=~@privileged @resources");
        add("MemoryDenyWriteExecute=yes");
    }
    add("UMask=0027");
    if user_manager {
        // A user manager cannot set up mount namespaces or drop capabilities it lacks.
        return d;
    }
    let home = needs_home(app);
    let binds = !bind_paths(app, user_manager).is_empty()
        || !bind_read_only_paths(app, user_manager).is_empty();
    add("ProtectSystem=strict");
    add(if profile == Hardening::Strict && binds {
        // `yes` would hide the app's own files (200/CHDIR, 203/EXEC): an empty /home
        // with only the app's paths bound into it.
        "ProtectHome=tmpfs"
    } else if home && profile != Hardening::Strict {
        "ProtectHome=read-only"
    } else {
        "ProtectHome=yes"
    });
    add("PrivateTmp=yes");
    add("PrivateDevices=yes");
    add("ProtectKernelTunables=yes");
    add("ProtectKernelModules=yes");
    add("ProtectKernelLogs=yes");
    add("ProtectControlGroups=yes");
    add("ProtectClock=yes");
    add("ProtectHostname=yes");
    add("ProtectProc=invisible");
    if profile == Hardening::Strict {
        add("ProcSubset=pid");
        add("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6");
        add("PrivateIPC=yes");
    } else {
        // AF_NETLINK: Node's os.networkInterfaces() and many resolvers read it.
        add("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK");
    }
    add("RestrictNamespaces=yes");
    add("CapabilityBoundingSet=");
    add("AmbientCapabilities=");
    if !matches!(app.user, Some(User::Dynamic)) {
        add("RemoveIPC=yes");
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::host::FixedHost;
    use std::path::PathBuf;

    fn app(profile: &str, command: &str, cwd: &str) -> App {
        let bin = Path::new("/home/deploy/.nvm/versions/node/v20.11.1/bin");
        let host = FixedHost {
            programs: vec![
                bin.join("npm"),
                bin.join("node"),
                PathBuf::from("/tmp/ci/target/debug/server"),
            ],
            ..Default::default()
        };
        let text = format!(
            "namespace = \"t\"\n[apps.web]\ncwd = \"{cwd}\"\ncommand = \"{command}\"\nhardening = \"{profile}\"\n"
        );
        let mut ns = crate::core::config::load(Path::new("/srv/t.toml"), &text, &host)
            .unwrap_or_else(|e| panic!("{e}"));
        ns.apps.remove(0)
    }

    const NPM: &str = "/home/deploy/.nvm/versions/node/v20.11.1/bin/npm start";

    #[test]
    fn a_node_under_nvm_is_read_only_under_default_and_bound_under_strict() {
        let a = app("default", NPM, "/srv/web");
        assert!(directives(&a, false).contains(&"ProtectHome=read-only".to_string()));
        assert!(bind_read_only_paths(&a, false).is_empty());

        let a = app("strict", NPM, "/srv/web");
        assert!(directives(&a, false).contains(&"ProtectHome=tmpfs".to_string()));
        assert_eq!(
            bind_read_only_paths(&a, false),
            vec![Path::new("/home/deploy/.nvm/versions/node/v20.11.1")]
        );
    }

    #[test]
    fn a_program_under_tmp_is_bound_unless_cwd_holds_it() {
        let a = app("default", "/tmp/ci/target/debug/server", "/srv/web");
        assert_eq!(
            bind_read_only_paths(&a, false),
            vec![Path::new("/tmp/ci/target/debug/server")]
        );
        let a = app("default", "/tmp/ci/target/debug/server", "/tmp/ci");
        assert_eq!(bind_paths(&a, false), vec![Path::new("/tmp/ci")]);
        assert!(bind_read_only_paths(&a, false).is_empty());
        assert!(bind_read_only_paths(&a, true).is_empty());
    }

    #[test]
    fn an_installation_is_the_parent_of_its_bin_but_never_a_home_or_root() {
        let p = |s: &str| install_root(Path::new(s)).to_path_buf();
        assert_eq!(p("/opt/node/bin/node"), PathBuf::from("/opt/node"));
        assert_eq!(p("/home/u/bin/tool"), PathBuf::from("/home/u/bin/tool"));
        assert_eq!(p("/bin/sh"), PathBuf::from("/bin/sh"));
        assert_eq!(p("/tmp/x/server"), PathBuf::from("/tmp/x/server"));
    }
}
