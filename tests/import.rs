//! `unitgen import`, run as users run it: each PM2 ecosystem file under `tests/import/` is
//! imported by the real binary inside a temporary copy of that directory, the TOML files it
//! writes are compared with `tests/import/expected/<case>/` (with the summary it printed on
//! stderr), and `unitgen validate` must accept them.
//!
//! The temporary directory's path is written `$FIXTURES` in the expected files.
//! Bless new output with `UPDATE_EXPECT=1 cargo test --test import`, then read the diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

#[path = "common/expect.rs"]
mod expect_kit;
use expect_kit::Expect;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import")
}

/// A copy of `tests/import/` (without the expected files) in a fresh temporary directory,
/// with an empty unit directory beside it so that nothing installed on this machine counts.
struct Sandbox {
    dir: tempfile::TempDir,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == "expected" {
            continue;
        }
        let src = e.path();
        if src.is_dir() {
            copy_tree(&src, &to.join(&name));
        } else {
            std::fs::copy(&src, to.join(&name)).unwrap();
        }
    }
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&fixtures(), &dir.path().join("fx"));
        std::fs::create_dir(dir.path().join("units")).unwrap();
        Sandbox { dir }
    }

    /// Where the fixtures are.
    fn fx(&self) -> PathBuf {
        self.dir.path().join("fx")
    }

    /// `unitgen --unit-dir UNITS ARGS...` in the fixture directory, with a predictable
    /// environment (the .js files read process.env).
    fn unitgen(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::cargo_bin("unitgen").unwrap();
        c.current_dir(self.fx())
            .arg("--unit-dir")
            .arg(self.dir.path().join("units"))
            .args(args);
        // Who runs the apps would be whoever runs the tests: say it, so the output does not
        // depend on the machine (root exists everywhere and reaches every checkout).
        if args.first() == Some(&"import") && !args.contains(&"--run-as") {
            c.args(["--run-as", "root"]);
        }
        for v in [
            "NODE_ENV",
            "DB_HOST",
            "BASE_PORT",
            "DATABASE_URL",
            "UNITGEN_LOG",
        ] {
            c.env_remove(v);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    /// Every file under the fixture directory, with its content.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(d: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, root, out);
                } else {
                    out.insert(
                        p.strip_prefix(root).unwrap().to_path_buf(),
                        std::fs::read(&p).unwrap(),
                    );
                }
            }
        }
        let mut m = BTreeMap::new();
        walk(&self.fx(), &self.fx(), &mut m);
        m
    }

    /// Paths of this machine's temporary directory, made stable for comparison.
    fn scrub(&self, text: &str) -> String {
        let mut t = text.to_string();
        for p in [self.fx().canonicalize().unwrap(), self.fx()] {
            t = t.replace(&p.display().to_string(), "$FIXTURES");
        }
        t
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Compare what a run produced with `tests/import/expected/<case>/`, or write it there.
fn expect(case: &str, produced: &BTreeMap<String, String>) {
    let mut expect = Expect::new();
    expect.dir(
        &format!("case {case}"),
        &fixtures().join("expected").join(case),
        produced,
    );
    expect.finish();
}

/// Whether every error is about accounts the PM2 file names that exist on the machines it
/// comes from, not on this one (`deploy-prod`, `billing`): the file is right, the machine is
/// not ready for it yet, and import says so with exit 1.
fn other_machine(stderr: &[u8]) -> bool {
    let t = text(stderr);
    // The last line sums up ("N problems found: …"); the problems are the other errors.
    let errors: Vec<&str> = t
        .lines()
        .filter(|l| l.starts_with("error:") && !l.contains(" found: "))
        .collect();
    !errors.is_empty()
        && errors.iter().all(|l| {
            l.contains("there is no user")
                || l.contains("there is no group")
                || l.contains("is no user on this machine")
        })
}

/// Import `file` with `args`, expect exit 0 (or 1 for accounts of another machine, see
/// [`other_machine`]), compare the TOML written (and stderr) with the
/// expected files, and validate the result with `unitgen validate`.
fn case(name: &str, file: &str, args: &[&str], env: &[(&str, &str)]) {
    let sb = Sandbox::new();
    let before = sb.snapshot();
    let mut a = vec!["import", file];
    a.extend_from_slice(args);
    let out = sb.unitgen(&a, env);
    assert!(
        out.status.success() || (out.status.code() == Some(1) && other_machine(&out.stderr)),
        "case {name}: import failed ({:?}):\n{}",
        out.status.code(),
        text(&out.stderr)
    );
    let after = sb.snapshot();
    let written: Vec<PathBuf> = after
        .keys()
        .filter(|p| !before.contains_key(*p))
        .cloned()
        .collect();
    assert!(!written.is_empty(), "case {name}: nothing was written");
    let mut produced = BTreeMap::new();
    for p in &written {
        assert_eq!(
            p.extension().unwrap(),
            "toml",
            "case {name}: wrote {}",
            p.display()
        );
        let content = text(&after[p]);
        assert!(
            content.starts_with("# Imported from PM2 by `unitgen import`"),
            "case {name}: {} lacks the import mark",
            p.display()
        );
        produced.insert(
            p.display().to_string().replace('/', "__"),
            sb.scrub(&content),
        );
    }
    produced.insert("stderr.txt".into(), sb.scrub(&text(&out.stderr)));
    expect(name, &produced);

    // What import wrote must pass `unitgen validate` on this machine.
    let mut v = vec!["validate"];
    let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    v.extend(files.iter().map(String::as_str));
    let out = sb.unitgen(&v, env);
    assert!(
        out.status.success() || other_machine(&out.stderr),
        "case {name}: unitgen validate rejects the import:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A case: its name (the directory of its expected files), the PM2 file, the arguments of
/// `unitgen import` after the file, and the environment the .js file is evaluated in.
type Case = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// The PM2 files of the corpus, each with how it is imported.
const CASES: &[Case] = &[
    // Seed 001: three environments of one backend on ports 3000/3001/3002, one namespace each.
    ("seawolf", "seawolf.json", &[], &[]),
    // Seed 000: api + worker + analytics, top-level namespace, --env production, .cjs.
    (
        "flyer-crawler",
        "flyer-crawler.config.cjs",
        &["--env", "production"],
        &[("DB_HOST", "db.internal")],
    ),
    // Seed 002: cluster mode on all CPUs in production (process.env.NODE_ENV), wait_ready.
    (
        "nocturnal",
        "nocturnal.config.js",
        &["--namespace", "nocturnal"],
        &[("NODE_ENV", "production")],
    ),
    // Seed 003: backend with watch and restart limits, a dev frontend with `npm run dev`.
    (
        "asset-management",
        "asset-management.config.js",
        &["--namespace", "assets"],
        &[],
    ),
    // Seed 004: one fork process, restart limits and a memory cap, --env production.
    (
        "proxy-service",
        "proxy-service.config.js",
        &["--env", "production"],
        &[],
    ),
    ("cron", "cron.yaml", &["--namespace", "jobs"], &[]),
    ("bare-array", "bare-array.json", &[], &[]),
    ("cluster", "cluster.json", &["--namespace", "web"], &[]),
    (
        "environments",
        "environments.yml",
        &["--env", "staging"],
        &[],
    ),
    ("no-equivalent", "no-equivalent.json", &[], &[]),
    ("users", "users.yaml", &["--namespace", "billing"], &[]),
    ("esm", "ecosystem.config.mjs", &[], &[("BASE_PORT", "6100")]),
    ("shell-scripts", "shell-scripts.json", &[], &[]),
    ("names", "names.json", &[], &[]),
    (
        "single-app",
        "single-app.json",
        &["--namespace", "solo"],
        &[],
    ),
    // Not strict JSON, but PM2 evaluates .json as JavaScript: so does import, through node.
    (
        "commented-json",
        "commented.json",
        &["--namespace", "api"],
        &[],
    ),
    // The apps under a `pm2` key, as in a package.json.
    ("package-pm2", "package-pm2.json", &[], &[]),
    // PM2 runs a Node app in cluster mode whenever `instances` is set (Common.js,
    // determineExecMode): listen, and the app runs unchanged; python stays in fork mode.
    (
        "implicit-cluster",
        "implicit-cluster.json",
        &["--namespace", "web"],
        &[],
    ),
    // increment_var: a port per instance, not a shared one; instance_var renamed.
    (
        "increment",
        "increment.config.js",
        &["--namespace", "shards"],
        &[],
    ),
    // Every option may be written in camelCase (Config.js); false values of aliased options
    // are read as not set.
    (
        "camel-case",
        "camel-case.json",
        &["--namespace", "camel"],
        &[],
    ),
    // `script: "npm"` with a node interpreter, with none, and with node_args.
    (
        "npm-interpreter",
        "npm-interpreter.json",
        &["--namespace", "front"],
        &[],
    ),
    // PYTHONUNBUFFERED, gunicorn taking systemd's socket, uvicorn with --fd 3.
    ("python", "python.json", &["--namespace", "py"], &[]),
    // wait_ready without a signal: PM2 counted the app up after listen_timeout.
    (
        "wait-ready",
        "wait-ready.json",
        &["--namespace", "ready"],
        &[],
    ),
    // max_memory_restart: a kernel OOM kill here, not PM2's graceful reload.
    ("memory", "memory.yaml", &["--namespace", "mem"], &[]),
    // Ports below 1024 under the default hardening.
    ("low-port", "low-port.json", &["--namespace", "edge"], &[]),
    // A deploy section that is a list of targets, each with a list of hosts.
    (
        "deploy-list",
        "deploy-list.yaml",
        &["--env", "production"],
        &[],
    ),
    // kill_signal is kept when given; otherwise systemd's SIGTERM.
    ("signals", "signals.json", &["--namespace", "sig"], &[]),
    // The address the app bound: HOST, its arguments, or unknown.
    ("hosts", "hosts.json", &["--namespace", "hosts"], &[]),
    // Real ecosystem files from public repositories (named at their top).
    (
        "real-express-pm2-long-polling",
        "real/express-pm2-long-polling/pm2.config.js",
        &[],
        &[],
    ),
    (
        "real-hackthon-demo",
        "real/hackthon-demo/ecosystem.config.js",
        &[],
        &[],
    ),
    (
        "real-tuskvector",
        "real/tuskvector/ecosystem.config.js",
        &[],
        &[],
    ),
    (
        "real-o2arc",
        "real/o2arc/ecosystem.config.js",
        &["--env", "production"],
        &[],
    ),
    (
        "real-girgaon",
        "real/girgaon/ecosystem.config.js",
        &["--env", "production"],
        &[],
    ),
    (
        "real-jiradataxl",
        "real/jiradataxl/ecosystem.config.js",
        &[],
        &[],
    ),
];

macro_rules! cases {
    ($($t:ident => $i:expr;)*) => {
        $(#[test] fn $t() { let (n, f, a, e) = CASES[$i]; case(n, f, a, e); })*
    };
}

cases! {
    import_seawolf_three_environments => 0;
    import_flyer_crawler_cjs_env_production => 1;
    import_nocturnal_cluster_max => 2;
    import_asset_management_npm_run_dev => 3;
    import_proxy_service_restart_limits => 4;
    import_cron_yaml => 5;
    import_bare_array => 6;
    import_cluster_listen => 7;
    import_environments_yaml_env_staging => 8;
    import_options_without_equivalent => 9;
    import_users_and_exit_codes => 10;
    import_esm_module => 11;
    import_shell_scripts => 12;
    import_names_and_namespaces => 13;
    import_single_app_object => 14;
    import_json_with_comments_through_node => 15;
    import_pm2_key_of_package_json => 16;
    import_cluster_mode_without_exec_mode => 17;
    import_increment_var_and_instance_var => 18;
    import_camel_case_options => 19;
    import_npm_from_path_with_an_interpreter => 20;
    import_python_gunicorn_uvicorn => 21;
    import_wait_ready_without_a_signal => 22;
    import_max_memory_restart => 23;
    import_ports_below_1024 => 24;
    import_deploy_as_a_list => 25;
    import_stop_signals => 26;
    import_listen_addresses => 27;
    import_real_express_pm2_long_polling => 28;
    import_real_hackthon_demo => 29;
    import_real_tuskvector => 30;
    import_real_o2arc => 31;
    import_real_girgaon => 32;
    import_real_jiradataxl => 33;
}

#[test]
fn every_fixture_has_a_case_and_there_are_enough() {
    let mut files: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    for f in &files {
        assert!(
            CASES.iter().any(|c| c.1 == f),
            "tests/import/{f} has no case in tests/import.rs"
        );
    }
    assert!(
        files.len() >= 12,
        "only {} PM2 files in the corpus",
        files.len()
    );
}

#[test]
fn stdout_holds_exactly_the_file_and_nothing_is_written() {
    let sb = Sandbox::new();
    let before = sb.snapshot();
    let out = sb.unitgen(
        &[
            "import",
            "single-app.json",
            "--namespace",
            "solo",
            "-o",
            "-",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(sb.snapshot(), before, "-o - wrote a file");
    let want = std::fs::read_to_string(fixtures().join("expected/single-app/solo.toml")).unwrap();
    assert_eq!(text(&out.stdout), want);
}

#[test]
fn one_output_file_for_several_namespaces_is_refused() {
    let sb = Sandbox::new();
    let before = sb.snapshot();
    for o in ["-", "all.toml"] {
        let out = sb.unitgen(&["import", "seawolf.json", "-o", o], &[]);
        assert_eq!(out.status.code(), Some(2), "-o {o}");
        let err = text(&out.stderr);
        assert!(err.contains("3 namespaces (test, dev, prod)"), "{err}");
    }
    assert_eq!(sb.snapshot(), before);
}

#[test]
fn output_elsewhere_makes_paths_absolute() {
    let sb = Sandbox::new();
    let out_dir = sb.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let o = format!("{}/", out_dir.display());
    let out = sb.unitgen(&["import", "seawolf.json", "-o", &o], &[]);
    assert!(
        out.status.success() || other_machine(&out.stderr),
        "{}",
        text(&out.stderr)
    );
    let prod = std::fs::read_to_string(out_dir.join("prod.toml")).unwrap();
    let fx = sb.fx().canonicalize().unwrap();
    // No cwd in the PM2 app: [defaults] says where PM2 ran it; its own relative cwd too.
    assert!(
        prod.contains(&format!("cwd = \"{}\"", fx.display()))
            || prod.contains(&format!("cwd = \"{}\"", sb.fx().display())),
        "{prod}"
    );
    assert!(prod.contains("app/seawolf/prod/backend\""), "{prod}");
    assert!(
        prod.contains(&format!("from {}", sb.fx().join("seawolf.json").display()))
            || prod.contains(&format!("from {}", fx.join("seawolf.json").display())),
        "{prod}"
    );
    let files: Vec<String> = ["test", "dev", "prod"]
        .iter()
        .map(|n| out_dir.join(format!("{n}.toml")).display().to_string())
        .collect();
    let mut v = vec!["validate"];
    v.extend(files.iter().map(String::as_str));
    let out = sb.unitgen(&v, &[]);
    assert!(
        out.status.success() || other_machine(&out.stderr),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn output_directory_is_made() {
    let sb = Sandbox::new();
    let out_dir = sb.dir.path().join("new/units");
    let o = format!("{}/", out_dir.display());
    let out = sb.unitgen(
        &["import", "cluster.json", "--namespace", "web", "-o", &o],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out_dir.join("web.toml").is_file());

    // Bad input makes nothing, not even the directory.
    let bad_dir = sb.dir.path().join("never");
    let o = format!("{}/", bad_dir.display());
    let out = sb.unitgen(&["import", "bad/no-script.json", "-o", &o], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!bad_dir.exists());

    // A file in a directory that does not exist is refused.
    let o = sb
        .dir
        .path()
        .join("missing/prod.toml")
        .display()
        .to_string();
    let out = sb.unitgen(
        &["import", "cluster.json", "--namespace", "web", "-o", &o],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("does not exist"));
}

#[test]
fn a_hand_written_file_is_not_replaced_but_an_import_is() {
    let sb = Sandbox::new();
    std::fs::write(sb.fx().join("solo.toml"), "namespace = \"solo\"\n# mine\n").unwrap();
    let before = sb.snapshot();
    let out = sb.unitgen(&["import", "single-app.json", "--namespace", "solo"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("was not written by unitgen import"));
    assert_eq!(sb.snapshot(), before);

    // Named with -o, it is replaced; and a file import wrote is replaced by a new import.
    let out = sb.unitgen(
        &[
            "import",
            "single-app.json",
            "--namespace",
            "solo",
            "-o",
            "solo.toml",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = sb.unitgen(&["import", "single-app.json", "--namespace", "solo"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = std::fs::read_to_string(sb.fx().join("solo.toml")).unwrap();
    assert!(got.starts_with("# Imported from PM2"));
}

#[test]
fn a_script_missing_here_is_written_and_exits_1() {
    let sb = Sandbox::new();
    let out = sb.unitgen(
        &[
            "import",
            "invalid/missing-script.json",
            "--namespace",
            "prod",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = sb.scrub(&text(&out.stderr));
    assert!(
        err.contains("error: app reports: the script ../app/dist/reports.js is not in $FIXTURES/invalid on this machine"),
        "{err}"
    );
    assert!(
        err.contains("invalid/prod.toml was written, but would not run on this machine yet"),
        "{err}"
    );
    let toml = std::fs::read_to_string(sb.fx().join("invalid/prod.toml")).unwrap();
    assert!(
        toml.contains("command = \"node ../app/dist/reports.js\""),
        "{toml}"
    );
}

#[test]
fn an_import_that_does_not_validate_is_written_and_exits_1() {
    let sb = Sandbox::new();
    let out = sb.unitgen(
        &["import", "invalid/port-twice.json", "--namespace", "proxy"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("port 3000"), "{err}");
    assert!(
        err.contains("1 problem found: invalid/proxy.toml was written"),
        "{err}"
    );
    assert!(sb.fx().join("invalid/proxy.toml").is_file());
    // The same verdict as `unitgen validate`.
    let out = sb.unitgen(&["validate", "invalid/proxy.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

/// Bad input: a clear error, exit 2, and nothing written anywhere.
fn bad(file: &str, env: &[(&str, &str)], says: &[&str]) {
    let sb = Sandbox::new();
    let before = sb.snapshot();
    let out = sb.unitgen(&["import", file], env);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{file}: {err}");
    for s in says {
        assert!(err.contains(s), "{file}: stderr lacks {s:?}:\n{err}");
    }
    assert!(text(&out.stdout).is_empty(), "{file}: wrote to stdout");
    assert_eq!(sb.snapshot(), before, "{file}: something was written");
}

#[test]
fn bad_not_a_pm2_file() {
    bad(
        "bad/package.json",
        &[],
        &[
            "error: bad/package.json is not a PM2 ecosystem file: it has no `apps` (its keys: name, version, scripts, dependencies)",
            "help: a PM2 ecosystem file holds { apps: [",
        ],
    );
}

#[test]
fn bad_js_that_throws() {
    bad(
        "bad/throws.config.js",
        &[],
        &[
            "error: bad/throws.config.js failed when node evaluated it:",
            "Error: DATABASE_URL must be set before loading the ecosystem file",
            "throws.config.js:2:",
        ],
    );
}

#[test]
fn bad_json_syntax() {
    bad(
        "bad/syntax.json",
        &[],
        &["error: bad/syntax.json:4:5: JSON syntax: expected `,` or `]`"],
    );
}

#[test]
fn bad_app_without_script() {
    bad(
        "bad/no-script.json",
        &[],
        &[
            "error: app #2 (worker) has no `script`",
            "--> bad/no-script.json",
        ],
    );
    // Every app that cannot be imported is said, each with where and what to do.
    let sb = Sandbox::new();
    let err = text(&sb.unitgen(&["import", "bad/no-script.json"], &[]).stderr);
    let errors: Vec<&str> = err.split("\n\n").collect();
    assert_eq!(errors.len(), 2, "{err}");
    assert!(
        errors[1].starts_with("error: app #3 (mailer) has no `script`"),
        "{err}"
    );
    for e in errors {
        assert!(
            e.contains("--> bad/no-script.json") && e.contains("= help: every PM2 app"),
            "{err}"
        );
    }
}

#[test]
fn bad_js_exporting_a_function() {
    bad(
        "bad/function.config.js",
        &[],
        &[
            "exports a function, not a configuration",
            "PM2 does not call it either",
        ],
    );
}

#[test]
fn bad_no_apps() {
    bad(
        "bad/empty-apps.yaml",
        &[],
        &["error: bad/empty-apps.yaml has no apps"],
    );
}

#[test]
fn bad_no_node_for_a_js_file() {
    bad(
        "nocturnal.config.js",
        &[("PATH", "/nonexistent")],
        &["reading it needs `node`, which is not in PATH"],
    );
}

#[test]
fn bad_unknown_file_type() {
    let sb = Sandbox::new();
    std::fs::write(sb.fx().join("ecosystem.ini"), "[app]\n").unwrap();
    let out = sb.unitgen(&["import", "ecosystem.ini"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a PM2 ecosystem file name"));
}
