//! How long the pure half takes on a large file: load (parse with spans), validate and
//! resolve, compile and render the units of a generated 1,000-app ecosystem file, on the fixed
//! machine of the golden tests. The target is under 100 ms in release mode.
//!
//! `cargo bench --bench compile [-- APPS [RUNS]]` (needs `harness = false` for this target).

// Until Cargo.toml says `harness = false`, cargo builds this file as a libtest bench and
// `main` is unused.
#![cfg_attr(test, allow(dead_code))]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use unitgen::adapters::host::FixedHost;
use unitgen::core::compile::{compile, Target};
use unitgen::core::render::Renderer;

/// What a target is being timed for.
const TARGET: Duration = Duration::from_millis(100);

/// An ecosystem file with `n` apps that uses most keys: sockets, readiness, cron restarts,
/// dependencies, limits, env and env files, the hardening profiles.
fn ecosystem(n: usize) -> String {
    let mut t = String::from(
        r#"namespace   = "bench"
description = "Benchmark namespace: many apps, most keys"

[limits]
memory_max = "64G"
cpu_quota  = "1600%"
tasks_max  = 65536

[defaults]
user          = "deploy"
cwd           = "/srv/bench/current"
env_file      = [".env"]
env           = { NODE_ENV = "production", LOG_FORMAT = "json" }
stop_timeout  = "10s"
restart_delay = "1s"
"#,
    );
    for i in 0..n {
        t += &format!("\n[apps.app{i:04}]\n");
        t += &format!(
            "command = [\"node\", \"dist/app{i}.js\", \"--name=app {i}\", \"100%\", \"$HOME\"]\n"
        );
        // Values that need quoting, and for the apps that bind their port themselves, PORT.
        let port = if i % 4 == 1 {
            format!(", PORT = \"{}\"", 20_000 + i)
        } else {
            String::new()
        };
        t += &format!(
            "env = {{ APP_ID = \"{i}\", GREETING = \"héllo \\\"{i}\\\"\", FLAGS = \"a b\\tc\"{port} }}\n"
        );
        match i % 4 {
            // A clustered API on a socket systemd holds.
            0 => {
                t += &format!(
                    "instances = {}\nlisten = [{}]\nready = \"notify\"\nmemory_max = \"512M\"\n",
                    i % 3 + 2,
                    20_000 + i
                );
            }
            // One instance that binds PORT itself, up when the port accepts.
            1 => {
                t += &format!("env_file = [\".env\", \"app{i}.env\"]\nready = \"listen\"\n");
            }
            2 => {
                t += "hardening = \"strict\"\nread_write_paths = [\"/var/lib/bench\", \"tmp\"]\n";
                t += "max_restarts = 10\nrestart_window = \"1min\"\n";
            }
            _ => {
                t += "hardening = \"off\"\nreload_signal = \"SIGHUP\"\nstop_signal = \"SIGINT\"\n";
            }
        }
        if i % 10 == 7 {
            t += "cron_restart = \"0 4 1 * 0\"\n";
        }
        if i % 5 == 4 {
            t += &format!(
                "depends_on = [\"app{:04}\"]\nafter = [\"postgresql.service\"]\n",
                i - 1
            );
        }
    }
    t
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.parse().ok())
        .collect();
    let apps = args.first().copied().unwrap_or(1000);
    let runs = args.get(1).copied().unwrap_or(15).max(1);

    let text = ecosystem(apps);
    let path = Path::new("/srv/app/bench.toml");
    let host = FixedHost::default();

    let once = || {
        let t0 = Instant::now();
        let ns = unitgen::core::config::load(path, black_box(&text), &host)
            .unwrap_or_else(|e| panic!("the generated file does not validate:\n{e}"));
        let t1 = Instant::now();
        let units = compile(&ns, &Target::system(), &Renderer::new());
        let t2 = Instant::now();
        let bytes: usize = black_box(&units).iter().map(|u| u.content.len()).sum();
        (t1 - t0, t2 - t1, units.len(), bytes)
    };

    // Warm up: page in, fill the allocator's caches.
    for _ in 0..2 {
        once();
    }
    let mut total = Vec::with_capacity(runs);
    let mut loads = Vec::with_capacity(runs);
    let mut compiles = Vec::with_capacity(runs);
    let mut units = 0;
    let mut bytes = 0;
    for _ in 0..runs {
        let (l, c, n, b) = once();
        loads.push(l);
        compiles.push(c);
        total.push(l + c);
        units = n;
        bytes = b;
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let best = *total.iter().min().unwrap();
    let med = median(&mut total);
    println!(
        "compile {apps} apps: median {:.1} ms (best {:.1} ms), {units} units",
        ms(med),
        ms(best)
    );
    println!(
        "  load+validate median {:.1} ms, compile+render median {:.1} ms; {} KiB of unit files from a {} KiB ecosystem file; {runs} runs",
        ms(median(&mut loads)),
        ms(median(&mut compiles)),
        bytes / 1024,
        text.len() / 1024
    );
    if cfg!(debug_assertions) {
        println!(
            "  (a debug build: the {} ms target is for release mode)",
            TARGET.as_millis()
        );
    } else if med > TARGET {
        println!("  over the {} ms target", TARGET.as_millis());
    }
}
