//! Apps as PM2 users run them, unchanged: Express from the npm registry started with
//! `npm start`, reading PORT, listening with `app.listen(PORT)`; a PM2 ecosystem file imported
//! and applied as produced; gunicorn and uvicorn from PyPI. Reloads and deploys under load
//! drop no request, and no request waits for an app's boot.

use std::time::{Duration, Instant};

use crate::harness::unitgen_ok;
use crate::harness::{describe, Sandbox, Test};
use crate::tests;

#[path = "../common/apps.rs"]
mod apps;

pub fn tests() -> Vec<Test> {
    tests![
        pm2_cluster_app_imported_and_applied_unchanged_reloads_without_a_failed_request,
        pm2_fork_app_reloads_without_a_failed_request_nor_waiting_for_its_boot,
        apply_waits_for_the_app_to_listen_and_fails_one_that_never_does,
        a_changed_env_rolls_the_instances_under_load,
        gunicorn_and_uvicorn_reload_without_a_failed_request,
    ]
}

/// The Express app copied into `dir` inside the sandbox (a deploy), owned by `user`, with a
/// `start` script that boots in `boot_ms` before it listens.
fn deploy_express(sb: &Sandbox, dir: &str, user: &str, boot_ms: u32) {
    let app = apps::npm_app("express-hello");
    sb.sh_ok(&format!(
        "id {user} >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin {user}
         rm -rf {dir} && mkdir -p {dir} && cp -a {app}/. {dir}/
         cat > {dir}/boot.js <<'EOF'
// The app as it is, after {boot_ms} ms of start-up work (loading, connecting, warming).
setTimeout(() => require('./app.js'), {boot_ms});
EOF
         cat > {dir}/package.json <<'EOF'
{{ \"name\": \"shop\", \"version\": \"1.0.0\", \"private\": true, \"scripts\": {{ \"start\": \"node boot.js\" }} }}
EOF
         chown -R {user}: {dir}",
        app = app.display()
    ));
}

/// Write a file as `user` (so that it is theirs, as a deploy user's checkout is).
fn write_as(sb: &Sandbox, user: &str, path: &str, text: &str) {
    sb.write(path, text);
    sb.sh_ok(&format!("chown {user}: {path}"));
}

/// `unitgen import` as the deploy user, then the TOML it wrote.
fn import(sb: &Sandbox, user: &str, pm2: &str, out: &str, ns: &str) -> String {
    let ug = crate::harness::unitgen_for_users(sb);
    let res = sb.sh(&format!(
        "runuser -u {user} -- {ug} import {pm2} --namespace {ns} -o {out}"
    ));
    assert!(res.status.success(), "import\n{}", describe(&res));
    sb.read(out)
}

/// Express deployed in /srv/NS by its user NSdeploy (3 s of boot), the PM2 file `pm2_js` that
/// user wrote beside it, imported as namespace NS: the TOML written.
fn express_imported(sb: &Sandbox, ns: &str, pm2_js: &str) -> String {
    let (dir, user) = (format!("/srv/{ns}"), format!("{ns}deploy"));
    deploy_express(sb, &dir, &user, 3000);
    let pm2 = format!("{dir}/ecosystem.config.js");
    write_as(sb, &user, &pm2, pm2_js);
    import(sb, &user, &pm2, &format!("{dir}/{ns}.toml"), ns)
}

fn ms(v: &serde_json::Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// Issue must-show: a PM2 cluster-mode file (2 instances, `npm start`, PORT), imported and
/// applied as produced; three reloads under load (`Connection: close`): 0 failed.
fn pm2_cluster_app_imported_and_applied_unchanged_reloads_without_a_failed_request(sb: &Sandbox) {
    let toml = express_imported(
        sb,
        "u1",
        "module.exports = { apps: [{ name: 'shop', script: 'npm', args: 'start', cwd: '/srv/u1', instances: 2, exec_mode: 'cluster', env: { PORT: 4101, NODE_ENV: 'production' } }] };\n",
    );
    assert!(toml.contains("listen = [4101]"), "{toml}");
    assert!(
        !toml.contains("LISTEN_FDS"),
        "import asks for a rewrite:\n{toml}"
    );
    let start = Instant::now();
    unitgen_ok(sb, &["apply", "/srv/u1/u1.toml"]);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(3),
        "apply returned before the app listened ({took:?})"
    );
    // Served at once, by the app itself, as its deploy user.
    let body = sb.http_get(4101, "/").expect("an answer right after apply");
    assert!(body.contains("\"hello\":\"express\""), "{body}");
    let pid = sb.unit_property("u1-shop@1.service", "MainPID");
    assert_eq!(
        sb.sh_ok(&format!("stat -c %U /proc/{pid}")).trim(),
        "u1deploy",
        "the app does not run as the owner of its files"
    );
    let status: Vec<serde_json::Value> =
        serde_json::from_str(&unitgen_ok(sb, &["status", "-n", "u1", "--json"])).unwrap();
    assert!(
        status.iter().all(|r| r["user"] == "u1deploy"),
        "status does not say who runs the app: {status:?}"
    );
    for (unit, n) in [("u1-shop@1.service", "0"), ("u1-shop@2.service", "1")] {
        let pid = sb.unit_property(unit, "MainPID");
        let env = sb.sh_ok(&format!("tr '\\0' '\\n' < /proc/{pid}/environ"));
        assert!(
            env.lines().any(|l| l == format!("NODE_APP_INSTANCE={n}")),
            "{unit}: {env}"
        );
    }
    let baseline = sb.under_load(4101, false, || std::thread::sleep(Duration::from_secs(3)));
    let figures = sb.under_load(4101, false, || {
        for _ in 0..3 {
            unitgen_ok(sb, &["reload", "shop", "-n", "u1"]);
        }
    });
    eprintln!("unmodified Express, 2 instances, 3 s boot: baseline {baseline}");
    eprintln!("unmodified Express, 2 instances, 3 s boot: 3 reloads {figures}");
    assert!(figures["requests"].as_u64().unwrap() > 1000, "{figures}");
    assert_eq!(figures["failed"], 0, "{figures}");
    // A request that waited for a 3 s boot would take 3 s.
    assert!(
        ms(&figures, "max_ms") < 2000.0,
        "a request waited: {figures}"
    );
    let ka = sb.under_load(4101, true, || {
        for _ in 0..3 {
            unitgen_ok(sb, &["reload", "shop", "-n", "u1"]);
        }
    });
    eprintln!("unmodified Express, 2 instances: 3 reloads with keep-alive {ka}");
    let _ = sb.unitgen(&["delete", "all", "-n", "u1"]);
}

/// One instance (PM2's fork mode): a spare takes the requests while the instance boots.
fn pm2_fork_app_reloads_without_a_failed_request_nor_waiting_for_its_boot(sb: &Sandbox) {
    let toml = express_imported(
        sb,
        "u2",
        "module.exports = { apps: [{ name: 'shop', script: 'npm', args: 'start', cwd: '/srv/u2', env: { PORT: 4102 } }] };\n",
    );
    assert!(toml.contains("listen = [4102]"), "{toml}");
    unitgen_ok(sb, &["apply", "/srv/u2/u2.toml"]);
    let baseline = sb.under_load(4102, false, || std::thread::sleep(Duration::from_secs(3)));
    let figures = sb.under_load(4102, false, || {
        for _ in 0..3 {
            unitgen_ok(sb, &["reload", "shop", "-n", "u2"]);
        }
    });
    eprintln!("unmodified Express, 1 instance, 3 s boot: baseline {baseline}");
    eprintln!("unmodified Express, 1 instance, 3 s boot: 3 reloads {figures}");
    assert_eq!(figures["failed"], 0, "{figures}");
    assert!(
        ms(&figures, "max_ms") < 2000.0,
        "a request waited: {figures}"
    );
    // The spare is gone again.
    assert_eq!(sb.unit_state("u2-shop@2.service"), "inactive");
    let _ = sb.unitgen(&["delete", "all", "-n", "u2"]);
}

/// `apply` returns once the app listens; an app that never listens fails after
/// `start_timeout`, and one that crashes at start fails at once, each named with its lines.
fn apply_waits_for_the_app_to_listen_and_fails_one_that_never_does(sb: &Sandbox) {
    deploy_express(sb, "/srv/u3", "u3deploy", 3000);
    sb.write(
        "/srv/u3/never.js",
        "console.log('connecting to a database that never answers'); setInterval(() => {}, 1000);\n",
    );
    sb.write(
        "/srv/u3/crash.js",
        "throw new Error('cannot read config');\n",
    );
    write_as(
        sb,
        "u3deploy",
        "/srv/u3/u3.toml",
        "namespace = \"u3\"\n[apps.never]\ncommand = \"node never.js\"\ncwd = \"/srv/u3\"\nlisten = [4103]\nstart_timeout = \"3s\"\n[apps.crash]\ncommand = \"node crash.js\"\ncwd = \"/srv/u3\"\nlisten = [4104]\nrestart_delay = \"200ms\"\n",
    );
    let start = Instant::now();
    let out = sb.unitgen(&["apply", "/srv/u3/u3.toml"]);
    let took = start.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(err.contains("u3/never") && err.contains("timeout"), "{err}");
    assert!(
        err.contains("never answers"),
        "no log lines for never: {err}"
    );
    assert!(
        err.contains("u3/crash") && err.contains("cannot read config"),
        "{err}"
    );
    assert!(took < Duration::from_secs(30), "apply took {took:?}");
    eprintln!("apply of an app that never listens (start_timeout 3s) failed after {took:?}");
    let _ = sb.unitgen(&["delete", "all", "-n", "u3"]);
}

/// A deploy that changes an env value of a 2-instance app rolls it: 0 failed requests.
fn a_changed_env_rolls_the_instances_under_load(sb: &Sandbox) {
    deploy_express(sb, "/srv/u4", "u4deploy", 3000);
    let file = |v: &str| {
        format!("namespace = \"u4\"\n[apps.shop]\ncommand = \"npm start\"\ncwd = \"/srv/u4\"\ninstances = 2\nlisten = [4105]\nenv = {{ PORT = \"4105\", RELEASE = \"{v}\" }}\n")
    };
    write_as(sb, "u4deploy", "/srv/u4/u4.toml", &file("1"));
    unitgen_ok(sb, &["apply", "/srv/u4/u4.toml"]);
    write_as(sb, "u4deploy", "/srv/u4/u4.toml", &file("2"));
    let mut out = String::new();
    let figures = sb.under_load(4105, false, || {
        out = unitgen_ok(sb, &["apply", "/srv/u4/u4.toml"]);
    });
    eprintln!("apply of a changed env under load, 2 instances, 3 s boot: {figures}");
    assert!(out.contains("restarted 2"), "{out}");
    assert_eq!(figures["failed"], 0, "{figures}");
    assert!(
        ms(&figures, "max_ms") < 2000.0,
        "a request waited: {figures}"
    );
    let _ = sb.unitgen(&["delete", "all", "-n", "u4"]);
}

/// Python: gunicorn takes systemd's socket itself (LISTEN_FDS) and says READY=1; uvicorn
/// takes it with `--fd 3`. Neither changes; three reloads under load each: gunicorn 0 failed;
/// uvicorn loses only the connections it resets itself at shutdown (accepted, not yet read).
fn gunicorn_and_uvicorn_reload_without_a_failed_request(sb: &Sandbox) {
    let packages = ["gunicorn==23.0.0", "uvicorn==0.32.1"];
    let wheels = apps::python_wheels(&packages);
    sb.sh_ok(&apps::venv_command("/srv/py/venv", &wheels, &packages));
    sb.write(
        "/srv/py/wsgi.py",
        "import os\ndef app(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [('hello from wsgi %d\\n' % os.getpid()).encode()]\n",
    );
    sb.write(
        "/srv/py/asgi.py",
        "async def app(scope, receive, send):\n    if scope['type'] != 'http':\n        return\n    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})\n    await send({'type': 'http.response.body', 'body': b'hello from asgi\\n'})\n",
    );
    sb.sh_ok("id u5py >/dev/null 2>&1 || useradd --no-create-home u5py");
    write_as(
        sb,
        "u5py",
        "/srv/py/u5.toml",
        "namespace = \"u5\"\n[apps.wsgi]\ncommand = \"/srv/py/venv/bin/gunicorn --workers 2 wsgi:app\"\ncwd = \"/srv/py\"\nlisten = [4106]\nready = \"notify\"\n[apps.asgi]\ncommand = \"/srv/py/venv/bin/uvicorn --fd 3 asgi:app\"\ncwd = \"/srv/py\"\nlisten = [4107]\n",
    );
    unitgen_ok(sb, &["apply", "/srv/py/u5.toml"]);
    for (app, port) in [("wsgi", 4106u16), ("asgi", 4107)] {
        let body = sb.wait_http(port, Duration::from_secs(10));
        assert!(body.contains(&format!("hello from {app}")), "{body}");
        let figures = sb.under_load(port, false, || {
            for _ in 0..3 {
                unitgen_ok(sb, &["reload", app, "-n", "u5"]);
            }
        });
        eprintln!(
            "{app} ({}), 1 instance: 3 reloads {figures}",
            if app == "wsgi" { "gunicorn" } else { "uvicorn" }
        );
        let requests = figures["requests"].as_u64().unwrap();
        let failed = figures["failed"].as_u64().unwrap();
        assert!(requests > 500, "{figures}");
        if app == "wsgi" {
            assert_eq!(failed, 0, "{app}: {figures}");
        } else {
            // uvicorn resets the connections it accepted but had not read yet when it shuts
            // down (its own issue #2757): at most the load generator's 8 connections for each
            // process that stops (the instance and the spare, 3 times); nothing else may fail.
            assert!(
                failed <= 8 * 2 * 3
                    && figures["kinds"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .all(|k| k == "read: ConnectionReset"),
                "{app}: {figures}"
            );
        }
    }
    let _ = sb.unitgen(&["delete", "all", "-n", "u5"]);
}
