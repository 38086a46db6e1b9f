//! The hand-written man page `man/unitgen.toml.5`: it formats without a groff warning, and it
//! has not drifted from the code (every key of the file format and every directive of the
//! hardening profiles is in it; its version is the crate's).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use unitgen::adapters::host::FixedHost;
use unitgen::core::compile::{compile, Target};
use unitgen::core::config::{APP_KEYS, TOP_KEYS};
use unitgen::core::render::Renderer;

fn page_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man/unitgen.toml.5")
}

fn page() -> String {
    std::fs::read_to_string(page_path()).expect("man/unitgen.toml.5")
}

/// `MANWIDTH=80 man --warnings -l man/unitgen.toml.5 >/dev/null` prints nothing.
#[test]
fn formats_without_groff_warnings() {
    let out = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(page_path())
        .env("MANWIDTH", "80")
        .env("MANROFFSEQ", "")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("MANPAGER")
        .env_remove("PAGER")
        .output()
        .unwrap_or_else(|e| panic!("cannot run man ({e}): install man-db (and groff-base)"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "man --warnings -l man/unitgen.toml.5: {}\n{stderr}",
        out.status
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("UNITGEN.TOML(5)"),
        "no page header in:\n{text}"
    );
}

/// The words of the tags of `.TP` entries (`.BR memory_max " (size)"` gives `memory_max`).
fn tags(page: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = page.lines().collect();
    let mut out = BTreeSet::new();
    for pair in lines.windows(2) {
        if pair[0] != ".TP" {
            continue;
        }
        let tag = pair[1];
        // The bold/italic words of the tag, without the quoted roman text between them.
        let mut quoted = false;
        let mut word = String::new();
        for c in tag.chars().chain(std::iter::once(' ')) {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.starts_with('.') && !word.is_empty() {
                        out.insert(
                            word.replace("\\-", "-")
                                .replace("\\fR", "")
                                .replace("\\fB", ""),
                        );
                    }
                    word.clear();
                }
                c if !quoted => word.push(c),
                _ => {}
            }
        }
    }
    out
}

#[test]
fn every_key_of_the_file_format_has_an_entry() {
    let tags = tags(&page());
    let mut missing: Vec<&str> = Vec::new();
    for key in TOP_KEYS.iter().chain(APP_KEYS) {
        let entry = match *key {
            "limits" => "[limits]".to_string(),
            "defaults" => "[defaults]".to_string(),
            "apps" => "[apps.".to_string(), // .BI [apps. NAME ]
            k => k.to_string(),
        };
        if !tags.contains(&entry) {
            missing.push(key);
        }
    }
    assert!(
        missing.is_empty(),
        "keys without a .TP entry in man/unitgen.toml.5: {missing:?}\n(entries found: {tags:?})"
    );
}

#[test]
fn version_is_the_crates() {
    let page = page();
    let th = page
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect("a .TH line");
    let want = format!("\"unitgen {}\"", env!("CARGO_PKG_VERSION"));
    assert!(
        th.contains(&want),
        "{th:?} should name {want}: update the .TH line of man/unitgen.toml.5"
    );
}

/// The directive names of the `[Service]` section of the first service of `units`.
fn service_directives(toml: &str) -> BTreeSet<String> {
    let ns =
        unitgen::core::config::load(Path::new("/srv/app/man.toml"), toml, &FixedHost::default())
            .unwrap_or_else(|e| panic!("does not validate:\n{e}\n{toml}"));
    let units = compile(&ns, &Target::system(), &Renderer::new());
    let service = units
        .iter()
        .find(|u| u.name.ends_with("@.service"))
        .expect("a template service");
    service
        .content
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
        .filter(|k| !k.starts_with('#') && !k.contains(' '))
        .collect()
}

#[test]
fn every_hardening_directive_is_described() {
    let app = |profile: &str| {
        format!(
            "namespace = \"man\"\n[apps.api]\ncommand = \"node server.js\"\nhardening = \"{profile}\"\n"
        )
    };
    let off = service_directives(&app("off"));
    let page = page().replace("\\-", "-");
    let mut missing = BTreeSet::new();
    for profile in ["default", "strict"] {
        for d in service_directives(&app(profile)).difference(&off) {
            if !page.contains(&format!("{d}=")) {
                missing.insert(d.clone());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "hardening directives the HARDENING section of man/unitgen.toml.5 does not name: {missing:?}"
    );
}
