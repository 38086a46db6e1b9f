//! The sandboxing profiles: which directives a service gets for `hardening = ...`.

use std::path::Path;

use crate::config::{App, Hardening, User};

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

/// The app's own writable paths that the profile would hide — under /tmp or /var/tmp
/// (`PrivateTmp=`), or under a home directory with `strict` (`ProtectHome=tmpfs`): bound back
/// into the app's view (`ReadWritePaths=` alone cannot reach through those mounts).
pub fn bind_paths(app: &App, user_manager: bool) -> Vec<&Path> {
    if app.hardening == Hardening::Off || user_manager {
        return Vec::new();
    }
    std::iter::once(app.cwd.as_path())
        .chain(app.read_write_paths.iter().map(|p| p.as_path()))
        .filter(|p| hidden(app, p))
        .collect()
}

/// Likewise for what the app only reads: its program and environment files, unless a bound
/// directory already holds them.
pub fn bind_read_only_paths(app: &App, user_manager: bool) -> Vec<&Path> {
    let bound = bind_paths(app, user_manager);
    if app.hardening == Hardening::Off || user_manager {
        return Vec::new();
    }
    app.exec
        .first()
        .map(Path::new)
        .into_iter()
        .chain(app.env_files.iter().map(|p| p.as_path()))
        .filter(|p| hidden(app, p) && !bound.iter().any(|b| p.starts_with(b)))
        .collect()
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
    let home = std::iter::once(app.cwd.as_path())
        .chain(app.read_write_paths.iter().map(|p| p.as_path()))
        .chain(app.env_files.iter().map(|p| p.as_path()))
        .any(under_home);
    add("ProtectSystem=strict");
    add(
        if profile == Hardening::Strict && !bind_paths(app, user_manager).is_empty() {
            // `yes` would hide the app's own directory (200/CHDIR): an empty /home with only
            // the app's paths bound into it.
            "ProtectHome=tmpfs"
        } else if home && profile != Hardening::Strict {
            "ProtectHome=read-only"
        } else {
            "ProtectHome=yes"
        },
    );
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
