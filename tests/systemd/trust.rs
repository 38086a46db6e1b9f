//! Who runs what, against the real systemd: a program planted in the app's directory never
//! runs, an app runs as the user the file says (or its owner, never root unasked), a Node
//! installed with nvm under its user's home starts as `npm start` under both profiles, and
//! what the app's user cannot reach is refused before anything is installed.
//!
//! Everything these tests need is made inside the sandbox (users, homes, a copy of the
//! machine's node and npm under ~/.nvm), so that they do not depend on this machine's users
//! or on where the checkout is.

use std::sync::Once;
use std::time::Duration;

use crate::harness::unitgen_ok;
use crate::harness::{describe, Sandbox, Test};
use crate::tests;

pub fn tests() -> Vec<Test> {
    tests![
        a_node_planted_in_cwd_never_runs,
        a_node_under_nvm_of_its_user_serves_npm_start_as_that_user,
        a_node_under_nvm_serves_npm_start_under_strict,
        a_program_in_another_users_0700_home_is_refused,
        a_root_owned_file_without_user_is_refused_and_runs_as_root_when_it_says_so,
        apps_of_a_file_owned_by_a_user_run_as_that_user,
        an_env_file_with_glob_characters_loads_that_file_only,
    ]
}

/// The users of these tests: `trusta` (home 0700), `trustb`, `trustc`, and `nvmu`, whose
/// home holds a copy of this machine's node and npm laid out as nvm lays them out.
const NVM: &str = "/home/nvmu/.nvm/versions/node/v20.0.0";

/// A small HTTP server: who runs it, with which node, and the value of $X.
const SERVER_JS: &str = r#"const http = require("http");
http.createServer((q, r) => r.end(JSON.stringify({
  uid: process.getuid(), node: process.execPath, x: process.env.X || null,
}))).listen(Number(process.env.PORT), "127.0.0.1");
"#;

fn users(sb: &Sandbox) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        sb.sh_ok(&format!(
            r#"set -e
            for u in trusta trustb trustc nvmu; do id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"; done
            chmod 0700 /home/trusta /home/nvmu
            node=$(readlink -f "$(command -v node)") || {{ echo "node is needed (Debian package nodejs)" >&2; exit 1; }}
            cli=$(readlink -f "$(command -v npm)") || {{ echo "npm is needed (Debian package npm)" >&2; exit 1; }}
            case "$cli" in */npm/bin/npm-cli.js) ;; *) echo "npm is not npm-cli.js: $cli" >&2; exit 1 ;; esac
            mkdir -p {NVM}/bin {NVM}/lib/node_modules
            cp "$node" {NVM}/bin/node
            cp -a "$(dirname "$(dirname "$cli")")" {NVM}/lib/node_modules/npm
            ln -sfn ../lib/node_modules/npm/bin/npm-cli.js {NVM}/bin/npm
            chown -R nvmu: /home/nvmu/.nvm"#
        ));
    });
}

/// An app of `nvmu` in `/home/nvmu/NAME` as `npm start` runs it (server.js, package.json),
/// with the ecosystem file `eco`, all owned by nvmu. Returns the file's path.
fn npm_app(sb: &Sandbox, name: &str, eco: String) -> String {
    users(sb);
    let dir = format!("/home/nvmu/{name}");
    sb.write(&format!("{dir}/server.js"), SERVER_JS);
    sb.write(
        &format!("{dir}/package.json"),
        format!(
            r#"{{"name": "{name}", "private": true, "scripts": {{"start": "node server.js"}}}}"#
        ),
    );
    sb.write(&format!("{dir}/eco.toml"), eco);
    sb.ok(&["chown", "-R", "nvmu:", &dir]);
    format!("{dir}/eco.toml")
}

/// A JSON answer on the port, once something serves it.
fn answer(sb: &Sandbox, port: u16) -> serde_json::Value {
    let body = sb.wait_http(port, Duration::from_secs(30));
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

fn uid_of(sb: &Sandbox, user: &str) -> u64 {
    sb.ok(&["id", "-u", user]).trim().parse().unwrap()
}

/// The real uid of a unit's main process, from /proc/PID/status.
fn main_uid(sb: &Sandbox, unit: &str) -> u64 {
    let pid = sb.unit_property(unit, "MainPID");
    let status = sb.read(&format!("/proc/{pid}/status"));
    let line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap_or_else(|| panic!("no Uid in /proc/{pid}/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// With `command = "node server.js"`, a `node` in the app's directory is not the one run,
/// even as root: the real node serves, and the planted one would have left a file.
fn a_node_planted_in_cwd_never_runs(sb: &Sandbox) {
    sb.write("/srv/tplant/server.js", SERVER_JS);
    sb.write(
        "/srv/tplant/node",
        "#!/bin/sh\necho planted > /srv/tplant/PLANTED-RAN\nexec /usr/bin/node \"$@\"\n",
    );
    sb.ok(&["chmod", "755", "/srv/tplant/node"]);
    sb.write(
        "/srv/tplant/eco.toml",
        "namespace = \"tplant\"\n[apps.web]\nuser = \"root\"\ncommand = \"node server.js\"\nenv = { PORT = \"3301\" }\n",
    );
    unitgen_ok(sb, &["apply", "/srv/tplant/eco.toml"]);
    let v = answer(sb, 3301);
    assert_eq!(v["uid"], 0, "{v}");
    let exec = sb.unit_property("tplant-web@1.service", "ExecStart");
    assert!(!exec.contains("/srv/tplant/node"), "{exec}");
    let planted = sb.exec(&["test", "-e", "/srv/tplant/PLANTED-RAN"]);
    assert!(!planted.status.success(), "the planted node ran");
    unitgen_ok(sb, &["delete", "all", "-n", "tplant"]);
}

/// The usual PM2 set-up: Node installed with nvm in the deploy user's home (mode 0700), the
/// app started as `npm start`, the file owned by that user and naming no `user`. The app
/// runs as that user, with nvm's node (found by npm's `#!/usr/bin/env node` through the PATH
/// unitgen gives the app).
fn a_node_under_nvm_of_its_user_serves_npm_start_as_that_user(sb: &Sandbox) {
    let f = npm_app(
        sb,
        "app",
        format!("namespace = \"tnvm\"\n[apps.web]\ncommand = \"{NVM}/bin/npm start\"\nenv = {{ PORT = \"3302\" }}\n"),
    );
    unitgen_ok(sb, &["apply", &f]);
    let v = answer(sb, 3302);
    let uid = uid_of(sb, "nvmu");
    assert_eq!(v["uid"], uid, "{v}");
    assert_eq!(v["node"], format!("{NVM}/bin/node"), "{v}");
    assert_eq!(main_uid(sb, "tnvm-web@1.service"), uid);
    unitgen_ok(sb, &["delete", "all", "-n", "tnvm"]);
}

/// The same under `strict`: the home directories are an empty tmpfs but for the app's
/// directory and nvm's installation, bound in. (V8 needs `--jitless` under strict's
/// MemoryDenyWriteExecute=.) `npm` is a bare name here, found in the app's own PATH.
fn a_node_under_nvm_serves_npm_start_under_strict(sb: &Sandbox) {
    let f = npm_app(
        sb,
        "strict",
        format!(
            "namespace = \"tstrict\"\n[apps.web]\ncommand = \"npm start\"\nhardening = \"strict\"\nenv = {{ PORT = \"3303\", PATH = \"{NVM}/bin:/usr/bin:/bin\", NODE_OPTIONS = \"--jitless\" }}\n"
        ),
    );
    unitgen_ok(sb, &["apply", &f]);
    let v = answer(sb, 3303);
    assert_eq!(v["uid"], uid_of(sb, "nvmu"), "{v}");
    assert_eq!(v["node"], format!("{NVM}/bin/node"), "{v}");
    let unit = sb.read("/etc/systemd/system/tstrict-web@.service");
    assert!(unit.contains("ProtectHome=tmpfs"), "{unit}");
    assert!(
        unit.contains(&format!("BindReadOnlyPaths=\"{NVM}\"")),
        "{unit}"
    );
    unitgen_ok(sb, &["delete", "all", "-n", "tstrict"]);
}

/// A program in a home directory of mode 0700 cannot be run by another user: validate
/// refuses it, naming the directory, and nothing is installed.
fn a_program_in_another_users_0700_home_is_refused(sb: &Sandbox) {
    users(sb);
    sb.write(
        "/home/trusta/app/server.sh",
        "#!/bin/sh\nexec sleep infinity\n",
    );
    sb.sh_ok("chmod 755 /home/trusta/app/server.sh && chown -R trusta: /home/trusta/app");
    sb.write(
        "/srv/thome/eco.toml",
        "namespace = \"thome\"\n[apps.web]\nuser = \"trustb\"\ncommand = \"/home/trusta/app/server.sh\"\n",
    );
    for verb in ["validate", "apply"] {
        let out = sb.unitgen(&[verb, "/srv/thome/eco.toml"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{verb}: {}", describe(&out));
        assert!(
            stderr.contains("user \"trustb\" cannot reach the program /home/trusta/app/server.sh: /home/trusta (mode 0700, owner trusta) does not let user \"trustb\" through"),
            "{stderr}"
        );
        assert!(
            stderr.contains("run the app as trusta (user = \"trusta\")"),
            "{stderr}"
        );
    }
    let unit = sb.exec(&["test", "-e", "/etc/systemd/system/thome-web@.service"]);
    assert!(!unit.status.success(), "a unit was installed");
}

/// A file owned by root that names no `user` is refused (a web app is not run as root
/// unasked); with `user = "root"`, it runs as root.
fn a_root_owned_file_without_user_is_refused_and_runs_as_root_when_it_says_so(sb: &Sandbox) {
    sb.write("/srv/troot/server.js", SERVER_JS);
    let text =
        "namespace = \"troot\"\n[apps.web]\ncommand = \"/usr/bin/node server.js\"\nenv = { PORT = \"3304\" }\n";
    sb.write("/srv/troot/eco.toml", text);
    let out = sb.unitgen(&["apply", "/srv/troot/eco.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr.contains("app \"web\" names no `user`, and /srv/troot/eco.toml is owned by root"),
        "{stderr}"
    );
    assert!(
        stderr.contains("user = \"root\" (root, knowingly)"),
        "{stderr}"
    );

    sb.write(
        "/srv/troot/eco.toml",
        text.replace("[apps.web]\n", "[apps.web]\nuser = \"root\"\n"),
    );
    unitgen_ok(sb, &["apply", "/srv/troot/eco.toml"]);
    assert_eq!(answer(sb, 3304)["uid"], 0);
    assert_eq!(main_uid(sb, "troot-web@1.service"), 0);
    unitgen_ok(sb, &["delete", "all", "-n", "troot"]);
}

/// The deploy user owns the checkout and its ecosystem file: the apps run as that user, as
/// they ran as the user who ran pm2.
fn apps_of_a_file_owned_by_a_user_run_as_that_user(sb: &Sandbox) {
    users(sb);
    sb.write("/srv/towner/server.js", SERVER_JS);
    sb.write(
        "/srv/towner/eco.toml",
        "namespace = \"towner\"\n[apps.web]\ncommand = \"node server.js\"\nenv = { PORT = \"3305\" }\n",
    );
    sb.ok(&["chown", "-R", "trustc:", "/srv/towner"]);
    let plan = unitgen_ok(sb, &["plan", "/srv/towner/eco.toml"]);
    assert!(plan.contains("User=trustc"), "{plan}");
    unitgen_ok(sb, &["apply", "/srv/towner/eco.toml"]);
    let uid = uid_of(sb, "trustc");
    assert_eq!(answer(sb, 3305)["uid"], uid);
    assert_eq!(main_uid(sb, "towner-web@1.service"), uid);
    unitgen_ok(sb, &["delete", "all", "-n", "towner"]);
}

/// systemd reads EnvironmentFile= as a glob pattern: `a[b].env` must load that file, not
/// `ab.env` beside it.
fn an_env_file_with_glob_characters_loads_that_file_only(sb: &Sandbox) {
    sb.write("/srv/tglob/server.js", SERVER_JS);
    sb.write("/srv/tglob/a[b].env", "X=bracket\n");
    sb.write("/srv/tglob/ab.env", "X=plain\n");
    sb.write(
        "/srv/tglob/eco.toml",
        "namespace = \"tglob\"\n[apps.web]\nuser = \"root\"\ncommand = \"node server.js\"\nenv = { PORT = \"3306\" }\nenv_file = \"a[b].env\"\n",
    );
    unitgen_ok(sb, &["apply", "/srv/tglob/eco.toml"]);
    assert_eq!(answer(sb, 3306)["x"], "bracket");
    unitgen_ok(sb, &["delete", "all", "-n", "tglob"]);
}
