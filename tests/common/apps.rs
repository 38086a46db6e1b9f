//! Real apps from the registries, installed by the test set-up under the cargo target dir and
//! reused while their package files are unchanged: Express from npm (tests/apps/express-hello),
//! gunicorn and uvicorn from PyPI. Shared by test binaries (`#[path]` module).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The folder holding Cargo.toml.
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where installed apps go: the cargo target dir (visible inside the test sandboxes).
fn base() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("apps")
}

static INSTALL: Mutex<()> = Mutex::new(());

/// `tests/apps/NAME` with its npm dependencies installed (`npm ci`), as a folder under the
/// target dir.
pub fn npm_app(name: &str) -> PathBuf {
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let src = repo().join("tests/apps").join(name);
    let dst = base().join(name);
    std::fs::create_dir_all(&dst).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let same = files
        .iter()
        .all(|f| std::fs::read(f).ok() == std::fs::read(dst.join(f.file_name().unwrap())).ok())
        && dst.join("node_modules/.package-lock.json").exists();
    if !same {
        for f in &files {
            std::fs::copy(f, dst.join(f.file_name().unwrap())).unwrap();
        }
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dst)
            .env("npm_config_update_notifier", "false")
            .env_remove("NODE_OPTIONS")
            .output()
            .expect("npm is needed by the tests (Debian package npm)");
        assert!(
            out.status.success(),
            "npm ci in {}: {}{}",
            dst.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dst
}

/// Wheels of `packages` (pinned, `name==version`) downloaded from PyPI once, into a folder
/// under the target dir, for `pip install --no-index --find-links` inside a sandbox.
pub fn python_wheels(packages: &[&str]) -> PathBuf {
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dst = base().join("wheels");
    let stamp = dst.join(format!(
        "{}.done",
        packages.join("+").replace(['=', '/'], "_")
    ));
    if !stamp.exists() {
        std::fs::create_dir_all(&dst).unwrap();
        let out = Command::new("/usr/bin/python3")
            .args(["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "-d"])
            .arg(&dst)
            .args(packages)
            .output()
            .expect("python3 with pip is needed by the tests (Debian packages python3-pip, python3-venv)");
        assert!(
            out.status.success(),
            "pip download {packages:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&stamp, "").unwrap();
    }
    dst
}

/// The shell command that makes a virtual environment at `venv` with `packages` from the
/// wheels folder (to run inside a sandbox, where the venv's paths are the app's).
pub fn venv_command(venv: &str, wheels: &Path, packages: &[&str]) -> String {
    format!(
        "test -x {venv}/bin/python || (/usr/bin/python3 -m venv {venv} && {venv}/bin/pip install --quiet --disable-pip-version-check --no-index --find-links {} {})",
        wheels.display(),
        packages.join(" ")
    )
}
