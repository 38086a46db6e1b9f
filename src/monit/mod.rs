//! `unitgen monit`'s decisions, kept pure: [`model`] holds the state of the screen and turns
//! samples of systemd's state, log lines and keys into that state (and into the effects the
//! command carries out), [`view`] draws a model, [`input`] maps a key to an action.
//! `src/commands/monit.rs` runs them: the terminal, the threads, systemd and the journal.

pub mod input;
pub mod model;
pub mod view;

/// `unitgen monit --help`.
pub const LONG_HELP: &str = "\
A live view of every instance of the installed apps (or of NAME, or of namespace NS): state, \
PID, CPU %, memory, restarts and uptime, refreshed every second from systemd (one round of \
D-Bus calls and the cgroups' files), and below it the selected app's log lines as they reach \
the journal. Works in an 80x24 terminal and over SSH; columns give way as the terminal narrows.

CPU is the share of one core an instance used between the last two refreshes: the difference \
of its cgroup's cpu.stat usage_usec over the time between the two readings (so 200% is two \
cores). It shows `-` where the cgroup has no cpu.stat (cgroup v1), and the status line says so.

Keys: j/k or the arrows select (PgUp/PgDn, g/G); r restarts the selected app (every instance \
at once, as `unitgen restart`); l reloads it (rolling, one instance after the other, as \
`unitgen reload`; the screen keeps moving and shows where it is); s stops it and S starts it \
(with its socket); ? shows the help; q, Esc or Ctrl-C quits. The terminal is restored on \
every way out, a closed terminal, SIGTERM and a crash included.";
