//! `unitgen reload NAME|all [-n NS]`: a rolling restart, one instance at a time.
//!
//! Each instance is restarted (or reloaded in place, when the app has `reload_signal`); the
//! next goes only once this one is ready (for `ready = "notify"`, systemd's job ends at
//! READY=1) and has stayed up for the settle time with the same process. The first instance
//! that does not come back stops the reload: the others keep serving, and the command exits 1
//! with that instance's last log lines. The listening sockets are held by systemd throughout,
//! so connections wait in the kernel's queue instead of being refused.

use std::time::{Duration, Instant};

use super::{unit_dir, Failure};
use crate::cli::{Global, ReloadArgs};
use crate::selector::select;
use crate::systemd::{block_on, num, text, Systemd, Verb};

fn snapshot(sd: &Systemd, unit: &str) -> (String, Option<u64>, Option<u64>) {
    let p = block_on(sd.unit(unit)).unwrap_or_default();
    (
        text(&p, "ActiveState").unwrap_or_default(),
        num(&p, "MainPID").filter(|&n| n > 0),
        num(&p, "NRestarts"),
    )
}

/// Reload the selected apps, instance by instance.
pub fn run(g: &Global, a: &ReloadArgs) -> Result<(), Failure> {
    let selected = select(&unit_dir(g), Some(&a.name), a.namespace.as_deref(), true)
        .map_err(Failure::Usage)?;
    let sd = block_on(Systemd::connect_within(
        g.user,
        std::time::Duration::from_secs(a.timeout),
    ))?;
    let limit = Duration::from_secs(a.timeout);
    let settle = Duration::from_millis(a.settle);
    for s in &selected {
        let units = s.instance_units();
        let in_place = s.installed.reload_in_place;
        for (done, unit) in units.iter().enumerate() {
            let (state, pid0, _) = snapshot(&sd, unit);
            let verb = if state != "active" {
                Verb::Start
            } else if in_place {
                Verb::Reload
            } else {
                Verb::Restart
            };
            let started = Instant::now();
            let r = block_on(sd.run_jobs(&[(unit.clone(), verb)], limit))
                .map_err(|e| Failure::Failed(e.to_string()))?;
            let ok = r.first().is_some_and(|r| r.ok());
            let ready = started.elapsed();
            // Stay up for the settle time, as the same process.
            let (mut state, pid1, restarts1) = snapshot(&sd, unit);
            let mut same = true;
            if ok {
                let until = Instant::now() + settle;
                while Instant::now() < until && same {
                    std::thread::sleep(Duration::from_millis(100).min(settle));
                    let (st, pid, restarts) = snapshot(&sd, unit);
                    same = st == "active" && pid == pid1 && restarts == restarts1;
                    state = st;
                }
            }
            if !ok || !same || state != "active" {
                let job = r
                    .first()
                    .map_or("no answer".to_string(), |r| r.result.to_string());
                let result = text(&block_on(sd.unit(unit)).unwrap_or_default(), "Result")
                    .unwrap_or_default();
                let logs = crate::journal::last_lines(std::slice::from_ref(unit), 15, g.user);
                let rest = units.len() - done - 1;
                return Err(Failure::Failed(format!(
                    "error: {unit} did not come back after the {} (job {job}, state {state}, result {result}); the reload stopped there{}\n  last log lines:\n{}",
                    verb.as_str(),
                    if rest > 0 { format!(" and the {rest} other instance(s) keep serving the old code") } else { String::new() },
                    logs.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
                )));
            }
            if !g.quiet {
                let pids = match (pid0, pid1) {
                    (Some(a), Some(b)) if a != b => format!("pid {a} -> {b}"),
                    (_, Some(b)) => format!("pid {b}"),
                    _ => String::new(),
                };
                println!(
                    "{} {unit}: ready in {:.1}s, {pids}",
                    verb.past(),
                    ready.as_secs_f64()
                );
            }
        }
    }
    Ok(())
}
