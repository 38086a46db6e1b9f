//! systemd over D-Bus: the manager's jobs and reload, unit state, enablement.
//!
//! The calls are async (zbus); commands drive them with [`block_on`]. Every wait has a time
//! limit and names what it waited for when it gives up.

mod timer;
pub mod unit;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::StreamExt;
use zbus::names::InterfaceName;
use zbus::{Connection, OwnedVariant};
use zbus_systemd::systemd1::ManagerProxy;

pub use timer::{sleep, timeout};
pub use unit::{ActiveState, Listed, LoadState, LoadedUnit};

/// How many calls unitgen has in flight at once: the system bus refuses more than 128 pending
/// replies per connection (dbus-daemon's `max_replies_per_connection`), and a refused call
/// would read as a missing value.
const IN_FLIGHT: usize = 96;

/// How long one call to the manager may take before unitgen gives up on it, unless the
/// command says otherwise (`--timeout`).
pub const CALL_LIMIT: Duration = Duration::from_secs(30);

/// Run a future to completion on this thread.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    zbus::block_on(f)
}

/// Something went wrong talking to systemd.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bus could not be reached.
    #[error("cannot connect to the {which} systemd over D-Bus: {source}")]
    Connect {
        /// "system" or "user".
        which: &'static str,
        /// The cause.
        source: zbus::Error,
        /// What to do.
        help: &'static str,
    },
    /// The manager did not answer in time.
    #[error("systemd did not answer within {secs} s when asked to {what}")]
    NoAnswer {
        /// What unitgen asked for.
        what: String,
        /// How long it waited.
        secs: u64,
    },
    /// A call failed.
    #[error("systemd refused to {what}: {source}")]
    Call {
        /// What unitgen asked for.
        what: String,
        /// The cause.
        source: zbus::Error,
    },
}

impl Error {
    /// What to do about it.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            Error::Connect { help, .. } => Some(help),
            Error::NoAnswer { .. } => {
                Some("is systemd running and its D-Bus reachable? (systemctl is-system-running)")
            }
            Error::Call { .. } => None,
        }
    }
}

/// What to do to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    /// Start it.
    Start,
    /// Stop it.
    Stop,
    /// Restart it.
    Restart,
    /// Reload it in place (`ExecReload=`).
    Reload,
}

impl Verb {
    /// The word for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
            Verb::Reload => "reload",
        }
    }

    /// The word for what was done.
    pub fn past(self) -> &'static str {
        match self {
            Verb::Start => "started",
            Verb::Stop => "stopped",
            Verb::Restart => "restarted",
            Verb::Reload => "reloaded",
        }
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// It reached its goal.
    Done,
    /// systemd's other job results: `failed`, `timeout`, `dependency`, `canceled`, `skipped`…
    Ended(String),
    /// systemd refused to queue it.
    Refused(String),
    /// The time limit ran out before systemd said how it ended.
    NoAnswer,
}

impl JobOutcome {
    fn from_result(r: &str) -> Self {
        if r == "done" {
            Self::Done
        } else {
            Self::Ended(r.to_string())
        }
    }
}

impl std::fmt::Display for JobOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Done => f.write_str("done"),
            Self::Ended(r) => f.write_str(r),
            Self::Refused(e) => write!(f, "refused: {e}"),
            Self::NoAnswer => f.write_str("no answer in time"),
        }
    }
}

/// The outcome of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResult {
    /// The unit.
    pub unit: String,
    /// What was asked.
    pub verb: Verb,
    /// How it ended.
    pub result: JobOutcome,
}

impl JobResult {
    /// Did the job reach its goal?
    pub fn ok(&self) -> bool {
        self.result == JobOutcome::Done
    }
}

/// A unit's properties, by name (interfaces `Unit` and, for services, `Service`).
pub type Props = HashMap<String, OwnedVariant>;

/// A connection to one systemd manager.
pub struct Systemd {
    conn: Connection,
    subscribed: std::sync::atomic::AtomicBool,
    /// The manager object.
    pub manager: ManagerProxy<'static>,
    /// How long one call may take.
    limit: Duration,
    /// The calling user's manager, not the system's.
    user: bool,
}

fn call(what: impl Into<String>) -> impl FnOnce(zbus::Error) -> Error {
    let what = what.into();
    move |source| Error::Call { what, source }
}

/// One call, bounded by `limit`.
async fn bounded<T>(
    limit: Duration,
    what: impl Into<String>,
    f: impl std::future::Future<Output = zbus::Result<T>>,
) -> Result<T, Error> {
    let what = what.into();
    match timeout(limit, f).await {
        Some(r) => r.map_err(call(what)),
        None => Err(Error::NoAnswer {
            what,
            secs: limit.as_secs(),
        }),
    }
}

impl Systemd {
    /// One call to the manager, bounded by the connection's time limit.
    async fn bounded<T>(
        &self,
        what: impl Into<String>,
        f: impl std::future::Future<Output = zbus::Result<T>>,
    ) -> Result<T, Error> {
        bounded(self.limit, what, f).await
    }

    /// Connect to the system manager, or with `user` to the calling user's manager.
    pub async fn connect(user: bool) -> Result<Self, Error> {
        Self::connect_within(user, CALL_LIMIT).await
    }

    /// [`Systemd::connect`], each call (the connection too) bounded by `limit`.
    pub async fn connect_within(user: bool, limit: Duration) -> Result<Self, Error> {
        let limit = limit.clamp(Duration::from_secs(1), CALL_LIMIT);
        let what = if user {
            "accept a connection (user manager)"
        } else {
            "accept a connection"
        };
        let conn = timeout(limit, Self::open(user))
            .await
            .ok_or_else(|| Error::NoAnswer {
                what: what.into(),
                secs: limit.as_secs(),
            })??;
        let manager = bounded(limit, "open the manager object", ManagerProxy::new(&conn)).await?;
        Ok(Systemd {
            conn,
            manager,
            subscribed: Default::default(),
            limit,
            user,
        })
    }

    /// Is this the calling user's manager (`--user`)?
    pub fn is_user(&self) -> bool {
        self.user
    }

    async fn open(user: bool) -> Result<Connection, Error> {
        Ok(if user {
            Connection::session().await.map_err(|source| Error::Connect {
                which: "user",
                source,
                help: "is a user manager running for you (loginctl enable-linger $USER) and XDG_RUNTIME_DIR set?",
            })?
        } else {
            Connection::system()
                .await
                .map_err(|source| Error::Connect {
                    which: "system",
                    source,
                    help: "is systemd the init system here? (use --user for your own manager)",
                })?
        })
    }

    /// `daemon-reload`: read the unit files again. Returns when it is done.
    pub async fn reload(&self) -> Result<(), Error> {
        self.bounded("reload its unit files", self.manager.reload())
            .await
    }

    /// Run jobs at once and wait for each to finish, up to `limit` in all.
    /// [`Systemd::run_jobs`] after forgetting the failure of every unit the jobs start (a
    /// failed unit past its start limit starts again only once systemd forgets it).
    pub async fn run_jobs_afresh(
        &self,
        jobs: &[(String, Verb)],
        limit: Duration,
    ) -> Result<Vec<JobResult>, Error> {
        let starts: Vec<String> = jobs
            .iter()
            .filter(|(_, v)| *v != Verb::Stop)
            .map(|(u, _)| u.clone())
            .collect();
        self.reset_failed(&starts).await;
        self.run_jobs(jobs, limit).await
    }

    pub async fn run_jobs(
        &self,
        jobs: &[(String, Verb)],
        limit: Duration,
    ) -> Result<Vec<JobResult>, Error> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        // Listen before asking, so that no JobRemoved is missed.
        let mut removed = self
            .bounded("send job signals", self.manager.receive_job_removed())
            .await?;
        // One subscription per connection is enough; systemd refuses a second.
        if !self
            .subscribed
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            self.bounded("subscribe to job signals", self.manager.subscribe())
                .await?;
        }
        // The signals are read while the calls are made: a stream nobody reads fills up, and
        // the connection then stops reading replies too (a hang with many jobs).
        let finished: RefCell<HashMap<String, String>> = RefCell::default();
        let wanted: RefCell<Option<Vec<String>>> = RefCell::default();
        let all_in = || {
            let f = finished.borrow();
            wanted
                .borrow()
                .as_ref()
                .is_some_and(|w| w.iter().all(|j| f.contains_key(j)))
        };
        let collect = async {
            while let Some(sig) = removed.next().await {
                if let Ok(args) = sig.args() {
                    finished
                        .borrow_mut()
                        .insert(args.job.to_string(), args.result.to_string());
                }
                if all_in() {
                    break;
                }
            }
        };
        let asked: RefCell<Vec<(JobResult, Option<String>)>> = RefCell::default();
        let calls = async {
            for (unit, verb) in jobs {
                let mode = "replace".to_string();
                let r = match verb {
                    Verb::Start => self.manager.start_unit(unit.clone(), mode).await,
                    Verb::Stop => self.manager.stop_unit(unit.clone(), mode).await,
                    Verb::Restart => self.manager.restart_unit(unit.clone(), mode).await,
                    Verb::Reload => self.manager.reload_unit(unit.clone(), mode).await,
                };
                let (result, job) = match r {
                    Ok(job) => (JobOutcome::NoAnswer, Some(job.to_string())),
                    Err(e) => (JobOutcome::Refused(e.to_string()), None),
                };
                asked.borrow_mut().push((
                    JobResult {
                        unit: unit.clone(),
                        verb: *verb,
                        result,
                    },
                    job,
                ));
            }
        };
        let both = async {
            let mut collect = std::pin::pin!(collect);
            if let futures_util::future::Either::Right(((), calls)) =
                futures_util::future::select(std::pin::pin!(calls), collect.as_mut()).await
            {
                calls.await;
            }
            *wanted.borrow_mut() = Some(
                asked
                    .borrow()
                    .iter()
                    .filter_map(|(_, j)| j.clone())
                    .collect(),
            );
            if !all_in() {
                collect.await;
            }
        };
        // The calls are bounded too: what systemd did not answer in time stays "no answer".
        timeout(limit, both).await;
        let f = finished.borrow();
        let mut out = asked.take();
        out.extend(jobs[out.len()..].iter().map(|(unit, verb)| {
            (
                JobResult {
                    unit: unit.clone(),
                    verb: *verb,
                    result: JobOutcome::NoAnswer,
                },
                None,
            )
        }));
        Ok(out
            .into_iter()
            .map(|(mut r, job)| {
                if let Some(res) = job.and_then(|j| f.get(&j).cloned()) {
                    r.result = JobOutcome::from_result(&res);
                }
                r
            })
            .collect())
    }

    /// Loaded units whose names match any of the glob `patterns`, by name.
    pub async fn list(&self, patterns: &[String]) -> Result<BTreeMap<String, Listed>, Error> {
        let units = self
            .bounded(
                "list units",
                self.manager
                    .list_units_by_patterns(Vec::new(), patterns.to_vec()),
            )
            .await?;
        Ok(units
            .into_iter()
            .map(|u| {
                let listed = Listed {
                    active: ActiveState::parse(&u.3),
                    sub: u.4,
                    path: u.6.to_string(),
                };
                (u.0, listed)
            })
            .collect())
    }

    /// The properties of many units at once (`Unit` and, where it applies, `Service` or
    /// `Socket`), fetched as concurrent calls over the one connection.
    pub async fn properties(&self, paths: &[(String, String)]) -> Vec<(String, Props)> {
        let one = |name: String, path: String| async move {
            let mut all = Props::new();
            let iface = if name.ends_with(".service") {
                Some("org.freedesktop.systemd1.Service")
            } else if name.ends_with(".socket") {
                Some("org.freedesktop.systemd1.Socket")
            } else {
                None
            };
            if let Ok(proxy) = self.props_proxy(&path).await {
                for i in std::iter::once("org.freedesktop.systemd1.Unit").chain(iface) {
                    if let Ok(n) = InterfaceName::try_from(i) {
                        if let Ok(map) = proxy.get_all(n).await {
                            all.extend(map);
                        }
                    }
                }
            }
            (name, all)
        };
        let all = futures_util::stream::iter(paths.iter().map(|(n, p)| one(n.clone(), p.clone())))
            .buffered(IN_FLIGHT / 2)
            .collect::<Vec<_>>();
        timeout(self.limit, all).await.unwrap_or_default()
    }

    /// Only the named properties (`(interface, property)`) of many units, as one batch of
    /// concurrent `Get` calls: far cheaper for systemd than `GetAll` of every unit.
    pub async fn some_properties(
        &self,
        paths: &[(String, String)],
        wanted: &[(&str, &str)],
    ) -> Vec<(String, Props)> {
        let one = |name: String, path: String| async move {
            let mut props = Props::new();
            if let Ok(proxy) = self.props_proxy(&path).await {
                let gets = wanted.iter().map(|(iface, prop)| {
                    let proxy = &proxy;
                    async move {
                        let iface = InterfaceName::try_from(*iface).ok()?;
                        proxy
                            .get(iface, prop)
                            .await
                            .ok()
                            .map(|v| (prop.to_string(), v))
                    }
                });
                props.extend(
                    futures_util::future::join_all(gets)
                        .await
                        .into_iter()
                        .flatten(),
                );
            }
            (name, props)
        };
        let per_unit = wanted.len().max(1);
        let all = futures_util::stream::iter(paths.iter().map(|(n, p)| one(n.clone(), p.clone())))
            .buffered((IN_FLIGHT / per_unit).max(1))
            .collect::<Vec<_>>();
        timeout(self.limit, all).await.unwrap_or_default()
    }

    async fn props_proxy(&self, path: &str) -> zbus::Result<zbus::fdo::PropertiesProxy<'static>> {
        zbus::fdo::PropertiesProxy::builder(&self.conn)
            .destination("org.freedesktop.systemd1")
            .path(path.to_string())
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
    }

    /// Load a unit (even an inactive one) and return its properties.
    pub async fn unit(&self, name: &str) -> Result<Props, Error> {
        let path = self
            .bounded(
                format!("load {name}"),
                self.manager.load_unit(name.to_string()),
            )
            .await?;
        let mut v = self
            .properties(&[(name.to_string(), path.to_string())])
            .await;
        Ok(v.pop().map(|p| p.1).unwrap_or_default())
    }

    /// Is the unit file enabled?
    pub async fn is_enabled(&self, name: &str) -> bool {
        matches!(
            timeout(
                self.limit,
                self.manager.get_unit_file_state(name.to_string())
            )
            .await
            .and_then(Result::ok)
            .as_deref(),
            Some("enabled") | Some("enabled-runtime")
        )
    }

    /// Enable a unit file for boot (its `[Install]` section).
    pub async fn enable(&self, file: &str) -> Result<(), Error> {
        self.bounded(
            format!("enable {file}"),
            self.manager
                .enable_unit_files(vec![file.to_string()], false, true),
        )
        .await
        .map(|_| ())
    }

    /// Disable a unit file.
    pub async fn disable(&self, file: &str) -> Result<(), Error> {
        self.bounded(
            format!("disable {file}"),
            self.manager
                .disable_unit_files(vec![file.to_string()], false),
        )
        .await
        .map(|_| ())
    }

    /// Send a signal to the main process of a unit.
    pub async fn kill(&self, unit: &str, signal: i32) -> Result<(), Error> {
        self.bounded(
            format!("signal {unit}"),
            self.manager
                .kill_unit(unit.to_string(), "main".to_string(), signal),
        )
        .await
    }

    /// Forget a failed state (and the start-limit counter) so the unit can be started again.
    pub async fn reset_failed(&self, units: &[String]) {
        for u in units {
            let _ = timeout(self.limit, self.manager.reset_failed_unit(u.clone())).await;
        }
    }

    /// The loaded units whose names match `patterns` (globs) or are in `names`, with what
    /// deciding on them needs: states, whether their file changed on disk, when what runs now
    /// began. A unit systemd does not have loaded is absent.
    pub async fn loaded(
        &self,
        patterns: &[String],
        names: &[String],
    ) -> Result<BTreeMap<String, LoadedUnit>, Error> {
        let mut all: Vec<String> = patterns.to_vec();
        all.extend(names.iter().cloned());
        let listed = if all.is_empty() {
            Vec::new()
        } else {
            self.bounded(
                "list units",
                self.manager.list_units_by_patterns(Vec::new(), all),
            )
            .await?
        };
        let paths: Vec<(String, String)> = listed
            .iter()
            .map(|u| (u.0.clone(), u.6.to_string()))
            .collect();
        const UNIT: &str = "org.freedesktop.systemd1.Unit";
        const SERVICE: &str = "org.freedesktop.systemd1.Service";
        let props = timeout(
            self.limit,
            self.some_properties(
                &paths,
                &[
                    (UNIT, "NeedDaemonReload"),
                    (UNIT, "FragmentPath"),
                    (UNIT, "ActiveEnterTimestamp"),
                    (SERVICE, "ExecMainStartTimestamp"),
                    (SERVICE, "MainPID"),
                    (SERVICE, "NRestarts"),
                ],
            ),
        )
        .await
        .ok_or_else(|| Error::NoAnswer {
            what: "tell the state of units".into(),
            secs: self.limit.as_secs(),
        })?;
        let mut out = BTreeMap::new();
        for (u, (_, p)) in listed.into_iter().zip(props) {
            let is_service = u.0.ends_with(".service");
            let started = if is_service {
                num(&p, "ExecMainStartTimestamp")
            } else {
                num(&p, "ActiveEnterTimestamp")
            };
            out.insert(
                u.0.clone(),
                LoadedUnit {
                    name: u.0,
                    load: LoadState::parse(&u.2),
                    active: ActiveState::parse(&u.3),
                    sub: u.4,
                    need_daemon_reload: p
                        .get("NeedDaemonReload")
                        .and_then(|v| bool::try_from(v).ok())
                        .unwrap_or(false),
                    started_us: started.filter(|&t| t > 0),
                    main_pid: num(&p, "MainPID")
                        .filter(|&n| n > 0)
                        .and_then(|n| u32::try_from(n).ok()),
                    restarts: num(&p, "NRestarts"),
                    fragment: text(&p, "FragmentPath")
                        .filter(|f| !f.is_empty())
                        .map(std::path::PathBuf::from),
                },
            );
        }
        Ok(out)
    }
}

/// Read a property as a number, if it has one (systemd's "unset" maximum is `None`).
pub fn num(p: &Props, key: &str) -> Option<u64> {
    let v = p.get(key)?;
    let n = u64::try_from(v)
        .ok()
        .or_else(|| u32::try_from(v).ok().map(u64::from))
        .or_else(|| i32::try_from(v).ok().and_then(|n| u64::try_from(n).ok()))?;
    (n != u64::MAX).then_some(n)
}

/// Read a property as text.
pub fn text(p: &Props, key: &str) -> Option<String> {
    p.get(key)
        .and_then(|v| <&str>::try_from(v).ok())
        .map(str::to_string)
}

/// Read a property as a list of text.
pub fn texts(p: &Props, key: &str) -> Vec<String> {
    p.get(key)
        .and_then(|v| v.try_clone().ok())
        .and_then(|v| Vec::<String>::try_from(v).ok())
        .unwrap_or_default()
}

/// The argument vectors of an `Exec*` property (`a(sasbttttuii)`), as systemd runs them.
pub fn exec_argvs(p: &Props, key: &str) -> Vec<Vec<String>> {
    type Exec = (String, Vec<String>, bool, u64, u64, u64, u64, u32, i32, i32);
    p.get(key)
        .and_then(|v| v.try_clone().ok())
        .and_then(|v| Vec::<Exec>::try_from(v).ok())
        .map(|list| list.into_iter().map(|e| e.1).collect())
        .unwrap_or_default()
}

/// A list of pairs of text (`a(ss)`), such as a socket's `Listen`.
pub fn text_pairs(p: &Props, key: &str) -> Vec<(String, String)> {
    p.get(key)
        .and_then(|v| v.try_clone().ok())
        .and_then(|v| Vec::<(String, String)>::try_from(v).ok())
        .unwrap_or_default()
}

/// A timer's calendar specs (`TimersCalendar`, `a(sst)`): the spec as written.
pub fn calendars(p: &Props) -> Vec<String> {
    p.get("TimersCalendar")
        .and_then(|v| v.try_clone().ok())
        .and_then(|v| Vec::<(String, String, u64)>::try_from(v).ok())
        .map(|l| l.into_iter().map(|t| t.1).collect())
        .unwrap_or_default()
}
