//! The Debian package, installed with dpkg inside the sandbox and used through the installed
//! binary only: its man pages, its version, its example brought online, its bash completion;
//! then removed, which must leave the example running and every file of the package gone.
//!
//! The .deb is built by `packaging/build-deb` (outside the sandbox; the target folder is bound
//! in). The first build of a checkout takes minutes (a release build, and cargo-deb installed
//! once into ~/.cache); later runs take seconds, since cargo rebuilds only what changed.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::harness::{describe, project_root, run_with_timeout, Sandbox, Test};
use crate::tests;

pub fn tests() -> Vec<Test> {
    tests![deb_installs_serves_the_example_and_removes_cleanly]
}

/// The example's namespace, port and instance unit (see examples/hello.toml).
const HELLO: &str = "/usr/share/doc/unitgen/examples/hello.toml";
const HELLO_PORT: u16 = 8000;
const HELLO_UNIT: &str = "hello-web@1.service";

/// How long dpkg may take (it runs man-db's trigger, which indexes every man page).
const DPKG_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs packaging/build-deb (niced: the other tests share the two cores meanwhile) and returns
/// the path of the .deb it printed.
fn build_deb() -> PathBuf {
    let mut cmd = Command::new("nice");
    cmd.args(["-n", "10"])
        .arg(project_root().join("packaging/build-deb"))
        .current_dir(project_root());
    let out = run_with_timeout(cmd, None, Duration::from_secs(45 * 60));
    assert!(
        out.status.success(),
        "packaging/build-deb failed\n{}",
        describe(&out)
    );
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        path.is_file() && path.extension().is_some_and(|e| e == "deb"),
        "packaging/build-deb printed {path:?}, not the path of a .deb\n{}",
        describe(&out)
    );
    // The sandbox sees the project root (and so target/) at the same path.
    assert!(
        path.starts_with(project_root()),
        "{} is outside the project root: the sandbox cannot see it",
        path.display()
    );
    path
}

fn sh_ok_long(sb: &Sandbox, script: &str) -> String {
    let out = sb.exec_full(&["bash", "-c", script], None, DPKG_TIMEOUT);
    assert!(
        out.status.success(),
        "in the sandbox, script failed:\n{script}\n{}",
        describe(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn words(s: &str) -> BTreeSet<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn deb_installs_serves_the_example_and_removes_cleanly(sb: &Sandbox) {
    let deb = build_deb();
    let deb = deb.to_str().expect("a UTF-8 path");

    // Start from a sandbox without the package (a kept sandbox may have it from a failed run).
    sb.sh("dpkg --purge unitgen >/dev/null 2>&1; true");

    // What the package will install, and which of those paths exist before it does
    // (shared folders such as /usr/share/man/man1 stay after removal; its own files must not).
    let contents = sb.ok(&[
        "sh",
        "-c",
        "dpkg-deb --fsys-tarfile \"$1\" | tar -t | sed 's|^\\./|/|; s|/$||' | grep -v '^/\\?$'",
        "list",
        deb,
    ]);
    let existed_before = existing(sb, &contents);
    let existed_before = words(&existed_before);

    // Install. (--path-include: so that an image whose dpkg.cfg.d drops man pages and docs, as
    // minimized Docker images do, still installs what this test looks for.)
    let installed = sh_ok_long(
        sb,
        &format!(
            "dpkg --path-include='/usr/share/man/*' --path-include='/usr/share/doc/unitgen/*' -i '{deb}' >&2 \
             && dpkg-query -W -f='${{Status}} ${{Version}}\\n' unitgen"
        ),
    );
    let (status, deb_version) = installed
        .trim()
        .rsplit_once(' ')
        .expect("status and version");
    assert_eq!(status, "install ok installed", "{installed}");
    let listed = words(&sb.ok(&["dpkg", "-L", "unitgen"]));
    for must in [
        "/usr/bin/unitgen",
        "/usr/share/man/man1/unitgen.1.gz",
        "/usr/share/man/man1/unitgen-apply.1.gz",
        "/usr/share/man/man5/unitgen.toml.5.gz",
        "/usr/share/bash-completion/completions/unitgen",
        "/usr/share/zsh/vendor-completions/_unitgen",
        "/usr/share/fish/vendor_completions.d/unitgen.fish",
        "/usr/share/doc/unitgen/copyright",
        "/usr/share/doc/unitgen/changelog.Debian.gz",
        HELLO,
    ] {
        assert!(
            listed.contains(must),
            "dpkg -L unitgen lacks {must}: {listed:?}"
        );
    }

    // The man pages are found where man looks.
    let pages = sb.ok(&["man", "-w", "unitgen", "unitgen.toml", "unitgen-apply"]);
    let pages: Vec<&str> = pages.lines().collect();
    assert_eq!(
        pages,
        [
            "/usr/share/man/man1/unitgen.1.gz",
            "/usr/share/man/man5/unitgen.toml.5.gz",
            "/usr/share/man/man1/unitgen-apply.1.gz"
        ],
        "man -w unitgen unitgen.toml unitgen-apply"
    );

    // The installed binary is the packaged version (0.1.0 for package version 0.1.0-1).
    let version = sb.ok(&["/usr/bin/unitgen", "--version"]);
    let upstream = deb_version.rsplit_once('-').map_or(deb_version, |(u, _)| u);
    assert_eq!(
        version.trim(),
        format!("unitgen {upstream}"),
        "unitgen --version"
    );

    // The example comes online, through the installed binary.
    let applied = sh_ok_long(sb, &format!("/usr/bin/unitgen apply {HELLO}"));
    let body = sb.wait_http(HELLO_PORT, Duration::from_secs(30));
    assert_eq!(body, "hello from unitgen\n", "apply said:\n{applied}");
    assert_eq!(sb.unit_state(HELLO_UNIT), "active");

    // Bash completion, from the installed script alone (no bash-completion package needed).
    let completion = sb.ok(&[
        "bash",
        "-c",
        "source /usr/share/bash-completion/completions/unitgen || exit 1
         complete -p unitgen >&2 || exit 1
         COMP_WORDS=(unitgen st); COMP_CWORD=1; COMP_LINE='unitgen st'; COMP_POINT=${#COMP_LINE}
         _unitgen unitgen st unitgen
         echo \"${COMPREPLY[@]}\"",
    ]);
    assert_eq!(
        words(&completion),
        words("start status stop"),
        "bash completion of `unitgen st`"
    );

    // Removal: says the units stay, stops nothing, leaves none of the package's files.
    let removed = sh_ok_long(sb, "dpkg -r unitgen 2>&1");
    assert!(
        removed.contains("units it generated stay installed") && removed.contains("hello"),
        "dpkg -r unitgen should say that the generated units (namespace hello) stay:\n{removed}"
    );
    assert_eq!(
        sb.unit_state(HELLO_UNIT),
        "active",
        "removing the package stopped the app"
    );
    assert_eq!(
        sb.wait_http(HELLO_PORT, Duration::from_secs(10)),
        "hello from unitgen\n",
        "the app no longer answers after the package was removed"
    );
    assert!(
        sb.exec(&["test", "-f", "/etc/systemd/system/hello-web@.service"])
            .status
            .success(),
        "removing the package deleted a generated unit"
    );
    let left = existing(sb, &contents);
    let left: BTreeSet<String> = words(&left).difference(&existed_before).cloned().collect();
    assert!(
        left.is_empty(),
        "dpkg -r unitgen left files or folders of the package behind: {left:?}"
    );
    let after = sb.exec(&["dpkg", "-L", "unitgen"]);
    let after_listed: BTreeSet<String> = words(&String::from_utf8_lossy(&after.stdout))
        .into_iter()
        .filter(|p| p.starts_with('/'))
        .collect();
    assert!(
        after_listed.is_empty(),
        "dpkg -L unitgen still lists files after removal: {after_listed:?}"
    );
    // The example's namespace is left running: the sandbox is powered off at the end, and a
    // `unitgen delete` here would be one more daemon-reload under the tests running meanwhile
    // (a reload resets systemd's start-limit counters, which the crash-loop test counts on).
    sb.sh("dpkg --purge unitgen >/dev/null 2>&1; true");
}

/// The paths of `paths` (one per line) that exist in the sandbox.
fn existing(sb: &Sandbox, paths: &str) -> String {
    let script = r#"for p in $1; do [ -e "$p" ] && echo "$p"; done; true"#;
    sb.ok(&["sh", "-c", script, "exists", paths])
}
