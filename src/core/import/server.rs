//! What an app's command runs on, and where it listens, as far as its command line and
//! environment tell: the runtime (Node, gunicorn, uvicorn, other Python, anything else), the
//! port and the address. `map` decides from this whether systemd can hold the socket.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// What the program of a command runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// Node.js: `node`, a launcher whose `#!` line runs node (npm, npx, yarn, pnpm, ts-node,
    /// tsx), or such a script. unitgen's Node preload hands it systemd's sockets.
    Node,
    /// gunicorn, which takes systemd's sockets itself (LISTEN_FDS).
    Gunicorn,
    /// uvicorn, which takes a socket with `--fd`.
    Uvicorn,
    /// Any other Python program.
    Python,
    /// Anything else.
    Other,
}

/// Node's launchers, scripts whose `#!` line runs node (as `config::resolve` knows them).
const NODE_LAUNCHERS: &[&str] = &["npm", "npx", "yarn", "pnpm", "ts-node", "tsx"];

/// Is this program name (the last part of a path) node itself?
pub fn is_node(program: &str) -> bool {
    let base = program.rsplit('/').next().unwrap_or(program);
    base == "node" || base == "nodejs"
}

/// Is this a launcher that runs on node, by its name?
pub fn is_node_launcher(program: &str) -> bool {
    let base = program.rsplit('/').next().unwrap_or(program);
    NODE_LAUNCHERS.contains(&base)
}

/// Is this interpreter a Python?
pub fn is_python(program: &str) -> bool {
    program
        .rsplit('/')
        .next()
        .unwrap_or(program)
        .starts_with("python")
}

fn base(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

/// The first line of a file, if it is a `#!` line.
fn shebang(p: &Path) -> Option<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(p).ok()?;
    let mut buf = [0u8; 256];
    let n = f.read(&mut buf).ok()?;
    let line = buf[..n].split(|&b| b == b'\n').next()?;
    let line = String::from_utf8_lossy(line).into_owned();
    line.starts_with("#!").then_some(line)
}

/// The runtime a `#!` line names: node or python (skipping `env` and options).
fn shebang_runtime(line: &str) -> Runtime {
    let words = line[2..]
        .split_whitespace()
        .filter(|w| !w.starts_with('-'))
        .take(2)
        .map(base)
        .collect::<Vec<_>>();
    if words.iter().any(|w| is_node(w)) {
        Runtime::Node
    } else if words.iter().any(|w| is_python(w)) {
        Runtime::Python
    } else {
        Runtime::Other
    }
}

/// The runtime of a command, and the index of the word that is gunicorn or uvicorn.
/// `program_file` finds the file a program name runs (in cwd, then PATH).
pub fn runtime_of(
    words: &[String],
    program_file: &dyn Fn(&str) -> Option<std::path::PathBuf>,
) -> (Runtime, usize) {
    let Some(prog) = words.first() else {
        return (Runtime::Other, 0);
    };
    let server = |w: &str| match base(w) {
        "gunicorn" => Some(Runtime::Gunicorn),
        "uvicorn" => Some(Runtime::Uvicorn),
        _ => None,
    };
    if let Some(r) = server(prog) {
        return (r, 0);
    }
    if is_node(prog) || is_node_launcher(prog) {
        return (Runtime::Node, 0);
    }
    if is_python(prog) {
        // python [-u …] -m gunicorn …, or python [-u …] path/to/gunicorn …
        let mut i = 1;
        while i < words.len() {
            let w = &words[i];
            if w == "-m" {
                return match words.get(i + 1).and_then(|m| server(m)) {
                    Some(r) => (r, i + 1),
                    None => (Runtime::Python, 0),
                };
            }
            if !w.starts_with('-') {
                return match server(w) {
                    Some(r) => (r, i),
                    None => (Runtime::Python, 0),
                };
            }
            i += 1;
        }
        return (Runtime::Python, 0);
    }
    let runtime = program_file(prog)
        .and_then(|p| shebang(&p))
        .map_or(Runtime::Other, |l| shebang_runtime(&l));
    (runtime, 0)
}

/// The address a server binds, as far as we can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// Every address (`0.0.0.0`, `::`).
    Every,
    /// One IP address, written as `listen` takes it: `127.0.0.1`, `[::1]`.
    Ip(String),
    /// `localhost`: 127.0.0.1 here, though it may resolve to ::1 first.
    Localhost,
    /// A host name other than localhost: systemd binds addresses, not names.
    Name(String),
    /// Nothing says.
    Unknown,
}

impl Host {
    /// Read an address as a server takes it (`0.0.0.0`, `localhost`, `::1`, `[::1]`).
    pub fn parse(s: &str) -> Host {
        let s = s.trim();
        let bare = s
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(s);
        match bare {
            "" | "0.0.0.0" | "::" | "*" => Host::Every,
            "localhost" => Host::Localhost,
            "127.0.0.1" => Host::Ip("127.0.0.1".into()),
            _ if bare.parse::<Ipv4Addr>().is_ok() => Host::Ip(bare.into()),
            _ if bare.parse::<Ipv6Addr>().is_ok() => Host::Ip(format!("[{bare}]")),
            _ => Host::Name(s.into()),
        }
    }
}

/// A listening address: a TCP port on a host, or a Unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// `host:port`.
    Tcp(Host, u16),
    /// A Unix socket path.
    Unix(String),
}

impl Addr {
    /// The `listen` entry: a port for every address, `"IP:PORT"` for one, or a path.
    pub fn listen_value(&self) -> toml::Value {
        match self {
            Addr::Tcp(Host::Ip(ip), p) => toml::Value::String(format!("{ip}:{p}")),
            Addr::Tcp(Host::Localhost, p) => toml::Value::String(format!("127.0.0.1:{p}")),
            Addr::Tcp(_, p) => toml::Value::Integer(i64::from(*p)),
            Addr::Unix(path) => toml::Value::String(path.clone()),
        }
    }

    /// The TCP port, if any.
    pub fn port(&self) -> Option<u16> {
        match self {
            Addr::Tcp(_, p) => Some(*p),
            Addr::Unix(_) => None,
        }
    }
}

impl std::fmt::Display for Addr {
    /// As a server's option writes it: `0.0.0.0:8000`, `127.0.0.1:8000`, `[::1]:8000`, a path.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::Tcp(Host::Ip(ip), p) => write!(f, "{ip}:{p}"),
            Addr::Tcp(Host::Name(n), p) => write!(f, "{n}:{p}"),
            Addr::Tcp(Host::Localhost, p) => write!(f, "localhost:{p}"),
            Addr::Tcp(_, p) => write!(f, "0.0.0.0:{p}"),
            Addr::Unix(path) => write!(f, "{path}"),
        }
    }
}

/// A port number as a server reads it: 1 to 65535.
pub fn port(s: &str) -> Option<u16> {
    s.trim().parse::<u16>().ok().filter(|p| *p > 0)
}

/// The values of an option in arguments: `--opt V`, `--opt=V`, and for a short option `-o V`
/// and `-oV`. Returns `(value, indices of the words that held it)`.
fn option_values(args: &[String], long: &str, short: Option<&str>) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            break;
        }
        let is_short = short.is_some_and(|s| a == s);
        if a == long || is_short {
            if let Some(v) = args.get(i + 1) {
                out.push((v.clone(), vec![i, i + 1]));
                i += 2;
                continue;
            }
        } else if let Some(v) = a.strip_prefix(&format!("{long}=")) {
            out.push((v.to_string(), vec![i]));
        } else if let Some(v) = short
            .and_then(|s| a.strip_prefix(s))
            .filter(|v| !v.is_empty())
        {
            if !a.starts_with("--") {
                out.push((v.to_string(), vec![i]));
            }
        }
        i += 1;
    }
    out
}

/// Where a Node app listens, from its arguments: `--port N` or `-p N`, and `--host`,
/// `--hostname` or `-H` (Next.js, Nuxt and most CLIs).
pub fn node_args_bind(args: &[String]) -> (Option<u16>, Option<String>) {
    let port = option_values(args, "--port", Some("-p"))
        .into_iter()
        .find_map(|(v, _)| port(&v));
    let host = option_values(args, "--hostname", Some("-H"))
        .into_iter()
        .chain(option_values(args, "--host", None))
        .map(|(v, _)| v)
        .next();
    (port, host)
}

/// A gunicorn bind address, as gunicorn's `util.parse_address` reads it.
fn gunicorn_addr(s: &str) -> Option<Addr> {
    let s = s.trim();
    if let Some(path) = s
        .strip_prefix("unix://")
        .or_else(|| s.strip_prefix("unix:"))
    {
        return Some(Addr::Unix(path.to_string()));
    }
    if s.starts_with("fd://") {
        return None;
    }
    let s = s.strip_prefix("tcp://").unwrap_or(s);
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some(Addr::Tcp(Host::parse(h), port(p)?));
    }
    let (h, p) = s.split_once(':')?;
    Some(Addr::Tcp(Host::parse(h), port(p)?))
}

/// The `bind` setting of a gunicorn configuration file (Python): `bind = "host:port"` or a
/// list of such strings on one line. `Ok(None)` when the file sets no bind, `Err` when it sets
/// it in a way that cannot be read without running it.
fn gunicorn_conf_binds(text: &str) -> Result<Option<Vec<String>>, ()> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("bind") else {
            continue;
        };
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.split(" #").next().unwrap_or(value).trim();
        let inner = value
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .or_else(|| value.strip_prefix('(').and_then(|v| v.strip_suffix(')')))
            .unwrap_or(value);
        let mut binds = Vec::new();
        for item in inner.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let unquoted = item
                .strip_prefix('"')
                .and_then(|i| i.strip_suffix('"'))
                .or_else(|| item.strip_prefix('\'').and_then(|i| i.strip_suffix('\'')))
                .ok_or(())?;
            binds.push(unquoted.to_string());
        }
        if binds.is_empty() {
            return Err(());
        }
        found = Some(binds);
    }
    Ok(found)
}

/// Where gunicorn binds, and what says so: its `-b`/`--bind` options (also in
/// `GUNICORN_CMD_ARGS`), else the `bind` of its configuration file (`-c FILE`, or
/// `gunicorn.conf.py` in its working directory), else `PORT` (it binds `0.0.0.0:$PORT`), else
/// its default `127.0.0.1:8000`. `read` reads a file of the app's working directory. `Err`
/// says why it cannot be told.
pub fn gunicorn_binds(
    args: &[String],
    env: &[(String, String)],
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<Addr>, String), String> {
    let var = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let parse = |binds: &[String]| -> Result<Vec<Addr>, String> {
        binds
            .iter()
            .map(|b| gunicorn_addr(b).ok_or_else(|| format!("it binds {b}")))
            .collect()
    };
    let from_args: Vec<String> = option_values(args, "--bind", Some("-b"))
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    if !from_args.is_empty() {
        return Ok((parse(&from_args)?, "its -b".into()));
    }
    if let Some(extra) = var("GUNICORN_CMD_ARGS") {
        let words = super::map::split_args(&extra);
        let binds: Vec<String> = option_values(&words, "--bind", Some("-b"))
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        if !binds.is_empty() {
            return Ok((parse(&binds)?, "GUNICORN_CMD_ARGS".into()));
        }
    }
    let (conf, named) = match option_values(args, "--config", Some("-c")).first() {
        Some((c, _)) => (c.clone(), true),
        None => ("gunicorn.conf.py".to_string(), false),
    };
    match read(&conf) {
        Some(text) => match gunicorn_conf_binds(&text) {
            Ok(Some(binds)) => return Ok((parse(&binds)?, format!("the bind of {conf}"))),
            Ok(None) => {}
            Err(()) => return Err(format!("its {conf} sets bind in a way import cannot read")),
        },
        None if named => return Err(format!("its configuration {conf} is not here to read")),
        None => {}
    }
    Ok(match var("PORT").as_deref().and_then(port) {
        Some(p) => (
            vec![Addr::Tcp(Host::Every, p)],
            "gunicorn binds 0.0.0.0:$PORT without -b".into(),
        ),
        None => (
            vec![Addr::Tcp(Host::Ip("127.0.0.1".into()), 8000)],
            "gunicorn's default, without -b or PORT".into(),
        ),
    })
}

/// Where uvicorn binds (`--host`, default 127.0.0.1; `--port`, default 8000; or their
/// `UVICORN_*` variables), and its arguments with `--fd 3` in place of `--host` and `--port`.
/// `None` when it already takes a socket (`--fd`, `--uds`).
pub fn uvicorn_fd(
    args: &[String],
    env: &[(String, String)],
) -> Option<(Addr, Vec<String>, &'static str)> {
    let var = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if !option_values(args, "--fd", None).is_empty()
        || !option_values(args, "--uds", None).is_empty()
    {
        return None;
    }
    let hosts = option_values(args, "--host", None);
    let ports = option_values(args, "--port", None);
    let (host, from) = match (hosts.last(), var("UVICORN_HOST")) {
        (Some((v, _)), _) => (v.clone(), "its --host"),
        (None, Some(v)) => (v, "UVICORN_HOST"),
        (None, None) => ("127.0.0.1".into(), "uvicorn's default, without --host"),
    };
    let p = match ports.last() {
        Some((v, _)) => port(v)?,
        None => match var("UVICORN_PORT") {
            Some(v) => port(&v)?,
            None => 8000,
        },
    };
    let drop: Vec<usize> = hosts
        .iter()
        .chain(ports.iter())
        .flat_map(|(_, ix)| ix.iter().copied())
        .collect();
    let at = drop.iter().copied().min().unwrap_or(args.len());
    let mut out: Vec<String> = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i == at {
            out.extend(["--fd".to_string(), "3".to_string()]);
        }
        if !drop.contains(&i) {
            out.push(a.clone());
        }
    }
    if at >= args.len() {
        out.extend(["--fd".to_string(), "3".to_string()]);
    }
    Some((Addr::Tcp(Host::parse(&host), p), out, from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn runtimes() {
        let none = |_: &str| None;
        assert_eq!(runtime_of(&w("npm run start"), &none).0, Runtime::Node);
        assert_eq!(runtime_of(&w("node app.js"), &none).0, Runtime::Node);
        assert_eq!(
            runtime_of(&w("python3 -u -m gunicorn app:app"), &none),
            (Runtime::Gunicorn, 3)
        );
        assert_eq!(
            runtime_of(&w("venv/bin/uvicorn main:app"), &none),
            (Runtime::Uvicorn, 0)
        );
        assert_eq!(runtime_of(&w("python3 app.py"), &none).0, Runtime::Python);
        assert_eq!(runtime_of(&w("./server"), &none).0, Runtime::Other);
    }

    #[test]
    fn hosts() {
        assert_eq!(Host::parse("0.0.0.0"), Host::Every);
        assert_eq!(Host::parse("localhost"), Host::Localhost);
        assert_eq!(Host::parse("::1"), Host::Ip("[::1]".into()));
        assert_eq!(Host::parse("[::1]"), Host::Ip("[::1]".into()));
        assert_eq!(Host::parse("10.0.0.5"), Host::Ip("10.0.0.5".into()));
        assert_eq!(
            Host::parse("api.internal"),
            Host::Name("api.internal".into())
        );
    }

    #[test]
    fn gunicorn() {
        let env: Vec<(String, String)> = Vec::new();
        let none = |_: &str| None;
        let binds = |a: &str, env: &[(String, String)], read: &dyn Fn(&str) -> Option<String>| {
            gunicorn_binds(&w(a), env, read).map(|(b, _)| b)
        };
        assert_eq!(
            binds("app:app -w 4 -b 0.0.0.0:8000", &env, &none),
            Ok(vec![Addr::Tcp(Host::Every, 8000)])
        );
        assert_eq!(
            binds("app:app --bind=127.0.0.1:5000", &env, &none),
            Ok(vec![Addr::Tcp(Host::Ip("127.0.0.1".into()), 5000)])
        );
        assert_eq!(
            binds("app:app -b unix:/run/app.sock", &env, &none),
            Ok(vec![Addr::Unix("/run/app.sock".into())])
        );
        assert_eq!(
            binds("app:app", &env, &none),
            Ok(vec![Addr::Tcp(Host::Ip("127.0.0.1".into()), 8000)])
        );
        let port = vec![("PORT".to_string(), "9000".to_string())];
        assert_eq!(
            binds("app:app", &port, &none),
            Ok(vec![Addr::Tcp(Host::Every, 9000)])
        );
        assert!(binds("app:app -c conf.py", &env, &none).is_err());
        let conf = |_: &str| Some("workers = 4\nbind = ['0.0.0.0:8010']  # all\n".to_string());
        assert_eq!(
            binds("app:app", &env, &conf),
            Ok(vec![Addr::Tcp(Host::Every, 8010)])
        );
        let computed = |_: &str| Some("bind = os.environ['BIND']\n".to_string());
        assert!(binds("app:app", &env, &computed).is_err());
        let silent = |_: &str| Some("workers = 4\n".to_string());
        assert_eq!(
            binds("app:app", &env, &silent),
            Ok(vec![Addr::Tcp(Host::Ip("127.0.0.1".into()), 8000)])
        );
    }

    #[test]
    fn uvicorn() {
        let env: Vec<(String, String)> = Vec::new();
        let (addr, args, _) =
            uvicorn_fd(&w("main:app --host 0.0.0.0 --port 8000 --workers 2"), &env).unwrap();
        assert_eq!(addr, Addr::Tcp(Host::Every, 8000));
        assert_eq!(args, w("main:app --fd 3 --workers 2"));
        let (addr, args, from) = uvicorn_fd(&w("main:app --port=8006"), &env).unwrap();
        assert_eq!(from, "uvicorn's default, without --host");
        assert_eq!(addr, Addr::Tcp(Host::Ip("127.0.0.1".into()), 8006));
        assert_eq!(args, w("main:app --fd 3"));
        let (_, args, _) = uvicorn_fd(&w("main:app"), &env).unwrap();
        assert_eq!(args, w("main:app --fd 3"));
        assert!(uvicorn_fd(&w("main:app --uds /run/a.sock"), &env).is_none());
    }

    #[test]
    fn node_arguments() {
        assert_eq!(
            node_args_bind(&w("start -p 3001 -H 127.0.0.1")),
            (Some(3001), Some("127.0.0.1".into()))
        );
        assert_eq!(node_args_bind(&w("start --port=4000")), (Some(4000), None));
        assert_eq!(node_args_bind(&w("run start")), (None, None));
    }
}
