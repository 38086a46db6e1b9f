//! Read a PM2 ecosystem file into a [`Js`] value: JSON and YAML directly, JavaScript by
//! running it with the machine's `node`, as PM2 itself does (`require` for `.js` and `.cjs`,
//! `import()` for ES modules).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::value::Js;
use super::Error;
use crate::adapters::process;

/// The kinds of ecosystem file PM2 reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.json`.
    Json,
    /// `.yml`, `.yaml`.
    Yaml,
    /// `.js`, `.cjs`, `.mjs`: code.
    Js,
}

/// What the file held, with what could not be carried over.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The exported value.
    pub value: Js,
    /// Values JSON cannot hold, by path (`apps[0].env.DB_URL (undefined)`): functions, and
    /// `undefined` (often a `process.env.X` that is not set where the import ran).
    pub dropped: Vec<String>,
    /// Remarks about how the file was read, for the summary.
    pub remarks: Vec<String>,
}

/// How long a JavaScript ecosystem file may take to evaluate.
const NODE_TIMEOUT: Duration = Duration::from_secs(30);

/// The most read of what node prints while it evaluates the file (each of stdout, stderr).
const NODE_OUTPUT: u64 = 1024 * 1024;

/// The format, from the file name (as PM2 decides it).
pub fn format_of(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".json") || name.ends_with(".json5") {
        Some(Format::Json)
    } else if name.ends_with(".yml") || name.ends_with(".yaml") {
        Some(Format::Yaml)
    } else if name.ends_with(".js") || name.ends_with(".cjs") || name.ends_with(".mjs") {
        Some(Format::Js)
    } else {
        None
    }
}

/// Read and evaluate the file.
pub fn load(path: &Path) -> Result<Loaded, Error> {
    let shown = path.display().to_string();
    let format = format_of(path).ok_or_else(|| {
        Error::new(format!("{shown}: not a PM2 ecosystem file name")).help(
            "PM2 ecosystem files end in .config.js, .config.cjs, .config.mjs, .json, .yml or .yaml",
        )
    })?;
    let text = std::fs::read(path).map_err(|e| Error::new(format!("cannot read {shown}: {e}")))?;
    match format {
        Format::Json => {
            let text = String::from_utf8(text)
                .map_err(|_| Error::new(format!("{shown}: the file is not UTF-8 text")))?;
            match serde_json::from_str::<Js>(&text) {
                Ok(value) => Ok(Loaded {
                    value,
                    dropped: Vec::new(),
                    remarks: Vec::new(),
                }),
                Err(e) => {
                    // PM2 evaluates a .json file as a JavaScript expression, so comments and
                    // trailing commas pass there: do the same when node can, else report.
                    let strict = Error::new(format!(
                        "{shown}:{}:{}: JSON syntax: {}",
                        e.line(),
                        e.column(),
                        strip_position(&e.to_string())
                    ))
                    .help("fix the JSON (a missing comma or quote, an unclosed bracket)");
                    if e.is_syntax() || e.is_eof() {
                        if let Ok(mut l) = run_node(path, "expression") {
                            l.remarks.push(format!(
                                "{shown} is not strict JSON ({}); it was read as a JavaScript expression, as PM2 reads it",
                                strip_position(&e.to_string())
                            ));
                            return Ok(l);
                        }
                    }
                    Err(strict)
                }
            }
        }
        Format::Yaml => {
            let text = String::from_utf8(text)
                .map_err(|_| Error::new(format!("{shown}: the file is not UTF-8 text")))?;
            // serde_norway's message says where (line and column) itself.
            let value = serde_norway::from_str::<Js>(&text)
                .map_err(|e| Error::new(format!("{shown}: YAML: {e}")))?;
            Ok(Loaded {
                value,
                dropped: Vec::new(),
                remarks: Vec::new(),
            })
        }
        Format::Js => run_node(path, "module"),
    }
}

/// serde_json ends its messages with " at line L column C", which we already say.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// The script `node -e` runs: load the file, walk the value into plain JSON (recording what
/// JSON cannot carry), and write it to the file named by the last argument. The file's own
/// output goes to unitgen's stderr, so that it never mixes with the TOML on stdout.
const NODE_SCRIPT: &str = r#"
const [mode, file, out] = process.argv.slice(1);
const fs = require('fs');
const url = require('url');
const dropped = [];
const stack = [];
function walk(v, p) {
  const where = p || '(the whole file)';
  if (v === undefined) { dropped.push(where + ' (undefined)'); return undefined; }
  if (typeof v === 'function') { dropped.push(where + ' (a function)'); return undefined; }
  if (typeof v === 'symbol') { dropped.push(where + ' (a symbol)'); return undefined; }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) { dropped.push(where + ' (' + v + ')'); return undefined; }
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof RegExp) return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (stack.includes(v)) { dropped.push(where + ' (a circular reference)'); return undefined; }
  stack.push(v);
  let r;
  if (Array.isArray(v)) {
    r = v.map((x, i) => { const w = walk(x, p + '[' + i + ']'); return w === undefined ? null : w; });
  } else {
    r = {};
    for (const k of Object.keys(v)) {
      const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : JSON.stringify(k);
      const w = walk(v[k], p ? p + '.' + key : key);
      if (w !== undefined) r[k] = w;
    }
  }
  stack.pop();
  return r;
}
function finish(kind, value) {
  fs.writeFileSync(out, JSON.stringify({ kind, value: walk(value, ''), dropped }));
  process.exit(0);
}
(async () => {
  let cfg;
  if (mode === 'expression') {
    const vm = require('vm');
    cfg = vm.runInThisContext('(' + fs.readFileSync(file, 'utf8') + ')', { filename: file, timeout: 1000 });
  } else {
    let m;
    try {
      m = require(file);
    } catch (e) {
      if (!e || (e.code !== 'ERR_REQUIRE_ESM' && e.code !== 'ERR_REQUIRE_ASYNC_MODULE')) throw e;
      m = await import(url.pathToFileURL(file).href);
    }
    if (m && m[Symbol.toStringTag] === 'Module') m = m.default !== undefined ? m.default : Object.assign({}, m);
    cfg = m;
  }
  if (typeof cfg === 'function') return finish('function', null);
  if (cfg && typeof cfg.then === 'function') return finish('promise', null);
  finish(Array.isArray(cfg) ? 'array' : cfg === null ? 'null' : typeof cfg, cfg);
})().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(3);
});
"#;

fn run_node(path: &Path, mode: &str) -> Result<Loaded, Error> {
    let shown = path.display().to_string();
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs.parent().unwrap_or(Path::new("/")).to_path_buf();
    let out = tempfile::Builder::new()
        .prefix("unitgen-import-")
        .suffix(".json")
        .tempfile()
        .map_err(|e| Error::new(format!("cannot create a temporary file: {e}")))?;
    let mut node = Command::new("node");
    node.arg("-e")
        .arg(NODE_SCRIPT)
        .arg(mode)
        .arg(&abs)
        .arg(out.path())
        .current_dir(&dir);
    let ran = process::run(node, None, NODE_TIMEOUT, NODE_OUTPUT).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::new(format!(
                "{shown} is JavaScript, and reading it needs `node`, which is not in PATH"
            ))
            .help("install Node.js (the apps need it anyway), or import a JSON or YAML copy of the file")
        } else {
            Error::new(format!("cannot run node to read {shown}: {e}"))
        }
    })?;
    // What the file printed while it loaded (console.log) is the user's business: passed on,
    // on standard error. So are node's warnings, when it went well.
    let printed = String::from_utf8_lossy(&ran.stdout);
    if !printed.is_empty() {
        eprint!("{printed}");
    }
    let said = String::from_utf8_lossy(&ran.stderr);
    match ran.status {
        None => {
            return Err(Error::new(format!(
                "{shown} did not finish evaluating within {}s (node was stopped)",
                NODE_TIMEOUT.as_secs()
            ))
            .help("an ecosystem file should only export its configuration: move work such as connecting to a database out of it"))
        }
        Some(status) if !status.success() => return Err(node_failed(&shown, &said)),
        Some(_) => {}
    }
    if !said.trim().is_empty() {
        eprint!("{said}");
    }
    let json = std::fs::read_to_string(out.path())
        .map_err(|e| Error::new(format!("reading what node made of {shown}: {e}")))?;
    let doc: Js = serde_json::from_str(&json)
        .map_err(|e| Error::new(format!("reading what node made of {shown}: {e}")))?;
    exported(&shown, &doc)
}

/// Why node could not evaluate the file: its error, with the file's own frames (node's
/// internals and our loader left out).
fn node_failed(shown: &str, said: &str) -> Error {
    let lines: Vec<&str> = said
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("at ") && (t.contains("node:internal") || t.contains("[eval]")))
        })
        .filter(|l| !l.contains("Node.js v"))
        .take(12)
        .collect();
    let mut msg = format!("{shown} failed when node evaluated it");
    if !lines.is_empty() {
        msg.push_str(":\n");
        let indented: Vec<String> = lines.iter().map(|l| format!("    {l}")).collect();
        msg.push_str(&indented.join("\n"));
    }
    Error::new(msg).help(
        "the file is code: it must run without errors under `node` in this environment (a missing module or environment variable?)",
    )
}

/// What the loader wrote about the file's export: its value, or why it is no configuration.
fn exported(shown: &str, doc: &Js) -> Result<Loaded, Error> {
    let not = |what: &str, pm2: &str| {
        Error::new(format!("{shown} exports a {what}, not a configuration")).help(format!(
            "PM2 does not {pm2} either: export the object, `module.exports = {{ apps: [...] }}`"
        ))
    };
    match doc.get("kind") {
        Some(Js::Str(s)) if s == "function" => return Err(not("function", "call it")),
        Some(Js::Str(s)) if s == "promise" => return Err(not("promise", "wait for it")),
        _ => {}
    }
    let dropped = match doc.get("dropped") {
        Some(Js::Arr(a)) => a
            .iter()
            .filter_map(|v| match v {
                Js::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Loaded {
        value: doc.get("value").cloned().unwrap_or(Js::Null),
        dropped,
        remarks: Vec::new(),
    })
}
