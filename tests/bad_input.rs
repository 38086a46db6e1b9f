//! The bad-input corpus: every `tests/bad/*.toml` is refused by `validate` and `plan` with
//! exit status 2 and exactly the error text of the `.err` file beside it, and the unit
//! directory is left byte for byte as it was.
//!
//! Every case runs against a unit directory where the namespace of `tests/bad/installed.toml`
//! (file name without `.toml`: not a case) is already installed, so that conflicts with an
//! installed namespace can be shown; a case named `*.user.toml` is checked with `--user`.
//! Bless new output with `UPDATE_EXPECT=1`.
//!
//! The cases must not depend on the machine: no path outside the checkout that might exist
//! (a missing directory is one under `tests/bad/`), `PATH` fixed, and `user = "root"` where
//! an app needs a user (an app without one runs as the file's owner, which differs between
//! checkouts).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

#[path = "common/expect.rs"]
mod expect_kit;
use expect_kit::{diff, Expect};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests/bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && !p.ends_with("installed.toml"))
        .collect();
    v.sort();
    v
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    for e in walk(dir) {
        let m = std::fs::metadata(&e).unwrap();
        out.insert(
            e.clone(),
            (std::fs::read(&e).unwrap(), m.modified().unwrap()),
        );
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

/// The PATH the cases are checked with (programs named without a '/' are looked up in it,
/// and a message may list it): the same on every machine.
const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

fn unitgen() -> Command {
    let mut c = Command::cargo_bin("unitgen").unwrap();
    c.current_dir(root()).env("NO_COLOR", "1").env("PATH", PATH);
    c
}

#[test]
fn corpus_is_large_enough() {
    assert!(
        cases().len() >= 25,
        "the bad-input corpus has {} files, want at least 25",
        cases().len()
    );
}

#[test]
fn every_bad_file_gets_its_error_and_nothing_changes() {
    let units = tempfile::tempdir().unwrap();
    unitgen()
        .args(["render", "-q", "tests/bad/installed.toml", "--out"])
        .arg(units.path())
        .assert()
        .success();
    // An ops drop-in, which must survive too.
    std::fs::create_dir_all(units.path().join("other-web@.service.d")).unwrap();
    std::fs::write(
        units.path().join("other-web@.service.d/override.conf"),
        "[Service]\nNice=5\n",
    )
    .unwrap();
    let before = snapshot(units.path());
    let mut expect = Expect::new();
    for case in cases() {
        let rel = case.strip_prefix(root()).unwrap();
        let cmd = |verb: &str| {
            let mut cmd = unitgen();
            if rel.to_string_lossy().ends_with(".user.toml") {
                cmd.arg("--user");
            }
            cmd.arg(verb).arg("--unit-dir").arg(units.path()).arg(rel);
            cmd
        };
        check_error(
            &mut expect,
            &rel.display().to_string(),
            &case.with_extension("err"),
            cmd,
        );
        assert_eq!(
            before,
            snapshot(units.path()),
            "{} changed the unit directory",
            rel.display()
        );
    }
    expect.finish();
}

/// `validate` and `plan` both exit 2 with the same error, the one in `expected` and no panic.
fn check_error(
    expect: &mut Expect,
    name: &str,
    expected: &Path,
    mut cmd: impl FnMut(&str) -> Command,
) {
    let mut texts = Vec::new();
    for verb in ["validate", "plan"] {
        let out = cmd(verb).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if out.status.code() != Some(2) {
            expect.fail(format!(
                "{verb} {name}: exit {:?}, want 2\n{stderr}",
                out.status.code()
            ));
        }
        if stderr.contains("panicked") {
            expect.fail(format!("{verb} {name}: panicked\n{stderr}"));
        }
        texts.push(stderr);
    }
    if texts[0] != texts[1] {
        expect.fail(format!(
            "{name}: plan's error differs from validate's:\n{}",
            diff(&texts[0], &texts[1])
        ));
    }
    expect.file(name, expected, &texts[0]);
}

/// Each directory of `tests/bad/multi/` is one case of several files given together (in name
/// order), such as two files with the same namespace; its expected error is `<dir>.err`.
fn multi_cases() -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut v: Vec<(PathBuf, Vec<PathBuf>)> = std::fs::read_dir(root().join("tests/bad/multi"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|dir| {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .map(|p| p.strip_prefix(root()).unwrap().to_path_buf())
                .collect();
            files.sort();
            (dir.with_extension("err"), files)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn several_files_are_checked_together() {
    let units = tempfile::tempdir().unwrap();
    let before = snapshot(units.path());
    let mut expect = Expect::new();
    let cases = multi_cases();
    assert!(!cases.is_empty());
    for (expected_path, files) in cases {
        let name = expected_path.display().to_string();
        let cmd = |verb: &str| {
            let mut cmd = unitgen();
            cmd.arg(verb)
                .arg("--unit-dir")
                .arg(units.path())
                .args(&files);
            cmd
        };
        check_error(&mut expect, &name, &expected_path, cmd);
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if !expected
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("error: "))
            || !expected.contains("--> tests/bad/multi/")
        {
            expect.fail(format!(
                "{name}: the error does not name file:line:col:\n{expected}"
            ));
        }
        assert_eq!(
            before,
            snapshot(units.path()),
            "{name} changed the unit directory"
        );
    }
    expect.finish();
}

/// Every expected error names the file, a line and column, and a key.
#[test]
fn every_expected_error_names_file_line_and_key() {
    for case in cases() {
        let err = std::fs::read_to_string(case.with_extension("err")).unwrap_or_default();
        let rel = case.strip_prefix(root()).unwrap().display().to_string();
        assert!(
            err.contains(&format!("--> {rel}:")),
            "{rel}: the error does not name file:line:col:\n{err}"
        );
        assert!(
            err.lines().next().is_some_and(|l| l.starts_with("error: ")),
            "{rel}: no error line:\n{err}"
        );
    }
}

/// What is not a regular file is named as what it is, and never read: /dev/zero would never
/// end and a FIFO would block. A file over 10 MiB and a file that is not UTF-8 are refused.
#[test]
fn special_files_are_named_and_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = d.join("fifo.toml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let big = d.join("big.toml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(10 * 1024 * 1024 + 1)
        .unwrap();
    let latin1 = d.join("latin1.toml");
    std::fs::write(&latin1, b"namespace = \"caf\xe9\"\n").unwrap();
    let cases: [(&Path, String); 6] = [
        (d, format!("{} is a directory", d.display())),
        (&fifo, format!("{} is a FIFO (named pipe)", fifo.display())),
        (Path::new("/dev/zero"), "/dev/zero is a device".into()),
        (Path::new("/dev/null"), "/dev/null is a device".into()),
        (&big, format!("{} is larger than 10 MiB", big.display())),
        (&latin1, format!("{} is not UTF-8 text", latin1.display())),
    ];
    for (path, want) in cases {
        let out = unitgen()
            .timeout(std::time::Duration::from_secs(20))
            .arg("validate")
            .arg(path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(stderr.starts_with(&format!("error: {want}")), "{stderr}");
    }
}

/// Values that would overflow a deadline are refused by the command line (they panicked).
#[test]
fn out_of_range_options_are_usage_errors() {
    for args in [
        &["apply", "x.toml", "--timeout", "18446744073709551615"][..],
        &["start", "api", "--timeout", "18446744073709551615"],
        &["restart", "api", "--timeout", "0"],
        &["reload", "api", "--settle", "18446744073709551615"],
        &["apply", "x.toml", "--settle", "18446744073709551615"],
    ] {
        let out = unitgen().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("is not in"), "{args:?}: {stderr}");
    }
}

/// A depends_on chain of 100,000 apps closed into a circle is followed to its end without
/// recursion (it overflowed the stack), and the circle is named in a line of reasonable
/// length.
#[test]
fn a_long_depends_on_chain_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let n = 100_000;
    let mut text = String::from(
        "namespace = \"big\"\n[defaults]\nuser = \"root\"\ncommand = \"/usr/bin/sleep infinity\"\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "[apps.a{i}]\ndepends_on = [\"a{}\"]\n",
            (i + 1) % n
        ));
    }
    let circle = dir.path().join("circle.toml");
    std::fs::write(&circle, &text).unwrap();
    let out = unitgen()
        .timeout(std::time::Duration::from_secs(300))
        .args(["validate", "--unit-dir"])
        .arg(dir.path())
        .arg(&circle)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("depends_on goes round in a circle of 100000 apps: a0 -> a1"),
        "{stderr}"
    );
    assert!(stderr.len() < 2000, "{stderr}");
}
