//! The pure core: reads input and decides, returning values. Nothing here writes a file,
//! talks to systemd or runs a process (the config checks ask the machine through the
//! [`crate::adapters::host::Host`] trait, which tests replace).

pub mod compile;
pub mod config;
pub mod diagnostic;
pub mod fleet;
pub mod import;
pub mod names;
pub mod plan;
pub mod quote;
pub mod render;
