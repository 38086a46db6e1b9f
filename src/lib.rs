//! unitgen: a systemd-native process manager.
//!
//! - [`core`]: the pure core decides and returns values, and touches nothing: [`core::config`]
//!   reads and checks an ecosystem file, [`core::compile`] decides the units, [`core::render`]
//!   writes their text through [`core::quote`], [`core::names`] builds and reads back unit
//!   names, [`core::plan`] decides what changes and which units stop, start, restart or roll,
//!   [`core::fleet`] decides a rollout across hosts, [`core::import`] turns a PM2 file into ours.
//! - [`adapters`]: the outside world, thin and deciding nothing: [`adapters::unit_dir`] (files),
//!   [`adapters::systemd`] (D-Bus), [`adapters::journal`], [`adapters::lock`],
//!   [`adapters::host`] (the machine: users, paths, ports), [`adapters::process`] (a bounded
//!   run of a command), [`adapters::ssh`].
//! - [`status`], [`show`] and [`monit`] turn what was read of systemd's state into rows and
//!   views; [`selector`] reads which installed apps a name means; [`watch`] decides when a
//!   watched app restarts.
//! - The operations ([`ops`]) carry a plan out through the adapters and return a report
//!   ([`ops::status`] and [`ops::show`] read what the views need); the
//!   [`commands`] build options, call one operation and print through the [`printer`]; every
//!   command ends with an [`error::Failure`] or success.

pub mod adapters;
pub mod cli;
pub mod commands;
pub mod core;
pub mod error;
pub mod monit;
pub mod ops;
pub mod preload;
pub mod printer;
pub mod selector;
pub mod show;
pub mod status;
pub mod watch;
