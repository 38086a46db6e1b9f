//! The value types of the ecosystem file, parsed from strings as systemd reads them.
//!
//! Each parser returns `Err((what was expected, how to fix it))` so that the caller can say
//! where the bad value is.

use std::fmt;

/// A parse failure: what was expected, and a hint.
pub type ValueError = (String, Option<String>);

/// `number * mult` for a decimal number such as `"1.5"`, in integers: `None` on overflow,
/// else the product and whether it is exact (no fraction of the unit lost).
fn scaled(number: &str, mult: u64) -> Option<(u64, bool)> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let whole = int.parse::<u64>().ok()?.checked_mul(mult)?;
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        return Some((whole, true));
    }
    let den = 10u128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    let part = frac.parse::<u128>().ok()?.checked_mul(u128::from(mult))?;
    let extra = u64::try_from(part / den).ok()?;
    Some((whole.checked_add(extra)?, part % den == 0))
}

/// The leading decimal number of `s` (`"1.5"` of `"1.5s"`), if it starts with one.
fn leading_number(s: &str) -> Option<&str> {
    let int_len = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if int_len == 0 {
        return None;
    }
    let len = match s[int_len..].strip_prefix('.') {
        Some(frac) => {
            let f = frac
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(frac.len());
            if f == 0 {
                return None;
            }
            int_len + 1 + f
        }
        None => int_len,
    };
    Some(&s[..len])
}

/// A time span, kept in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub u64);

impl Duration {
    /// Parse `"500ms"`, `"4s"`, `"2min"`, `"1h"`, `"1min 30s"`, `"1d"`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let expected = || {
            (
                format!("a duration like \"500ms\", \"4s\", \"2min\" or \"1h\", found {s:?}"),
                Some("write a number followed by one of ms, s, min, h, d".to_string()),
            )
        };
        let t = s.trim();
        if t.is_empty() {
            return Err(expected());
        }
        let mut total: u64 = 0;
        let mut rest = t;
        while !rest.is_empty() {
            // A whole or decimal number, as systemd reads "1.5s".
            let number = leading_number(rest).ok_or_else(expected)?;
            rest = rest[number.len()..].trim_start();
            let unit_len = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            let mult: u64 = match unit {
                "ms" | "msec" => 1,
                "s" | "sec" | "second" | "seconds" => 1_000,
                "min" | "minute" | "minutes" | "m" => 60_000,
                "h" | "hr" | "hour" | "hours" => 3_600_000,
                "d" | "day" | "days" => 86_400_000,
                "" => {
                    return Err((
                        format!("a duration with a unit, found {s:?}"),
                        Some(format!("say which unit: \"{number}s\" or \"{number}ms\"")),
                    ))
                }
                _ => return Err(expected()),
            };
            let (ms, exact) = scaled(number, mult).ok_or_else(too_long)?;
            if !exact {
                return Err((
                    format!("a duration in whole milliseconds, found {s:?}"),
                    Some("the smallest step is 1ms".into()),
                ));
            }
            total = total.checked_add(ms).ok_or_else(too_long)?;
            rest = rest[unit_len..].trim_start();
        }
        if !Duration(total).fits_systemd() {
            return Err(too_long());
        }
        Ok(Duration(total))
    }

    /// The unit [`Display`](fmt::Display) writes this duration in, and its length in µs.
    fn unit(self) -> (u64, &'static str, u64) {
        let ms = self.0;
        if ms != 0 && ms % 3_600_000 == 0 {
            (ms / 3_600_000, "h", 3_600_000_000)
        } else if ms != 0 && ms % 60_000 == 0 {
            (ms / 60_000, "min", 60_000_000)
        } else if ms != 0 && ms % 1_000 == 0 {
            (ms / 1_000, "s", 1_000_000)
        } else {
            (ms, "ms", 1_000)
        }
    }

    /// Does systemd read this duration back as written? systemd 252's `parse_time()` refuses a
    /// number of units at or past 2^64 µs divided by the unit (`18446744073709551ms`,
    /// `18446744073709s`, `5124095576h`), and the directive is then ignored: about 584,542
    /// years, checked exactly for the unit it is written in.
    pub fn fits_systemd(self) -> bool {
        let (n, _, usec) = self.unit();
        n < u64::MAX / usec
    }
}

/// journald's rate limit for an app's lines (`LogRateLimitBurst=` lines per
/// `LogRateLimitIntervalSec=`), written `"20000/1s"`, or `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogRateLimit {
    /// At most `burst` lines per `interval`; journald drops the rest and says how many.
    Limit {
        /// Lines per interval.
        burst: u32,
        /// The interval.
        interval: Duration,
    },
    /// No limit (`LogRateLimitIntervalSec=0`).
    Off,
}

impl Default for LogRateLimit {
    /// 20,000 lines a second: an app server logging every request at a few thousand requests
    /// a second, with room for bursts (journald's own default, 10,000 per 30 s, is 333 a second).
    fn default() -> Self {
        LogRateLimit::Limit {
            burst: 20_000,
            interval: Duration(1_000),
        }
    }
}

impl LogRateLimit {
    /// Parse `"LINES/INTERVAL"` (`"20000/1s"`, `"100000/10s"`) or `"off"`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let t = s.trim();
        if t == "off" {
            return Ok(LogRateLimit::Off);
        }
        let expected = |why: &str| {
            (
                format!("a rate like \"20000/1s\" (lines per interval) or \"off\", found {s:?}{why}"),
                Some("write how many lines, a slash, and the interval, like log_rate_limit = \"20000/1s\"".to_string()),
            )
        };
        let Some((n, d)) = t.split_once('/') else {
            return Err(expected(""));
        };
        let burst = match n.trim().replace('_', "").parse::<u64>() {
            Ok(0) => {
                return Err((
                    format!("at least 1 line per interval, found {s:?}"),
                    Some("to turn the limit off, write log_rate_limit = \"off\"".into()),
                ))
            }
            Ok(b) => u32::try_from(b).map_err(|_| {
                (
                    format!("at most 4294967295 lines per interval, found {s:?}"),
                    Some("write a smaller number, or \"off\" for no limit".into()),
                )
            })?,
            Err(_) => return Err(expected(": the part before the slash is not a number")),
        };
        let interval = match Duration::parse(d.trim()) {
            Ok(Duration(0)) => {
                return Err((
                    format!("an interval longer than 0, found {s:?}"),
                    Some("to turn the limit off, write log_rate_limit = \"off\"".into()),
                ))
            }
            Ok(i) => i,
            Err((msg, help)) => return Err((format!("{msg} after the slash"), help)),
        };
        Ok(LogRateLimit::Limit { burst, interval })
    }

    /// The service's directives.
    pub fn directives(self) -> Vec<String> {
        match self {
            LogRateLimit::Limit { burst, interval } => vec![
                format!("LogRateLimitIntervalSec={interval}"),
                format!("LogRateLimitBurst={burst}"),
            ],
            LogRateLimit::Off => vec!["LogRateLimitIntervalSec=0".to_string()],
        }
    }
}

impl fmt::Display for LogRateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogRateLimit::Limit { burst, interval } => write!(f, "{burst}/{interval}"),
            LogRateLimit::Off => write!(f, "off"),
        }
    }
}

/// Longer than systemd can hold.
fn too_long() -> ValueError {
    (
        "a duration systemd can hold, at most about 584,542 years".to_string(),
        Some("systemd counts time in 64-bit microseconds: write a shorter duration".to_string()),
    )
}

impl fmt::Display for Duration {
    /// The form systemd reads back: `4s`, `500ms`, `2min`, `1h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return write!(f, "0");
        }
        let (n, unit, _) = self.unit();
        write!(f, "{n}{unit}")
    }
}

/// A memory size in bytes (powers of 1024, as systemd reads `K`, `M`, `G`, `T`), or a percentage
/// of physical memory, or no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// An amount of bytes.
    Bytes(u64),
    /// A share of the machine's memory.
    Percent(u32),
    /// No limit.
    Infinity,
}

impl Size {
    /// Parse `"500M"`, `"2G"`, `"1024"`, `"50%"`, `"infinity"`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let t = s.trim();
        let bad = |hint: String| {
            (
                format!("a size like \"500M\" or \"2G\", found {s:?}"),
                Some(hint),
            )
        };
        if t == "infinity" {
            return Ok(Size::Infinity);
        }
        if let Some(p) = t.strip_suffix('%') {
            return match p.parse::<u32>() {
                Ok(v) if v <= 100 => Size::Percent(v).check_limit(),
                _ => Err(bad(
                    "a percentage is a whole number from 0 to 100, like \"50%\"".into(),
                )),
            };
        }
        let hint = "sizes use systemd's suffixes K, M, G, T (powers of 1024), like \"500M\"";
        let Some(n) = leading_number(t) else {
            return Err(bad(hint.into()));
        };
        let suffix = t[n.len()..].trim_start();
        let mult: u64 = match suffix {
            "" | "B" => 1,
            "K" | "k" => 1 << 10,
            "M" | "m" => 1 << 20,
            "G" | "g" => 1 << 30,
            "T" | "t" => 1 << 40,
            other => {
                let first = other.chars().next().unwrap_or('M').to_ascii_uppercase();
                let hint = if "KMGT".contains(first) {
                    format!("write \"{n}{first}\": systemd sizes are powers of 1024 with a one-letter suffix")
                } else {
                    hint.into()
                };
                return Err(bad(hint));
            }
        };
        // As systemd does, a fraction of a byte is dropped ("1.5K" is 1536 bytes).
        let size = scaled(n, mult)
            .map(|(b, _)| Size::Bytes(b))
            .ok_or_else(|| bad("the size is too large".into()))?;
        size.check_limit()
    }

    /// systemd 252 ignores a memory limit of 0 bytes, 0% or 2^64 - 1 bytes ("out of range,
    /// ignoring": no limit at all), so none of them is accepted.
    fn check_limit(self) -> Result<Self, ValueError> {
        match self {
            Size::Bytes(0) | Size::Percent(0) => Err((
                format!("a size above zero, found \"{self}\""),
                Some("systemd reads a limit of 0 as no limit at all: write the most the app may use, like \"500M\", or \"infinity\" for no limit".into()),
            )),
            Size::Bytes(u64::MAX) => Err((
                format!("a size below 2^64 - 1 bytes, found {}", u64::MAX),
                Some("systemd reads this as no limit at all: write \"infinity\" to say so".into()),
            )),
            _ => Ok(self),
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Size::Infinity => write!(f, "infinity"),
            Size::Percent(p) => write!(f, "{p}%"),
            Size::Bytes(b) => {
                for (shift, suffix) in [(40, 'T'), (30, 'G'), (20, 'M'), (10, 'K')] {
                    if b != 0 && b % (1u64 << shift) == 0 {
                        return write!(f, "{}{suffix}", b >> shift);
                    }
                }
                write!(f, "{b}")
            }
        }
    }
}

/// A CPU quota in percent of one CPU (`"300%"` is three CPUs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuQuota(pub u32);

impl CpuQuota {
    /// The largest `CPUQuota=` systemd 252 takes: it counts in ten-thousandths held in an
    /// `int`, so `21474837%` is ignored as invalid.
    pub const MAX: u32 = 21_474_836;

    /// Parse `"50%"` or `"300%"`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        match s.trim().strip_suffix('%').map(str::parse::<u32>) {
            Some(Ok(v)) if v > 0 && v <= CpuQuota::MAX => Ok(CpuQuota(v)),
            Some(Ok(v)) if v > 0 => Err((
                format!("a CPU quota of at most {}%, found {s:?}", CpuQuota::MAX),
                Some(format!("systemd ignores a CPUQuota= above {}% (2^31 - 1 ten-thousandths); for no limit, leave cpu_quota out", CpuQuota::MAX)),
            )),
            _ => {
                // A bare number: a count of CPUs when small ("1.5"), else already a percentage.
                let help = match s.trim().parse::<f64>() {
                    Ok(n)
                        if n > 0.0
                            && (n <= 16.0 || s.contains('.'))
                            && (n * 100.0).fract() == 0.0 =>
                    {
                        format!(
                            "100% is one whole CPU: for {n} CPUs, write \"{}%\"",
                            (n * 100.0) as u64
                        )
                    }
                    Ok(n) if n > 0.0 && n.fract() == 0.0 => {
                        format!("did you mean \"{n}%\"? (100% is one whole CPU)")
                    }
                    _ => "100% is one whole CPU; use a whole number followed by %".into(),
                };
                Err((
                    format!("a CPU quota like \"50%\" or \"300%\", found {s:?}"),
                    Some(help),
                ))
            }
        }
    }
}

/// A task (process and thread) limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TasksMax {
    /// At most this many.
    Count(u64),
    /// No limit.
    Infinity,
}

impl fmt::Display for TasksMax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TasksMax::Count(n) => write!(f, "{n}"),
            TasksMax::Infinity => write!(f, "infinity"),
        }
    }
}

/// The signals unitgen accepts by name.
pub const SIGNALS: &[&str] = &[
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGCONT",
    "SIGSTOP", "SIGWINCH", "SIGPWR", "SIGALRM", "SIGABRT",
];

/// A signal by its canonical name, such as `SIGINT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal(pub &'static str);

impl Signal {
    /// Parse `"SIGINT"`, `"INT"` or `"sigint"`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let up = s.trim().to_ascii_uppercase();
        let full = if up.starts_with("SIG") {
            up
        } else {
            format!("SIG{up}")
        };
        SIGNALS
            .iter()
            .find(|&&n| n == full)
            .map(|&n| Signal(n))
            .ok_or_else(|| {
                // Compare without the common "SIG", which makes every name look alike.
                let bare: Vec<&str> = SIGNALS.iter().map(|n| &n[3..]).collect();
                // Linux's numbers, as in `kill -15`.
                const NUMBERS: &[(&str, &str)] = &[
                    ("1", "SIGHUP"),
                    ("2", "SIGINT"),
                    ("3", "SIGQUIT"),
                    ("6", "SIGABRT"),
                    ("9", "SIGKILL"),
                    ("10", "SIGUSR1"),
                    ("12", "SIGUSR2"),
                    ("14", "SIGALRM"),
                    ("15", "SIGTERM"),
                    ("18", "SIGCONT"),
                    ("19", "SIGSTOP"),
                    ("28", "SIGWINCH"),
                    ("30", "SIGPWR"),
                ];
                let number = NUMBERS
                    .iter()
                    .find(|(n, _)| *n == s.trim())
                    .map(|(n, name)| format!("signal {n} is \"{name}\": write its name"));
                let hint = number
                    .or_else(|| {
                        crate::core::diagnostic::did_you_mean(&full[3..], &bare)
                            .map(|n| format!("did you mean \"SIG{n}\"?"))
                    })
                    .unwrap_or_else(|| format!("one of {}", SIGNALS.join(", ")));
                (
                    format!("a signal name like \"SIGINT\", found {s:?}"),
                    Some(hint),
                )
            })
    }
}

/// What systemd does when the program exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Restart whatever the exit (PM2's `autorestart: true`).
    Always,
    /// Restart after a crash, a signal or a timeout, not after a clean exit.
    OnFailure,
    /// Never restart.
    Never,
}

impl Restart {
    /// The value of `Restart=`.
    pub fn systemd(self) -> &'static str {
        match self {
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::Never => "no",
        }
    }
}

/// When an instance counts as up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// As soon as the program has been executed.
    Started,
    /// When the program sends `READY=1` (sd_notify).
    Notify,
    /// When its port accepts connections.
    Listen,
}

/// Which sandboxing profile a service gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hardening {
    /// What a typical web server or worker tolerates.
    Default,
    /// More, for apps known to tolerate it.
    Strict,
    /// None.
    Off,
}

/// One listening address held by systemd for an app.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Listen {
    /// A TCP port on every address.
    Port(u16),
    /// A TCP port on one address (`127.0.0.1:3000`, `[::1]:3000`).
    HostPort(String, u16),
    /// A Unix socket path.
    Unix(String),
}

impl Listen {
    /// Parse a port number given as a string, `"host:port"` or an absolute path.
    pub fn parse_str(s: &str) -> Result<Self, ValueError> {
        let bad = || {
            (
                format!("a port, \"host:port\" or an absolute socket path, found {s:?}"),
                Some(
                    "for example 3000, \"127.0.0.1:3000\", \"[::1]:3000\" or \"/run/app.sock\""
                        .into(),
                ),
            )
        };
        if s.starts_with('/') {
            return Ok(Listen::Unix(s.to_string()));
        }
        if let Ok(p) = s.parse::<u16>() {
            return Self::port(p.into()).ok_or_else(bad);
        }
        let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        if port == 0 {
            return Err(bad());
        }
        let host_ok = if let Some(h) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            h.parse::<std::net::Ipv6Addr>().is_ok()
        } else {
            host.parse::<std::net::Ipv4Addr>().is_ok()
        };
        if !host_ok {
            return Err((
                format!("an IP address before the port, found {host:?}"),
                Some("systemd binds addresses, not host names: use \"127.0.0.1:3000\" or \"[::1]:3000\"".into()),
            ));
        }
        Ok(Listen::HostPort(host.to_string(), port))
    }

    /// A bare port number, 1..=65535.
    pub fn port(p: i64) -> Option<Self> {
        u16::try_from(p).ok().filter(|&p| p > 0).map(Listen::Port)
    }

    /// The TCP port, if any.
    pub fn tcp_port(&self) -> Option<u16> {
        match self {
            Listen::Port(p) | Listen::HostPort(_, p) => Some(*p),
            Listen::Unix(_) => None,
        }
    }

    /// Would these two listening addresses fight over the same socket?
    pub fn conflicts(&self, other: &Listen) -> bool {
        match (self, other) {
            (Listen::Unix(a), Listen::Unix(b)) => a == b,
            (Listen::Port(a), Listen::Port(b) | Listen::HostPort(_, b)) => a == b,
            (Listen::HostPort(_, a), Listen::Port(b)) => a == b,
            (Listen::HostPort(ha, a), Listen::HostPort(hb, b)) => {
                a == b && (ha == hb || is_any(ha) || is_any(hb))
            }
            _ => false,
        }
    }
}

fn is_any(host: &str) -> bool {
    host == "0.0.0.0" || host == "[::]"
}

impl fmt::Display for Listen {
    /// The value of `ListenStream=`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Port(p) => write!(f, "{p}"),
            Listen::HostPort(h, p) => write!(f, "{h}:{p}"),
            Listen::Unix(path) => write!(f, "{path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_rate_limits() {
        assert_eq!(
            LogRateLimit::parse("20000/1s"),
            Ok(LogRateLimit::Limit {
                burst: 20_000,
                interval: Duration(1_000)
            })
        );
        assert_eq!(LogRateLimit::parse("off"), Ok(LogRateLimit::Off));
        assert_eq!(
            LogRateLimit::parse("100_000 / 30s").unwrap().to_string(),
            "100000/30s"
        );
        for bad in ["20000", "0/1s", "x/1s", "10/0", "10/1", "99999999999/1s"] {
            let e = LogRateLimit::parse(bad).unwrap_err();
            assert!(e.1.is_some(), "{bad}: {e:?}");
        }
        assert_eq!(
            LogRateLimit::default().directives(),
            ["LogRateLimitIntervalSec=1s", "LogRateLimitBurst=20000"]
        );
    }

    #[test]
    fn decimal_durations_and_sizes() {
        assert_eq!(Duration::parse("1.5s").unwrap(), Duration(1500));
        assert_eq!(Duration::parse("1.005s").unwrap(), Duration(1005));
        assert_eq!(Duration::parse("1min 30s").unwrap(), Duration(90_000));
        assert_eq!(Duration::parse("5 sec").unwrap(), Duration(5000));
        assert!(Duration::parse("0.5ms").is_err());
        assert!(Duration::parse("1.s").is_err());
        assert!(Duration::parse("5").is_err());
        assert!(Duration::parse("5x").is_err());
        assert_eq!(Size::parse("1.5K").unwrap(), Size::Bytes(1536));
        assert_eq!(Size::parse("500M").unwrap(), Size::Bytes(500 << 20));
        assert!(Size::parse("500MB").is_err());
        assert!(Size::parse("99999999999999999999T").is_err());
        assert!(Size::parse("0").is_err());
        assert!(Size::parse("0%").is_err());
        assert!(Size::parse("0G").is_err());
        assert!(Size::parse("18446744073709551615").is_err());
        assert_eq!(Size::parse("1").unwrap(), Size::Bytes(1));
    }

    /// The largest numbers systemd 252 reads back, per unit (found against the real one).
    #[test]
    fn durations_systemd_can_hold() {
        let fits = |s: &str| Duration::parse(s).is_ok();
        assert!(fits("18446744073709550ms"));
        assert!(!fits("18446744073709551ms"));
        assert!(fits("18446744073708s"));
        assert!(!fits("18446744073709s"));
        assert!(fits("307445734559min"));
        assert!(!fits("307445734561min"));
        // A whole number of hours is written in hours, where systemd's limit is lower.
        assert!(!fits("307445734560min"));
        assert!(fits("5124095575h"));
        assert!(!fits("5124095576h"));
        assert!(!fits("99999999999999999999d"));
        assert_eq!(Duration::parse("120min").unwrap().to_string(), "2h");
    }

    #[test]
    fn cpu_quota_systemd_can_hold() {
        assert_eq!(CpuQuota::parse("21474836%").unwrap(), CpuQuota(21_474_836));
        assert!(CpuQuota::parse("21474837%").is_err());
    }

    #[test]
    fn cpu_quota_hints() {
        assert_eq!(CpuQuota::parse("150%").unwrap(), CpuQuota(150));
        assert!(CpuQuota::parse("1.5")
            .unwrap_err()
            .1
            .unwrap()
            .contains("\"150%\""));
        assert!(CpuQuota::parse("0%").is_err());
    }

    #[test]
    fn signals() {
        assert_eq!(Signal::parse("int").unwrap(), Signal("SIGINT"));
        assert!(Signal::parse("15")
            .unwrap_err()
            .1
            .unwrap()
            .contains("SIGTERM"));
        assert!(Signal::parse("SIGTREM")
            .unwrap_err()
            .1
            .unwrap()
            .contains("SIGTERM"));
    }
}
