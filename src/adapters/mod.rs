//! The adapters: thin layers over the outside world (the unit directory, systemd over D-Bus,
//! the journal, locks, the machine's users and paths, bounded runs of a command, ssh). They carry out and report; they
//! decide nothing.

pub mod host;
pub mod journal;
pub mod lock;
pub mod process;
pub mod ssh;
pub mod systemd;
pub mod unit_dir;
