//! unitgen: a systemd-native process manager.
//!
//! The pure core turns an ecosystem file into unit files: [`config`] reads and checks it,
//! [`compile`] decides the units, [`render`] writes their text through [`quote`]. The adapters
//! around it talk to the outside world: [`unit_dir`] for the files. The [`commands`] are
//! short scripts over both.

pub mod cli;
pub mod commands;
pub mod compile;
pub mod config;
pub mod diagnostic;
pub mod host;
pub mod import;
pub mod journal;
pub mod lock;
pub mod monit;
pub mod names;
pub mod ops;
pub mod plan;
pub mod preload;
pub mod quote;
pub mod render;
pub mod selector;
pub mod show;
pub mod status;
pub mod systemd;
pub mod unit_dir;
