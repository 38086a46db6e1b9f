//! `unitgen show NAME [-n NS]`: one app in depth.

use super::{unit_dir, Failure};
use crate::cli::{Global, TargetArgs};
use crate::selector::select;
use crate::status::collect;
use crate::systemd::{block_on, num, text, texts, Systemd};

/// Names of variables whose values are not printed.
fn secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "KEY",
        "CREDENTIAL",
        "PRIVATE",
        "AUTH",
        "DSN",
        "DATABASE_URL",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// Print the app's units, files, environment, limits, last exit and recent logs.
pub fn run(g: &Global, a: &TargetArgs) -> Result<(), Failure> {
    let hosts = super::fleet::hosts_of(&a.remote)?;
    if !hosts.is_empty() {
        return super::fleet::show(g, a, &hosts);
    }
    let dir = unit_dir(g);
    let selected =
        select(&dir, Some(&a.name), a.namespace.as_deref(), true).map_err(Failure::Usage)?;
    let sd = block_on(Systemd::connect_within(
        g.user,
        std::time::Duration::from_secs(10),
    ))?;
    let rows = block_on(collect(&sd, &selected))?;
    for s in &selected {
        let template = crate::names::template(&s.namespace, &s.app);
        println!("{}/{}", s.namespace, s.app);
        println!("  unit file     {}", dir.file(&template).display());
        let first = crate::names::instance(
            &s.namespace,
            &s.app,
            s.installed.instances.first().copied().unwrap_or(1),
        );
        let p = block_on(sd.unit(&first)).unwrap_or_default();
        let dropins = texts(&p, "DropInPaths");
        if !dropins.is_empty() {
            println!("  drop-ins      {}", dropins.join(", "));
        }
        if let Some(sock) = &s.installed.socket {
            println!("  socket        {sock} ({})", s.installed.listen.join(", "));
        }
        if let Some(t) = &s.installed.timer {
            println!("  timer         {t}");
        }
        if let Some(w) = &s.installed.watch {
            let state = block_on(sd.unit(w))
                .ok()
                .and_then(|p| text(&p, "ActiveState"))
                .unwrap_or_default();
            let word = crate::status::Watching::from_active(&state).as_str();
            println!("  watch         {w} ({word}; `journalctl -u {w}` says what it saw)");
        }
        println!("  instances     {}", s.installed.instances.len());
        // The variables are in environment files only root (or the user) can read.
        let env = crate::unit_dir::EnvDir::new(super::target(g).env_dir);
        let i = s.installed.instances.first().copied().unwrap_or(1);
        println!(
            "  environment   {}",
            env.file(&format!("{}/{}.env", s.namespace, s.app))
                .display()
        );
        for name in [
            format!("{}/{}.env", s.namespace, s.app),
            format!("{}/{}@{i}.env", s.namespace, s.app),
        ] {
            match std::fs::read_to_string(env.file(&name)) {
                Ok(text) => {
                    for (k, v) in crate::quote::parse_env_file(&text) {
                        println!(
                            "    {k}={}",
                            if secret(&k) { "********" } else { v.as_str() }
                        );
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    println!("    (only root can read it: sudo unitgen show)");
                    break;
                }
                Err(_) => {}
            }
        }
        for e in texts(&p, "Environment") {
            let (k, v) = e.split_once('=').unwrap_or((&e, ""));
            println!("    {k}={}", if secret(k) { "********" } else { v });
        }
        for (k, label) in [
            ("MemoryMax", "memory_max"),
            ("MemoryHigh", "memory_high"),
            ("TasksMax", "tasks_max"),
        ] {
            if let Some(v) = num(&p, k) {
                println!("  {label:<13} {v} bytes");
            }
        }
        if let Some(q) = num(&p, "CPUQuotaPerSecUSec") {
            println!("  cpu_quota     {}%", q / 10_000);
        }
        let memory_note =
            std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers").unwrap_or_default();
        if !memory_note.split_whitespace().any(|c| c == "memory") {
            println!("  note          the memory controller is not available here: MemoryMax= is written but not enforced");
        }
        for r in rows
            .iter()
            .filter(|r| r.app == s.app && r.namespace == s.namespace)
        {
            let up = sd_exit(&block_on(sd.unit(&r.unit)).unwrap_or_default());
            println!(
                "  @{:<3} {:<9} pid {:<8} restarts {:<4} {up}",
                r.instance,
                r.state,
                r.pid.map_or("-".into(), |p| p.to_string()),
                r.restarts.map_or("-".into(), |n| n.to_string())
            );
        }
        let units = s.instance_units();
        match (
            num(&p, "LogRateLimitIntervalUSec"),
            num(&p, "LogRateLimitBurst"),
        ) {
            (Some(0), _) => println!("  log limit     none"),
            (Some(us), Some(n)) if n > 0 => println!(
                "  log limit     {n} lines per {} (journald drops the rest)",
                crate::config::Duration(us / 1000)
            ),
            _ => {}
        }
        let dropped = crate::journal::suppressed(&units, g.user);
        if dropped.lines > 0 {
            println!(
                "  dropped logs  {} lines, by journald's rate limit ({} times, last {}): raise log_rate_limit",
                dropped.lines,
                dropped.notes,
                dropped
                    .last_us
                    .map_or_else(|| "-".to_string(), crate::status::rfc3339)
            );
        }
        println!("  recent logs");
        for l in crate::journal::last_lines(&units, 10, g.user).lines() {
            println!("    {l}");
        }
    }
    Ok(())
}

fn sd_exit(p: &crate::systemd::Props) -> String {
    let result = text(p, "Result").unwrap_or_default();
    let code = num(p, "ExecMainStatus").unwrap_or(0);
    if result.is_empty() || (result == "success" && code == 0) {
        String::new()
    } else {
        format!("last exit: {result}, status {code}")
    }
}
