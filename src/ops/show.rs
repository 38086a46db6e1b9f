//! Gathering what `show` prints about one app: systemd's properties over D-Bus, the status rows,
//! the environment files and the journal, into a [`crate::show::AppDetails`].

use std::path::PathBuf;

use crate::adapters::systemd::{exec_argvs, text, texts, Props, Systemd};
use crate::selector::Selected;
use crate::show::{
    exit_reason, limits, log_limit, masked, own_command, socket, timer, who, AppDetails, EnvFile,
    InstanceDetails, LastExit,
};
use crate::status::State;

/// Gather everything `show` prints about one app: systemd's properties of its first instance,
/// socket and timer, every instance's status row (with CPU % over `figures`), the last exits
/// and error lines from the journal, and the environment files under `env_dir`.
pub async fn gather(
    sd: &Systemd,
    s: &Selected,
    env_dir: &std::path::Path,
    figures: crate::status::Figures,
) -> Result<AppDetails, crate::adapters::systemd::Error> {
    let user = sd.is_user();
    let report = crate::ops::status::collect_figures(sd, std::slice::from_ref(s), figures).await?;
    let first = s.installed.instances.first().copied().unwrap_or(1);
    let p = sd
        .unit(&crate::core::names::instance(&s.namespace, &s.app, first))
        .await
        .unwrap_or_default();
    let socket = match &s.installed.socket {
        Some(sock) => Some(socket(sock, &sd.unit(sock).await.unwrap_or_default(), s)),
        None => None,
    };
    let timer = match &s.installed.timer {
        Some(t) => Some(timer(t, &sd.unit(t).await.unwrap_or_default())),
        None => None,
    };
    let units: Vec<String> = report.instances.iter().map(|r| r.unit.clone()).collect();
    let exits = crate::adapters::journal::last_exits(&units, user).unwrap_or_default();
    let failing = report
        .instances
        .iter()
        .any(|r| matches!(r.state, State::Crashing | State::Errored));
    let instances: Vec<InstanceDetails> = report
        .instances
        .into_iter()
        .map(|row| {
            let last_exit = exits.get(&row.unit).map(|e| LastExit {
                reason: exit_reason(&e.code, &e.status, e.result.as_deref()),
                at: crate::status::rfc3339(e.at_us),
            });
            InstanceDetails { row, last_exit }
        })
        .collect();
    let exec_start = exec_argvs(&p, "ExecStart")
        .into_iter()
        .next()
        .unwrap_or_default();
    let env = env_files(&p, env_dir, s, first);
    let environment = texts(&p, "Environment")
        .into_iter()
        .map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((&e, ""));
            (k.to_string(), masked(k, v))
        })
        .collect();
    let failing_unit = instances
        .iter()
        .find(|i| matches!(i.row.state, State::Crashing | State::Errored))
        .map(|i| i.row.unit.clone());
    let (errors, logs) = match &failing_unit {
        Some(u) => {
            let lines = crate::adapters::journal::failure_lines(u, user, None);
            let errors = crate::adapters::journal::error_lines_of(u, user);
            (errors, lines)
        }
        None => (
            Vec::new(),
            crate::adapters::journal::last_lines(&s.instance_units(), 10, user),
        ),
    };
    let watch = match &s.installed.watch {
        Some(w) => {
            let state =
                text(&sd.unit(w).await.unwrap_or_default(), "ActiveState").unwrap_or_default();
            Some((
                w.clone(),
                crate::status::Watching::from_active(crate::adapters::systemd::ActiveState::parse(
                    &state,
                )),
            ))
        }
        None => None,
    };
    let dropped = crate::adapters::journal::suppressed(&s.instance_units(), user);
    Ok(AppDetails {
        name: format!("{}/{}", s.namespace, s.app),
        failing,
        errors,
        command: own_command(&exec_start),
        exec_start,
        cwd: text(&p, "WorkingDirectory").filter(|d| !d.is_empty()),
        user: who(&p, user),
        unit_file: text(&p, "FragmentPath").filter(|f| !f.is_empty()),
        drop_ins: texts(&p, "DropInPaths"),
        socket,
        timer,
        limits: limits(&p),
        env,
        environment,
        instances,
        memory_controller: std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory")),
        log_limit: log_limit(&p),
        watch,
        dropped,
        logs,
    })
}

/// unitgen's environment files of the app and of its first instance, then the app's own
/// `env_file` entries (systemd's `EnvironmentFiles=` order).
fn env_files(p: &Props, env_dir: &std::path::Path, s: &Selected, first: u32) -> Vec<EnvFile> {
    let mut env: Vec<EnvFile> = [
        format!("{}/{}.env", s.namespace, s.app),
        format!("{}/{}@{first}.env", s.namespace, s.app),
    ]
    .into_iter()
    .filter_map(|name| read_env(env_dir.join(name)))
    .collect();
    let ours = env_dir.display().to_string();
    if let Some(v) = p.get("EnvironmentFiles").and_then(|v| v.try_clone().ok()) {
        if let Ok(list) = Vec::<(String, bool)>::try_from(v) {
            for (path, _) in list {
                if !path.starts_with(&ours) {
                    env.extend(read_env(PathBuf::from(path)));
                }
            }
        }
    }
    env
}

/// One environment file, its secrets masked; `None` when it does not exist.
fn read_env(path: PathBuf) -> Option<EnvFile> {
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(EnvFile {
            vars: Ok(crate::core::quote::parse_env_file(&t)
                .into_iter()
                .map(|(k, v)| {
                    let v = masked(&k, &v);
                    (k, v)
                })
                .collect()),
            path,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Some(EnvFile {
            path,
            vars: Err("only root (or the owner) can read it: sudo unitgen show".into()),
        }),
        Err(_) => None,
    }
}
