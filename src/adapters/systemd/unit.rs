//! A loaded unit as systemd reports it: typed states instead of strings.

use std::path::PathBuf;

/// systemd's `ActiveState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActiveState {
    /// Running (or, for a oneshot with `RemainAfterExit=`, done).
    Active,
    /// Running and re-reading its configuration.
    Reloading,
    /// Not running.
    #[default]
    Inactive,
    /// Not running, and the last run failed.
    Failed,
    /// Starting.
    Activating,
    /// Stopping.
    Deactivating,
    /// Being cleaned up or otherwise maintained.
    Maintenance,
}

impl ActiveState {
    /// Read systemd's word; an unknown one is taken as inactive.
    pub fn parse(s: &str) -> Self {
        match s {
            "active" => Self::Active,
            "reloading" => Self::Reloading,
            "failed" => Self::Failed,
            "activating" => Self::Activating,
            "deactivating" => Self::Deactivating,
            "maintenance" => Self::Maintenance,
            _ => Self::Inactive,
        }
    }

    /// systemd's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Reloading => "reloading",
            Self::Inactive => "inactive",
            Self::Failed => "failed",
            Self::Activating => "activating",
            Self::Deactivating => "deactivating",
            Self::Maintenance => "maintenance",
        }
    }

    /// Has processes or is about to: active, reloading or activating.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Active | Self::Reloading | Self::Activating)
    }
}

/// systemd's `LoadState`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LoadState {
    /// Read from a unit file.
    #[default]
    Loaded,
    /// No unit file (the unit is only remembered because it still runs or failed).
    NotFound,
    /// Masked: linked to /dev/null.
    Masked,
    /// Its file has an error.
    Error(String),
}

impl LoadState {
    /// Read systemd's word.
    pub fn parse(s: &str) -> Self {
        match s {
            "loaded" => Self::Loaded,
            "not-found" => Self::NotFound,
            "masked" => Self::Masked,
            other => Self::Error(other.to_string()),
        }
    }
}

/// One unit as `ListUnits` gives it: its states and its D-Bus object path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listed {
    /// Whether it runs.
    pub active: ActiveState,
    /// systemd's finer state, such as `running` or `auto-restart`.
    pub sub: String,
    /// Its object on the bus, for asking its properties.
    pub path: String,
}

/// One unit as the manager has it loaded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadedUnit {
    /// Its name.
    pub name: String,
    /// Whether it was read from a file.
    pub load: LoadState,
    /// Whether it runs.
    pub active: ActiveState,
    /// systemd's finer state, such as `running` or `auto-restart`.
    pub sub: String,
    /// The file (or a drop-in) changed on disk since systemd read it.
    pub need_daemon_reload: bool,
    /// When what runs now began, in microseconds since the epoch: the main process's start for
    /// a service, the unit's activation for anything else.
    pub started_us: Option<u64>,
    /// The main process of a service.
    pub main_pid: Option<u32>,
    /// Automatic restarts since the unit was last started by hand.
    pub restarts: Option<u64>,
    /// The file it was read from.
    pub fragment: Option<PathBuf>,
}

impl LoadedUnit {
    /// Running or about to (see [`ActiveState::is_running`]).
    pub fn is_running(&self) -> bool {
        self.active.is_running()
    }

    /// Its last run failed and it does not run now.
    pub fn is_failed(&self) -> bool {
        self.active == ActiveState::Failed
    }
}
