//! The golden corpus: every `tests/golden/*.toml` compiles to the unit files snapshotted in
//! `tests/snapshots/`, and every one of those passes `systemd-analyze verify` with no output.
//!
//! Files are compiled as if they lived in `/srv/app/` on a machine where every directory
//! exists and programs live in `/usr/bin` (`FixedHost`), so the output does not depend on the
//! machine. A file whose name ends in `.user.toml` is compiled for the user manager.
//! Bless new output with `INSTA_UPDATE=always cargo test --test golden` and review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use unitgen::adapters::host::FixedHost;
use unitgen::core::compile::{compile, env_files, Target, UnitFile};
use unitgen::core::render::Renderer;

#[path = "common/verify.rs"]
mod verify;

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden"))
            .expect("tests/golden")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
    v.sort();
    v
}

fn compile_case(path: &Path) -> Vec<UnitFile> {
    compile_for(path, |t| t)
}

/// A case compiled with its target changed by `change`.
fn compile_for(path: &Path, change: impl Fn(Target) -> Target) -> Vec<UnitFile> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let fake = Path::new("/srv/app").join(&name);
    let ns = unitgen::core::config::load(&fake, &text, &FixedHost::default())
        .unwrap_or_else(|e| panic!("{} does not validate:\n{e}", path.display()));
    compile(&ns, &change(target(&name)), &Renderer::new())
}

fn target(name: &str) -> Target {
    if name.ends_with(".user.toml") {
        Target::user(
            PathBuf::from("/home/u/.config/unitgen/env"),
            PathBuf::from("/home/u/.local/share/unitgen/node/preload.cjs"),
        )
    } else {
        Target::system()
    }
}

/// The environment files of a case.
fn env_case(path: &Path) -> Vec<UnitFile> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let ns = unitgen::core::config::load(
        &Path::new("/srv/app").join(&name),
        &text,
        &FixedHost::default(),
    )
    .unwrap();
    env_files(&ns, &target(&name))
}

fn write(units: &[UnitFile]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for u in units {
        std::fs::write(dir.path().join(&u.name), &u.content).unwrap();
    }
    dir
}

#[test]
fn corpus_is_large_enough() {
    assert!(
        cases().len() >= 15,
        "the golden corpus has {} files, want at least 15",
        cases().len()
    );
}

/// Every case is compared, and every mismatch reported (not only the first).
#[test]
fn golden_units() {
    insta::glob!("golden", "*.toml", |case| {
        let units = compile_case(case);
        let text: String = units
            .iter()
            .map(|u| format!("=== {} ===\n{}\n", u.name, u.content))
            .chain(
                env_case(case)
                    .iter()
                    .map(|f| format!("=== env: {} ===\n{}\n", f.name, f.content)),
            )
            .collect();
        let name = case.file_stem().unwrap().to_string_lossy().to_string();
        insta::with_settings!({ snapshot_suffix => name, prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!("units", text);
        });
    });
}

/// `systemd-analyze verify` must say nothing at all about any golden output.
#[test]
fn golden_units_pass_systemd_analyze_verify() {
    for case in cases() {
        // The watcher runs unitgen, which verify wants to find: this build of it.
        let units = compile_for(&case, |t| Target {
            exe: PathBuf::from(env!("CARGO_BIN_EXE_unitgen")),
            ..t
        });
        let dir = write(&units);
        let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
        // Units for the user manager are verified as user units.
        let user = case.to_string_lossy().ends_with(".user.toml");
        let said = verify::verify(dir.path(), &names, user);
        assert!(
            said.is_empty(),
            "{}: systemd-analyze verify said:\n{said}",
            case.display()
        );
    }
}

/// The default profile of the golden Node API scores at or below 2.5 in
/// `systemd-analyze security` (a plain PM2-like unit scores 9.6).
#[test]
fn default_profile_exposure() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/node-api.toml");
    let units = compile_case(&case);
    let dir = write(&units);
    let template = units
        .iter()
        .find(|u| u.name.ends_with("@.service"))
        .unwrap();
    let instance = template.name.replace("@.service", "@1.service");
    let score = |dir: &Path, unit: &str| -> f64 {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager", unit])
            .current_dir(dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .unwrap_or_else(|| panic!("no score in:\n{text}"));
        line.split(':')
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let ours = score(dir.path(), &instance);
    // The same app as a plain unit, as PM2 users have it: what the profile buys.
    let plain = tempfile::tempdir().unwrap();
    std::fs::write(
        plain.path().join("plain@.service"),
        "[Service]\nExecStart=/usr/bin/node server.js\n",
    )
    .unwrap();
    let before = score(plain.path(), "plain@1.service");
    eprintln!(
        "systemd-analyze security exposure: unitgen default profile {ours}, plain unit {before}"
    );
    assert!(ours <= 2.5, "exposure {ours} is above 2.5");
}
