//! unitgen: a systemd-native process manager.
//!
//! - The pure core decides and returns values: [`config`] reads and checks an ecosystem file,
//!   [`compile`] decides the units, [`render`] writes their text through [`quote`], [`names`]
//!   builds and reads back unit names, [`plan`] decides what changes and which units stop,
//!   start, restart or roll, [`status`] and [`monit`] turn systemd's state into rows.
//! - The adapters talk to the outside world and decide nothing: [`unit_dir`] (files),
//!   [`systemd`] (D-Bus), [`journal`], [`lock`], [`host`] (the machine: users, paths, ports).
//! - The operations ([`ops`]) carry a plan out through the adapters and return a report; the
//!   [`commands`] build options, call one operation and print.

pub mod cli;
pub mod commands;
pub mod compile;
pub mod config;
pub mod diagnostic;
pub mod error;
pub mod fleet;
pub mod host;
pub mod import;
pub mod journal;
pub mod lock;
pub mod monit;
pub mod names;
pub mod ops;
pub mod plan;
pub mod preload;
pub mod printer;
pub mod quote;
pub mod render;
pub mod selector;
pub mod show;
pub mod ssh;
pub mod status;
pub mod systemd;
pub mod unit_dir;
pub mod watch;
