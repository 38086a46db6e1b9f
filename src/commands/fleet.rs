//! The commands with `--host`: the same verbs, run by each host's own unitgen over ssh
//! ([`crate::ops::fleet`]), rolled host after host where they change something, and printed
//! with the host of every line.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::{Failure, Problem};
use crate::adapters::ssh::Remote;
use crate::cli::{ApplyArgs, Global, HostArgs, LogsArgs, ReloadArgs, StatusArgs, TargetArgs};
use crate::core::fleet::{self, Host, LogLine, Outcome};
use crate::ops::apply::Report;
use crate::ops::fleet::{call, each, outcome_of, roll, HostError};

/// How long a call that only reads (version, plan, status, logs) may take.
const READ_LIMIT: Duration = Duration::from_secs(60);

/// The hosts a file goes to: `--host`, else the file's `hosts`, each once, in order. None
/// (or `--local`): this machine.
pub fn hosts_for(
    h: &HostArgs,
    local: bool,
    texts: &[(PathBuf, String)],
) -> Result<Vec<Host>, Failure> {
    if local {
        return Ok(Vec::new());
    }
    let given = hosts_of(h)?;
    if !given.is_empty() {
        return Ok(given);
    }
    let mut hosts = Vec::new();
    for (path, text) in texts {
        hosts.extend(crate::core::config::hosts(path, text).map_err(Failure::Config)?);
    }
    Ok(fleet::dedup(hosts))
}

/// The `--host` values, checked.
pub fn hosts_of(h: &HostArgs) -> Result<Vec<Host>, Failure> {
    let hosts = h
        .hosts
        .iter()
        .map(|s| Host::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::usage(format!("--host {e}")))?;
    Ok(fleet::dedup(hosts))
}

fn remote(global: &Global, h: &HostArgs) -> Result<Remote, Failure> {
    if global.unit_dir.is_some() {
        return Err(Failure::Usage(
            Problem::new("--unit-dir is a directory of this machine, and --host runs on others")
                .help("leave --unit-dir out; each host uses its own systemd's directory"),
        ));
    }
    if h.remote_command.trim().is_empty() {
        return Err(Failure::usage("--remote-command cannot be empty"));
    }
    Ok(Remote {
        command: h.remote_command.clone(),
        user: global.user,
    })
}

/// Every line of `text`, prefixed with the host.
fn prefixed(host: &Host, text: &str) -> String {
    text.lines()
        .map(|l| format!("{host}: {l}\n"))
        .collect::<String>()
}

/// The error of one host, its lines indented under the host's name.
fn host_error(host: &Host, text: &str) -> String {
    let text = text.trim_end();
    let text = text.strip_prefix("error: ").unwrap_or(text);
    format!("error: {host}: {text}")
}

/// The one file of a command across hosts, with the absolute path it stands for there.
fn one_file(texts: &[(PathBuf, String)]) -> Result<(String, &str), Failure> {
    match texts {
        [(path, text)] => {
            let abs = std::path::absolute(path).map_err(|e| Failure::io(path, e))?;
            let abs = abs.to_str().ok_or_else(|| {
                Failure::usage(format!(
                    "{} is not a UTF-8 path, which --host cannot send",
                    abs.display()
                ))
            })?;
            Ok((abs.to_string(), text))
        }
        _ => Err(Failure::usage(
            "with --host, give one ecosystem file (one namespace) per command",
        )),
    }
}

/// Check every host at once with `words` (their version in the same connection), before
/// anything changes. The hosts to go on with, or the failure that stops everything.
fn preflight(
    remote: &Remote,
    hosts: &[Host],
    words: &[String],
    input: Option<&[u8]>,
    skip_unreachable: bool,
    printer: crate::printer::Printer,
) -> Result<(Vec<Host>, Vec<Outcome>, String), Failure> {
    let checks = each(hosts, |h| call(remote, h, words, input, READ_LIMIT));
    let mut go = Vec::new();
    let mut skipped = Vec::new();
    let mut errors = Vec::new();
    let mut outcomes = Vec::new();
    for (h, r) in &checks {
        match r {
            Ok(reply) if reply.code == 0 => go.push(h.clone()),
            Ok(reply) => {
                outcomes.push(outcome_of(reply));
                errors.push(host_error(h, &reply.stderr));
            }
            Err(e) => {
                outcomes.push(Outcome::Unreachable);
                let msg = host_error(h, &e.to_string());
                if skip_unreachable {
                    skipped.push(msg);
                } else {
                    errors.push(msg);
                }
            }
        }
    }
    if !errors.is_empty() {
        errors.push("nothing was changed on any host".into());
        return Err(Failure::Hosts {
            message: errors.join("\n"),
            code: fleet::exit_code(&outcomes),
        });
    }
    if !skipped.is_empty() {
        printer.note(format!(
            "{}\n(skipped, as --skip-unreachable asks)",
            skipped.join("\n")
        ));
    }
    Ok((go, outcomes, skipped.join("\n")))
}

/// `plan --host`: each host's plan, from its own state, under its name.
pub fn plan(
    global: &Global,
    h: &HostArgs,
    texts: &[(PathBuf, String)],
    hosts: &[Host],
) -> Result<(), Failure> {
    let remote = remote(global, h)?;
    let (abs, text) = one_file(texts)?;
    per_host(
        global,
        &remote,
        hosts,
        &plan_args(&abs),
        Some(text.as_bytes()),
    )
}

/// `words` on every host at once; each host's output under its name, in the hosts' order.
fn per_host(
    global: &Global,
    remote: &Remote,
    hosts: &[Host],
    words: &[String],
    input: Option<&[u8]>,
) -> Result<(), Failure> {
    let printer = global.printer();
    let replies = each(hosts, |host| call(remote, host, words, input, READ_LIMIT));
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    for (host, r) in &replies {
        printer.output(format!("== {host}\n"));
        match r {
            Ok(reply) => {
                printer.output(&reply.stdout);
                outcomes.push(outcome_of(reply));
                if reply.code != 0 {
                    errors.push(host_error(host, &reply.stderr));
                }
            }
            Err(e) => {
                printer.output("(unreachable)\n");
                outcomes.push(Outcome::Unreachable);
                errors.push(host_error(host, &e.to_string()));
            }
        }
    }
    finish(errors, &outcomes)
}

fn plan_args(abs: &str) -> Vec<String> {
    ["plan", "--local", "--as", abs, "-"]
        .map(String::from)
        .to_vec()
}

/// The end of a command across hosts: its errors, with the worst host's exit status.
fn finish(errors: Vec<String>, outcomes: &[Outcome]) -> Result<(), Failure> {
    match fleet::exit_code(outcomes) {
        0 => Ok(()),
        code => Err(Failure::Hosts {
            message: errors.join("\n"),
            code,
        }),
    }
}

/// What one host's apply brought back.
#[derive(Debug, Default)]
struct HostApply {
    reports: Vec<Report>,
    /// What went wrong there, said for this machine.
    error: Option<String>,
}

/// The `--json` form of one host's apply.
#[derive(serde::Serialize)]
struct HostApplyJson<'a> {
    host: &'a Host,
    outcome: &'a Outcome,
    reports: &'a [Report],
    error: Option<&'a str>,
}

/// `apply --host`: check the file on every host (validation against its own state), then
/// apply it host after host (`--parallel` at a time), stopping at the first that fails.
pub fn apply(
    global: &Global,
    args: &ApplyArgs,
    texts: &[(PathBuf, String)],
    hosts: &[Host],
) -> Result<(), Failure> {
    let printer = global.printer();
    if args.dry_run {
        return plan(global, &args.input.remote, texts, hosts);
    }
    let remote = remote(global, &args.input.remote)?;
    let (abs, text) = one_file(texts)?;
    let input = Some(text.as_bytes());
    let (go, mut outcomes, _) = preflight(
        &remote,
        hosts,
        &plan_args(&abs),
        input,
        args.rollout.skip_unreachable,
        printer,
    )?;
    let mut words: Vec<String> = ["apply", "--local", "--json", "--as", &abs]
        .map(String::from)
        .to_vec();
    words.extend([
        "--timeout".into(),
        args.timeout.to_string(),
        "--settle".into(),
        args.settle.to_string(),
    ]);
    if args.no_start {
        words.push("--no-start".into());
    }
    words.push("-".into());
    // Bounded: an apply waits at most --timeout per round of jobs, and rolls instance by
    // instance; past this, the host is taken as failed.
    let limit = Duration::from_secs(args.timeout.saturating_mul(10).saturating_add(60));
    let mut errors = Vec::new();
    let mut json = Vec::new();
    let mut stopped_at = None;
    let rolled = roll(
        &go,
        args.rollout.parallel as usize,
        Duration::from_secs(args.rollout.pause),
        |host| apply_one(&remote, host, &words, input, limit),
        |host, outcome, r| {
            if args.json {
                json.push(serde_json::json!(HostApplyJson {
                    host,
                    outcome,
                    reports: &r.reports,
                    error: r.error.as_deref(),
                }));
            } else {
                for rep in &r.reports {
                    printer.text(prefixed(host, &super::apply::describe(rep)));
                }
            }
            if let Some(e) = &r.error {
                errors.push(e.clone());
                stopped_at.get_or_insert(host.clone());
            }
        },
    );
    let not_tried = not_tried(&rolled);
    if args.json {
        for (h, _) in rolled.iter().filter(|(_, o)| *o == Outcome::NotTried) {
            json.push(serde_json::json!(HostApplyJson {
                host: h,
                outcome: &Outcome::NotTried,
                reports: &[],
                error: None,
            }));
        }
        printer.json(&json)?;
    }
    if let Some(at) = stopped_at {
        errors.push(if not_tried.is_empty() {
            format!("the rollout stopped at {at}")
        } else {
            format!(
                "the rollout stopped at {at}; not changed (they run what they ran): {}",
                not_tried.join(", ")
            )
        });
    }
    outcomes.extend(rolled.into_iter().map(|(_, o)| o));
    finish(errors, &outcomes)
}

/// The hosts a rollout did not reach (it stopped before them).
fn not_tried(rolled: &[(Host, Outcome)]) -> Vec<String> {
    rolled
        .iter()
        .filter(|(_, o)| *o == Outcome::NotTried)
        .map(|(h, _)| h.to_string())
        .collect()
}

/// Apply on one host; its outcome and what it said.
fn apply_one(
    remote: &Remote,
    host: &Host,
    words: &[String],
    input: Option<&[u8]>,
    limit: Duration,
) -> (Outcome, HostApply) {
    let reply = match call(remote, host, words, input, limit) {
        Ok(r) => r,
        Err(e) => {
            return (
                Outcome::Unreachable,
                HostApply {
                    reports: Vec::new(),
                    error: Some(host_error(host, &e.to_string())),
                },
            )
        }
    };
    let reports: Vec<Report> = serde_json::from_str(reply.stdout.trim()).unwrap_or_default();
    let outcome = outcome_of(&reply);
    let failures: Vec<String> = reports
        .iter()
        .flat_map(|r| {
            Failure::units(&r.namespace, &r.failures)
                .into_iter()
                .map(|f| host_error(host, &f.to_string()))
        })
        .collect();
    let error = match outcome {
        Outcome::Done => None,
        _ if !failures.is_empty() => Some(failures.join("\n\n")),
        _ => Some(host_error(host, &reply.stderr)),
    };
    (outcome, HostApply { reports, error })
}

/// One instance of one host, as `status --json --host` prints it.
#[derive(serde::Serialize)]
struct HostInstance<'a> {
    host: &'a Host,
    #[serde(flatten)]
    instance: &'a crate::status::Instance,
}

/// `status --host`: every host at once; one table with a HOST column.
pub fn status(global: &Global, args: &StatusArgs, hosts: &[Host]) -> Result<(), Failure> {
    let remote = remote(global, &args.remote)?;
    let words = selection(&["status", "--json"], args.name.as_deref(), &args.namespace);
    let replies = each(hosts, |h| call(&remote, h, &words, None, READ_LIMIT));
    let mut rows: Vec<(Host, crate::status::Instance)> = Vec::new();
    let mut errors = Vec::new();
    let mut outcomes = Vec::new();
    for (h, r) in replies {
        match r {
            Ok(reply) if reply.code == 0 => {
                match serde_json::from_str::<Vec<crate::status::Instance>>(reply.stdout.trim()) {
                    Ok(list) => {
                        rows.extend(list.into_iter().map(|i| (h.clone(), i)));
                        outcomes.push(Outcome::Done);
                    }
                    Err(e) => {
                        errors.push(host_error(
                            &h,
                            &format!("its status --json cannot be read: {e}"),
                        ));
                        outcomes.push(Outcome::Failed);
                    }
                }
            }
            Ok(reply) => {
                errors.push(host_error(&h, &reply.stderr));
                outcomes.push(outcome_of(&reply));
            }
            Err(e) => {
                errors.push(host_error(&h, &e.to_string()));
                outcomes.push(Outcome::Unreachable);
            }
        }
    }
    if args.json {
        let list: Vec<HostInstance> = rows
            .iter()
            .map(|(host, instance)| HostInstance { host, instance })
            .collect();
        global.printer().json(&list)?;
    } else {
        let hosts_col: Vec<Host> = rows.iter().map(|(h, _)| h.clone()).collect();
        let instances: Vec<crate::status::Instance> = rows.into_iter().map(|(_, i)| i).collect();
        super::status::print_table(global.printer(), &instances, &[], Some(&hosts_col));
    }
    finish(errors, &outcomes)
}

/// `logs --host`: every host's lines in time order, each prefixed with its host; with
/// `--follow`, then each new line as it comes.
pub fn logs(global: &Global, args: &LogsArgs, hosts: &[Host]) -> Result<(), Failure> {
    let remote = remote(global, &args.remote)?;
    let tty = std::io::stdout().is_terminal();
    let follow = args.follow || (tty && !args.nostream);
    let color = global.colored(tty);
    let mut words = selection(&["logs", "--json"], args.name.as_deref(), &args.namespace);
    words.extend(["--lines".into(), args.lines.to_string()]);
    if args.err {
        words.push("--err".into());
    }
    if let Some(since) = &args.since {
        words.extend(["--since".into(), since.clone()]);
    }
    let print = |out: &mut std::io::StdoutLock, l: &LogLine| -> std::io::Result<()> {
        if args.json {
            let mut v: serde_json::Value =
                serde_json::from_str(&l.json).unwrap_or(serde_json::Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("host".into(), serde_json::Value::String(l.host.to_string()));
            }
            writeln!(out, "{v}")
        } else {
            writeln!(
                out,
                "{} {}",
                l.host,
                super::logs::format(&l.json, global.user, color)
            )
        }
    };
    if follow {
        return follow_logs(&remote, hosts, &words, print);
    }
    words.push("--nostream".into());
    let replies = each(hosts, |h| call(&remote, h, &words, None, READ_LIMIT));
    let mut per_host = Vec::new();
    let mut errors = Vec::new();
    let mut outcomes = Vec::new();
    for (h, r) in replies {
        match r {
            Ok(reply) => {
                per_host.push(
                    reply
                        .stdout
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| LogLine::parse(&h, l))
                        .collect::<Vec<_>>(),
                );
                outcomes.push(outcome_of(&reply));
                if reply.code != 0 {
                    errors.push(host_error(&h, &reply.stderr));
                }
            }
            Err(e) => {
                errors.push(host_error(&h, &e.to_string()));
                outcomes.push(Outcome::Unreachable);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    for l in fleet::merge_logs(per_host) {
        if print(&mut out, &l).is_err() {
            return Ok(()); // the reader went away
        }
    }
    drop(out);
    finish(errors, &outcomes)
}

/// Follow the logs of every host: one ssh each, their lines printed as they come.
fn follow_logs(
    remote: &Remote,
    hosts: &[Host],
    words: &[String],
    print: impl Fn(&mut std::io::StdoutLock, &LogLine) -> std::io::Result<()>,
) -> Result<(), Failure> {
    let mut words = words.to_vec();
    words.push("--follow".into());
    let (tx, rx) = std::sync::mpsc::channel::<Result<LogLine, String>>();
    let mut children = Vec::new();
    for h in hosts {
        let mut child = remote
            .spawn(h, &words, true)
            .map_err(|e| Failure::failed(format!("{h}: {e}")))?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (out_tx, host) = (tx.clone(), h.clone());
        std::thread::spawn(move || {
            let tx = out_tx;
            let mut lines = BufReader::new(stdout).lines();
            let version = lines.next().and_then(Result::ok).unwrap_or_default();
            if let Err(e) = fleet::check_version(&version) {
                let _ = tx.send(Err(host_error(&host, &format!("{e:?}"))));
                return;
            }
            for line in lines {
                let Ok(line) = line else { break };
                if tx.send(Ok(LogLine::parse(&host, &line))).is_err() {
                    break;
                }
            }
        });
        let (tx, host) = (tx.clone(), h.clone());
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(
                &mut std::io::Read::take(stderr, crate::adapters::ssh::MAX_REPLY),
                &mut text,
            );
            if !text.trim().is_empty() {
                let _ = tx.send(Err(host_error(&host, &text)));
            }
        });
        children.push(child);
    }
    drop(tx);
    let mut out = std::io::stdout().lock();
    for msg in rx {
        match msg {
            Ok(l) => {
                if print(&mut out, &l).is_err() {
                    break;
                }
                let _ = out.flush();
            }
            Err(e) => eprintln!("{e}"),
        }
    }
    for c in &mut children {
        crate::adapters::process::kill_group(c);
        let _ = c.wait();
    }
    Ok(())
}

/// `reload --host`: host after host (`--parallel` at a time), each reloading its instances
/// one by one; the first host that fails stops it.
pub fn reload(global: &Global, args: &ReloadArgs, hosts: &[Host]) -> Result<(), Failure> {
    let ReloadArgs {
        remote,
        rollout,
        timeout,
        ..
    } = args;
    let mut words = selection(&["reload"], Some(&args.name), &args.namespace);
    words.extend(["--settle".into(), args.settle.to_string()]);
    rolling(global, remote, rollout, hosts, words, *timeout)
}

/// `start|stop|restart|delete --host`: host after host, the first that fails stops it.
pub fn act(global: &Global, verb: &str, args: &TargetArgs, hosts: &[Host]) -> Result<(), Failure> {
    let TargetArgs {
        remote,
        rollout,
        timeout,
        ..
    } = args;
    let words = selection(&[verb], Some(&args.name), &args.namespace);
    rolling(global, remote, rollout, hosts, words, *timeout)
}

/// The remote command `command NAME -n NS` for the apps the user selected.
fn selection(command: &[&str], name: Option<&str>, namespace: &Option<String>) -> Vec<String> {
    let mut words: Vec<String> = command.iter().map(|w| w.to_string()).collect();
    words.extend(name.map(str::to_string));
    if let Some(ns) = namespace {
        words.extend(["-n".into(), ns.clone()]);
    }
    words
}

/// Run `words --timeout TIMEOUT` on every host, batch after batch, after checking that every
/// host answers.
fn rolling(
    global: &Global,
    h: &HostArgs,
    rollout: &crate::cli::RolloutArgs,
    hosts: &[Host],
    mut words: Vec<String>,
    timeout: u64,
) -> Result<(), Failure> {
    words.extend(["--timeout".into(), timeout.to_string()]);
    let words = &words;
    let printer = global.printer();
    let remote = remote(global, h)?;
    let (go, mut outcomes, _) = preflight(
        &remote,
        hosts,
        &["--version".to_string()],
        None,
        rollout.skip_unreachable,
        printer,
    )?;
    let limit = Duration::from_secs(timeout.saturating_mul(10).saturating_add(60));
    let mut errors = Vec::new();
    let mut stopped_at = None;
    let rolled = roll(
        &go,
        rollout.parallel as usize,
        Duration::from_secs(rollout.pause),
        |host| match call(&remote, host, words, None, limit) {
            Ok(reply) => (outcome_of(&reply), Ok(reply)),
            Err(e) => (Outcome::Unreachable, Err(e)),
        },
        |host, outcome, r: &Result<crate::adapters::ssh::Reply, HostError>| {
            match r {
                Ok(reply) => {
                    printer.text(prefixed(host, &reply.stdout));
                    if !outcome.ok() {
                        errors.push(host_error(host, &reply.stderr));
                    }
                }
                Err(e) => errors.push(host_error(host, &e.to_string())),
            }
            if !outcome.ok() {
                stopped_at.get_or_insert(host.clone());
            }
        },
    );
    let not_tried = not_tried(&rolled);
    if let (Some(at), false) = (stopped_at, not_tried.is_empty()) {
        errors.push(format!(
            "stopped at {at}; not done on: {}",
            not_tried.join(", ")
        ));
    }
    outcomes.extend(rolled.into_iter().map(|(_, o)| o));
    finish(errors, &outcomes)
}

/// `show --host`: each host's view of the app, under its name.
pub fn show(global: &Global, args: &TargetArgs, hosts: &[Host]) -> Result<(), Failure> {
    let remote = remote(global, &args.remote)?;
    let words = selection(&["show"], Some(&args.name), &args.namespace);
    per_host(global, &remote, hosts, &words, None)
}
