//! The operations behind the commands: each takes options, drives the adapters, and returns
//! what happened as values for the command to print.

pub mod apply;
pub mod delete;
pub mod fleet;
pub mod roll;
pub mod scale;
pub mod show;
pub mod status;
pub mod watch;
