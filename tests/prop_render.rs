//! Property: any string a user can put in an ecosystem file as an env value, a command
//! argument, a description or a path (cwd, read_write_paths, env_file) is either refused by
//! validation for one of the documented reasons (a NUL byte anywhere; a control character, a
//! line break or leading/trailing white space in a path or a description), or it reaches the
//! unit file so that
//!
//! - `systemd-analyze verify` has nothing at all to say about it,
//! - every directive is exactly one line, and no value starts a line of its own (the unit has
//!   the same directives, in the same order, as the same app written with plain values),
//! - systemd reads back exactly the input: `unquote_words` on `ExecStart=` and
//!   `ReadWritePaths=`, systemd's own rest-of-line rule for `WorkingDirectory=`,
//!   `EnvironmentFile=` and `Description=` (`EnvironmentFile=` then being a glob(3) pattern
//!   that must match its one file only), and its environment-file rules for the app's
//!   environment file (`parse_env_file`; the integration tests read the same values back from
//!   the running process).
//!
//! `systemd-analyze verify` costs ~50 ms a call whatever the number of files, so the accepted
//! cases are collected and verified in batches after the run (each case has its own namespace,
//! so that their unit names do not clash).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use unitgen::adapters::host::FixedHost;
use unitgen::core::compile::{compile, Target, UnitFile};
use unitgen::core::quote::unquote_words;
use unitgen::core::render::Renderer;

#[path = "common/verify.rs"]
mod verify_kit;
use verify_kit::verify;

/// How many generated files to check.
const CASES: u32 = 128;
/// How many cases one `systemd-analyze verify` call checks.
const BATCH: usize = 32;

/// One generated app: every user-supplied string that ends up in its service unit.
#[derive(Debug, Clone)]
struct Case {
    description: Option<String>,
    args: Vec<String>,
    env: Vec<String>,
    cwd: String,
    read_write_paths: Vec<String>,
    env_files: Vec<String>,
}

/// Pieces that matter to systemd or to TOML, glued together with ordinary text.
const NASTY: &[&str] = &[
    "\"",
    "\\",
    "\\\\",
    "'",
    "%",
    "%%",
    "%i",
    "%n",
    "$",
    "$$",
    "${PATH}",
    "$HOME",
    " ",
    "  ",
    ";",
    "#",
    "=",
    "[Service]",
    "*",
    "?",
    "/",
    "/",
    ".",
    "..",
    "./",
    "../",
    "\\n",
    "\\x41",
    "\\u00e9",
    "é",
    "ß",
    "日本語",
    "😀",
    "\u{a0}",
    "\u{2028}",
    "\u{feff}",
    "\u{fffd}",
    "\u{3000}",
    "\u{10fffd}",
    "ExecStartPre=/bin/touch /tmp/pwned",
    "x\nUser=root",
];
/// What a path or a description may not hold, and an env value or an argument may.
const CONTROL: &[&str] = &[
    "\u{0}", "\n", "\r", "\t", "\u{1}", "\u{1b}", "\u{7f}", "\u{85}", "\r\n",
];

/// Unicode noncharacters (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF): systemd refuses a unit that
/// holds one ("not UTF-8 clean") and D-Bus cannot carry them. Validation does not refuse them
/// yet (see `noncharacters_are_refused`), so they are left out of the generated text.
fn is_noncharacter(c: char) -> bool {
    let u = c as u32;
    (0xfdd0..=0xfdef).contains(&u) || (u & 0xfffe) == 0xfffe
}

/// Text made of `NASTY` pieces, short words and arbitrary characters. Control characters and
/// NUL bytes (and, for a path, white space at either end) are kept one time in `odds`.
fn text(odds: u32, path: bool) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        8 => prop::sample::select(NASTY).prop_map(String::from),
        6 => "[a-z0-9_.-]{1,5}",
        4 => any::<char>()
            .prop_map(|c| if is_noncharacter(c) { '\u{fffd}' } else { c })
            .prop_map(String::from),
        1 => prop::sample::select(CONTROL).prop_map(String::from),
    ];
    // Most control pieces come from the weighted `CONTROL` arm; `any::<char>()` adds a few.
    let pieces = prop::collection::vec(piece, 0..7);
    (pieces, 0..odds).prop_map(move |(p, roll)| {
        let s = p.concat();
        if roll == 0 {
            return s;
        }
        // Most of the time, leave out what validation refuses, so that most cases are
        // accepted and reach systemd.
        let s: String = s.chars().filter(|c| !c.is_control()).collect();
        if path {
            s.trim().to_string()
        } else {
            s
        }
    })
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::option::of(text(6, true)),
        prop::collection::vec(text(4, false), 0..5),
        prop::collection::vec(text(4, false), 0..5),
        text(8, true),
        prop::collection::vec(text(8, true), 0..3),
        prop::collection::vec(text(8, true), 0..3),
    )
        .prop_map(
            |(description, args, env, cwd, read_write_paths, env_files)| Case {
                description,
                args,
                env,
                cwd,
                read_write_paths,
                env_files,
            },
        )
}

/// A TOML string literal that reads back as `s`.
fn lit(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    let v: Vec<String> = items.iter().map(|s| lit(s)).collect();
    format!("[{}]", v.join(", "))
}

fn env_name(i: usize) -> String {
    format!("V{i}")
}

/// The ecosystem file for a case.
fn toml_text(ns: &str, c: &Case) -> String {
    let mut t = format!("namespace = {}\n\n[apps.app]\n", lit(ns));
    if let Some(d) = &c.description {
        t += &format!("description = {}\n", lit(d));
    }
    let mut command = vec!["sleep".to_string()];
    command.extend(c.args.iter().cloned());
    t += &format!("command = {}\n", list(&command));
    t += &format!("cwd = {}\n", lit(&c.cwd));
    t += &format!("read_write_paths = {}\n", list(&c.read_write_paths));
    t += &format!("env_file = {}\n", list(&c.env_files));
    t += "\n[apps.app.env]\n";
    for (i, v) in c.env.iter().enumerate() {
        t += &format!("{} = {}\n", env_name(i), lit(v));
    }
    t
}

/// The same shape with plain values: the directives every case must have, in this order.
fn plain(c: &Case) -> Case {
    let x = |v: &Vec<String>| v.iter().enumerate().map(|(i, _)| format!("x{i}")).collect();
    Case {
        description: c.description.as_ref().map(|_| "plain".to_string()),
        args: x(&c.args),
        env: x(&c.env),
        cwd: "plain".into(),
        read_write_paths: x(&c.read_write_paths),
        env_files: x(&c.env_files),
    }
}

/// Why validation may refuse this case (the documented unwritable values), if it may.
fn refusable(c: &Case) -> Option<String> {
    let line_text = |s: &str| s.contains('\0') || s.chars().any(char::is_control) || s != s.trim();
    if let Some(s) = c.env.iter().chain(&c.args).find(|s| s.contains('\0')) {
        return Some(format!("NUL byte in {s:?}"));
    }
    let paths = std::iter::once(&c.cwd)
        .chain(&c.read_write_paths)
        .chain(&c.env_files)
        .chain(&c.description);
    for p in paths {
        if line_text(p) {
            return Some(format!("unwritable path or description {p:?}"));
        }
    }
    None
}

/// A path from the file made absolute against `base` and normalized, as the contract says:
/// worked out on the text, `/`-separated words, apart from how unitgen does it.
fn absolute(base: &Path, s: &str) -> PathBuf {
    let text = if s.starts_with('/') {
        s.to_string()
    } else {
        format!("{}/{s}", base.display())
    };
    let mut words: Vec<&str> = Vec::new();
    for w in text.split('/') {
        match w {
            "" | "." => {}
            ".." => {
                words.pop();
            }
            w => words.push(w),
        }
    }
    PathBuf::from(format!("/{}", words.join("/")))
}

/// The one file a glob(3) pattern matches, when it is a literal (every `*`, `?`, `[` and
/// `\\` escaped by a backslash); a pattern with a bare wildcard is returned with a `<glob>`
/// mark so that the comparison fails.
fn glob_literal(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '*' | '?' | '[' => return format!("<glob>{pattern}"),
            c => out.push(c),
        }
    }
    out
}

/// Paths whose normalized form ends in white space: the check of the text as written misses
/// them (see `path_ending_in_space_after_normalizing`), so they are left out for now.
fn known_bug(c: &Case) -> bool {
    let cwd = absolute(Path::new("/srv/app"), &c.cwd);
    std::iter::once(cwd.clone())
        .chain(c.env_files.iter().map(|p| absolute(&cwd, p)))
        .any(|p| {
            let s = p.to_string_lossy();
            s != s.trim_end()
        })
}

/// The app's variables as systemd reads its environment file.
fn env_of(ns: &str, c: &Case) -> Result<BTreeMap<String, String>, String> {
    let ns = namespace(ns, c)?;
    let files = unitgen::core::compile::env_files(&ns, &Target::system());
    Ok(unitgen::core::quote::parse_env_file(&files[0].content)
        .into_iter()
        .collect())
}

fn load(ns: &str, c: &Case) -> Result<Vec<UnitFile>, String> {
    Ok(compile(
        &namespace(ns, c)?,
        &Target::system(),
        &Renderer::new(),
    ))
}

/// The case's file, read and checked as unitgen does.
fn namespace(ns: &str, c: &Case) -> Result<unitgen::core::config::Namespace, String> {
    let text = toml_text(ns, c);
    unitgen::core::config::load(
        Path::new("/srv/app/prop.toml"),
        &text,
        &FixedHost::default(),
    )
    .map_err(|e| e.to_string())
}

/// The lines of a unit file as systemd's parser sees them: comment lines dropped, and a line
/// that ends in an odd number of backslashes joined with the next one (the backslash becomes
/// a space), as `config_parse()` in systemd's conf-parser.c does.
fn logical_lines(unit: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for l in unit.lines() {
        if l.trim_start().starts_with(['#', ';']) {
            continue;
        }
        let mut line = pending.take().unwrap_or_default() + l;
        if (line.len() - line.trim_end_matches('\\').len()) % 2 == 1 {
            line.pop();
            line.push(' ');
            pending = Some(line);
        } else {
            out.push(line);
        }
    }
    out.extend(pending);
    out
}

/// `Key` of every `Key=value` line, section headers as they are, comments and blanks left out.
fn directives(units: &[UnitFile]) -> Vec<String> {
    units
        .iter()
        .flat_map(|u| {
            std::iter::once(format!("=== {}", u.name)).chain(
                logical_lines(&u.content)
                    .into_iter()
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        if l.starts_with('[') {
                            l
                        } else {
                            l.split('=').next().unwrap_or_default().to_string()
                        }
                    }),
            )
        })
        .collect()
}

/// The values of every `key=` line of a unit, as systemd's parser splits the file.
fn values(unit: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}=");
    logical_lines(unit)
        .iter()
        .filter_map(|l| l.strip_prefix(prefix.as_str()).map(str::to_string))
        .collect()
}

/// A rest-of-line value as systemd reads it: surrounding white space stripped, `%%` is `%`.
fn rest_of_line(v: &str) -> String {
    v.trim_matches([' ', '\t', '\n', '\r']).replace("%%", "%")
}

/// The checks that need no systemd: one line per directive, exact read-back.
fn check_text(ns: &str, c: &Case, units: &[UnitFile]) -> Result<(), TestCaseError> {
    let shape = load(ns, &plain(c))
        .map_err(|e| TestCaseError::fail(format!("the plain twin does not validate:\n{e}")))?;
    prop_assert_eq!(directives(units), directives(&shape));

    let service = &units
        .iter()
        .find(|u| u.name == format!("{ns}-app@.service"))
        .expect("the service unit")
        .content;

    let exec = values(service, "ExecStart");
    prop_assert_eq!(exec.len(), 1);
    let mut want = vec!["/usr/bin/sleep".to_string()];
    want.extend(c.args.iter().cloned());
    // The program may run through a wrapper (systemd-cat): it and its arguments come last.
    let words = unquote_words(&exec[0], true).unwrap_or_default();
    prop_assert_eq!(&words[words.len().saturating_sub(want.len())..], &want[..]);

    prop_assert!(values(service, "Environment").is_empty());
    let env = env_of(ns, c).map_err(TestCaseError::fail)?;
    let want: BTreeMap<String, String> = c
        .env
        .iter()
        .enumerate()
        .map(|(i, v)| (env_name(i), v.clone()))
        .collect();
    prop_assert_eq!(env, want);

    let cwd = absolute(Path::new("/srv/app"), &c.cwd);
    let wd = values(service, "WorkingDirectory");
    prop_assert_eq!(wd.len(), 1);
    prop_assert_eq!(rest_of_line(&wd[0]), cwd.to_string_lossy());

    // unitgen's own two files come first.
    let files: Vec<String> = values(service, "EnvironmentFile")
        .into_iter()
        .skip(2)
        .map(|v| glob_literal(&rest_of_line(&v)))
        .collect();
    let want: Vec<String> = c
        .env_files
        .iter()
        .map(|p| absolute(&cwd, p).to_string_lossy().into_owned())
        .collect();
    prop_assert_eq!(files, want);

    let rw: Vec<_> = values(service, "ReadWritePaths")
        .into_iter()
        .map(|v| unquote_words(&v, false))
        .collect();
    let want: Vec<_> = std::iter::once(cwd.clone())
        .chain(c.read_write_paths.iter().map(|p| absolute(&cwd, p)))
        .map(|p| Some(vec![p.to_string_lossy().into_owned()]))
        .collect();
    prop_assert_eq!(rw, want);

    if let Some(d) = &c.description {
        let desc = values(service, "Description");
        prop_assert_eq!(desc.len(), 1);
        let read = rest_of_line(&desc[0]);
        prop_assert_eq!(read.strip_suffix(", instance %i"), Some(d.as_str()));
    }
    Ok(())
}

#[test]
fn arbitrary_values_are_refused_or_written_faithfully() {
    let accepted: Mutex<Vec<(Case, Vec<UnitFile>)>> = Mutex::new(Vec::new());
    let refused = Mutex::new(0usize);
    let skipped = Mutex::new(0usize);
    let counter = Mutex::new(0usize);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |c| {
        if refusable(&c).is_none() && known_bug(&c) {
            *skipped.lock().unwrap() += 1;
            return Ok(());
        }
        let ns = {
            let mut n = counter.lock().unwrap();
            *n += 1;
            format!("p{n}")
        };
        match (load(&ns, &c), refusable(&c)) {
            (Err(_), Some(_)) => {
                *refused.lock().unwrap() += 1;
                Ok(())
            }
            (Err(e), None) => Err(TestCaseError::fail(format!(
                "refused, though every value can be written:\n{e}"
            ))),
            (Ok(units), Some(why)) => Err(TestCaseError::fail(format!(
                "accepted, though it holds an unwritable value ({why}):\n{}",
                units.iter().map(|u| u.content.as_str()).collect::<String>()
            ))),
            (Ok(units), None) => {
                check_text(&ns, &c, &units)?;
                accepted.lock().unwrap().push((c, units));
                Ok(())
            }
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }

    let accepted = accepted.into_inner().unwrap();
    let refused = refused.into_inner().unwrap();
    eprintln!(
        "{} cases accepted and checked by systemd-analyze verify, {refused} refused, {} skipped (known bug)",
        accepted.len(),
        skipped.into_inner().unwrap()
    );
    assert!(
        accepted.len() * 2 >= CASES as usize,
        "too few cases reach systemd ({} of {CASES}): the generator needs fewer unwritable values",
        accepted.len()
    );
    for batch in accepted.chunks(BATCH) {
        let dir = tempfile::tempdir().unwrap();
        let mut names = Vec::new();
        for (_, units) in batch {
            for u in units {
                std::fs::write(dir.path().join(&u.name), &u.content).unwrap();
                names.push(u.name.clone());
            }
        }
        if verify(dir.path(), &names, false).is_empty() {
            continue;
        }
        // Say which case it was.
        for (c, units) in batch {
            let names: Vec<String> = units.iter().map(|u| u.name.clone()).collect();
            let said = verify(dir.path(), &names, false);
            assert!(
                said.is_empty(),
                "systemd-analyze verify said:\n{said}\nabout the case {c:#?}\nrendered as:\n{}",
                units
                    .iter()
                    .map(|u| format!("=== {} ===\n{}", u.name, u.content))
                    .collect::<String>()
            );
        }
    }
}

/// Render one app from TOML text; the service unit's text.
fn service_of(text: &str) -> Result<(String, Vec<UnitFile>), String> {
    let ns = unitgen::core::config::load(Path::new("/srv/app/t.toml"), text, &FixedHost::default())
        .map_err(|e| e.to_string())?;
    let units = compile(&ns, &Target::system(), &Renderer::new());
    let service = units
        .iter()
        .find(|u| u.name.ends_with("@.service"))
        .unwrap()
        .content
        .clone();
    Ok((service, units))
}

fn assert_verified(units: &[UnitFile]) {
    let dir = tempfile::tempdir().unwrap();
    for u in units {
        std::fs::write(dir.path().join(&u.name), &u.content).unwrap();
    }
    let names: Vec<String> = units.iter().map(|u| u.name.clone()).collect();
    let said = verify(dir.path(), &names, false);
    assert!(said.is_empty(), "systemd-analyze verify said:\n{said}");
}

const EVIL: &str = "x\nExecStartPre=/bin/touch /tmp/pwned";

#[test]
fn injection_through_env_and_arguments_stays_inside_its_value() {
    let text = format!(
        "namespace = \"inj\"\n[apps.app]\nuser = \"svc\"\ncommand = [\"sleep\", {e}]\nenv = {{ EVIL = {e} }}\n",
        e = lit(EVIL)
    );
    let (service, units) = service_of(&text).unwrap();
    assert!(
        !service.lines().any(|l| l.starts_with("ExecStartPre")),
        "{service}"
    );
    let words = unquote_words(&values(&service, "ExecStart")[0], true).unwrap();
    assert_eq!(words[words.len() - 2..], ["/usr/bin/sleep", EVIL]);
    assert!(values(&service, "Environment").is_empty());
    let ns =
        unitgen::core::config::load(Path::new("/srv/app/inj.toml"), &text, &FixedHost::default())
            .unwrap();
    let env = &unitgen::core::compile::env_files(&ns, &Target::system())[0];
    assert_eq!(
        unitgen::core::quote::parse_env_file(&env.content),
        [("EVIL".to_string(), EVIL.to_string())]
    );
    assert_eq!(values(&service, "User"), ["svc"]);
    assert_verified(&units);
}

#[test]
fn injection_through_a_description_is_refused() {
    let text = format!(
        "namespace = \"inj\"\n[apps.app]\ncommand = \"sleep 1\"\ndescription = {}\n",
        lit(EVIL)
    );
    let err = service_of(&text).unwrap_err();
    assert!(err.contains("apps.app.description"), "{err}");
    assert!(err.contains("line break"), "{err}");
}

/// A rest-of-line value ending in a backslash would continue its line onto the next one in
/// systemd's parser, swallowing the next directive (here `User=` would vanish).
#[test]
fn trailing_backslash_does_not_swallow_the_next_line() {
    let text = "namespace = \"inj\"\n[apps.app]\nuser = \"svc\"\ncommand = \"sleep 1\"\n\
                cwd = 'odd\\'\nenv_file = 'odd\\'\n";
    let (service, units) = service_of(text).unwrap();
    assert_eq!(values(&service, "User"), ["svc"]);
    assert_eq!(
        values(&service, "WorkingDirectory")
            .iter()
            .map(|v| rest_of_line(v))
            .collect::<Vec<_>>(),
        ["/srv/app/odd\\"]
    );
    assert_verified(&units);
}

/// Known bug (src/core/config/resolve.rs): a Unicode noncharacter in any value makes systemd refuse
/// the whole unit ("String is not UTF-8 clean"), and an `Environment=` holding one is dropped
/// even when escaped; D-Bus cannot carry them either. Validation should refuse them, like NUL.
#[test]
fn noncharacters_are_refused() {
    for (key, value) in [
        ("env", "{ A = \"a\u{fffe}\" }"),
        ("command", "[\"sleep\", \"\u{fdd0}\"]"),
        ("cwd", "\"dir\u{ffff}\""),
        ("description", "\"d\u{10ffff}\""),
    ] {
        let text =
            format!("namespace = \"nc\"\n[apps.app]\ncommand = \"sleep 1\"\n{key} = {value}\n");
        let text = if key == "command" {
            text.replacen("command = \"sleep 1\"\n", "", 1)
        } else {
            text
        };
        assert!(service_of(&text).is_err(), "{key} = {value} was accepted");
    }
}

/// Known bug (src/core/config/resolve.rs): the white-space check looks at the path as written, not
/// at the normalized path, so `cwd = "a /."` becomes `WorkingDirectory=/srv/app/a ` and systemd
/// strips the space.
#[test]
fn path_ending_in_space_after_normalizing() {
    let text = "namespace = \"ws\"\n[apps.app]\ncommand = \"sleep 1\"\ncwd = \"a /.\"\n";
    if let Ok((service, _)) = service_of(text) {
        let wd = &values(&service, "WorkingDirectory")[0];
        assert_eq!(
            rest_of_line(wd),
            "/srv/app/a ",
            "systemd reads {wd:?} differently"
        );
    }
}
