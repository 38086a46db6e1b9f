//! `unitgen scale NAME N [-n NS]`: change the number of instances in place.
//!
//! The ecosystem file stays the source of truth: scale applies the file the units came from
//! with the new count ([`crate::ops::scale`]) and says which line of the file to change; the
//! next `apply` of the file resets the count to what it says.

use std::time::Duration;

use super::{load, target, unit_dir, Failure};
use crate::cli::{Global, ScaleArgs};
use crate::ops::apply::ApplyOptions;
use crate::ops::scale::{self, ScaleOptions};

/// Scale one app.
pub fn run(global: &Global, args: &ScaleArgs) -> Result<(), Failure> {
    let printer = global.printer();
    if args.count == 0 || args.count > 1024 {
        return Err(Failure::usage(
            "the number of instances is from 1 to 1024 (use `unitgen stop NAME` to stop an app)",
        ));
    }
    if args.name == "all" || args.name.contains('@') {
        return Err(Failure::usage(
            "scale takes one app, such as `unitgen scale api 4`",
        ));
    }
    let limit = Duration::from_secs(args.timeout);
    let dir = unit_dir(global);
    let first = super::selected(global, Some(&args.name), &args.namespace, true)?;
    let ns = first[0].namespace.clone();
    let _lock = crate::adapters::lock::namespace(&ns, global.user, limit)?;
    let claims = crate::adapters::lock::claims(global.user, limit)?;
    // Read again under the lock.
    let s = super::selected(global, Some(&first[0].app), &Some(ns.clone()), true)?.remove(0);
    let owned = dir.owned(&ns).map_err(|e| Failure::io(&dir.path, e))?;
    let source = owned
        .get(&crate::core::names::template(&ns, &s.app))
        .and_then(|t| crate::adapters::unit_dir::source_of(t))
        .map(std::path::PathBuf::from)
        .ok_or_else(|| {
            Failure::failed(format!(
                "the units of {ns}/{} do not name their ecosystem file: set `instances` there and run `unitgen apply FILE`",
                s.app
            ))
        })?;
    let loaded = load(global, std::slice::from_ref(&source))?.remove(0);
    if loaded.name != ns {
        return Err(Failure::failed(format!(
            "{} now describes namespace {}, not {ns}: set `instances` in the file of {ns} and apply it",
            source.display(),
            loaded.name
        )));
    }
    let opts = ScaleOptions {
        apply: ApplyOptions {
            target: target(global),
            dir,
            env_dir: crate::adapters::unit_dir::EnvDir::new(target(global).env_dir),
            default_dir: global.unit_dir.is_none(),
            start: true,
            timeout: limit,
            settle: Duration::from_millis(args.settle),
        },
        source: source.clone(),
        app: s.app.clone(),
        from: s.installed.instances.len() as u32,
        to: args.count,
    };
    let sd = super::connect(global, limit)?;
    let done = scale::scale(&sd, loaded, &opts, Some(claims))?;
    printer.line(format!(
        "{ns}/{}: {} -> {} instances",
        s.app, opts.from, args.count
    ));
    printer.line(format!("  the next `unitgen apply` resets it to what the file says: to keep it, set `instances = {}` in [apps.{}] of {}", args.count, s.app, source.display()));

    Failure::all(Failure::units(&ns, &done.failures))
}
