//! Errors about a user's input: where, which key, what was expected, and how to fix it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A byte range in a source file.
pub type Span = Range<usize>;

/// One problem in an ecosystem file, with enough context to fix it without reading the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: PathBuf,
    /// 1-based line, 0 when the problem is about the file as a whole.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// The dotted key, such as `apps.api.memory_max`.
    pub key: String,
    /// What was expected and what was found.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The source line, for the snippet under the message.
    pub snippet: Option<(String, usize, usize)>,
}

impl Diagnostic {
    /// A problem with the file as a whole (cannot be read, for instance).
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: 0,
            col: 0,
            key: String::new(),
            message: message.into(),
            help: None,
            snippet: None,
        }
    }

    /// Attach a hint on how to fix it.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            writeln!(f, "error: {}", self.message)?;
        } else {
            writeln!(f, "error: {}: {}", self.key, self.message)?;
        }
        if self.line == 0 {
            write!(f, "  --> {}", self.file.display())?;
        } else {
            write!(
                f,
                "  --> {}:{}:{}",
                self.file.display(),
                self.line,
                self.col
            )?;
        }
        if let Some((text, start, width)) = &self.snippet {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            // Keep the tabs of the line under it, so that the caret lines up in a terminal.
            let lead: String = text
                .chars()
                .take(*start)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(
                f,
                "\n{pad} |\n{num} | {text}\n{pad} | {lead}{}",
                "^".repeat((*width).max(1))
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// A source file with a way to turn byte offsets into lines and columns.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as the user named it.
    pub path: PathBuf,
    /// The whole text.
    pub text: String,
    /// Where lines start, built at the first diagnostic: a file of many errors is not read
    /// from its start for each one of them.
    index: std::sync::OnceLock<Index>,
}

/// Line starts, and character counts at every [`STEP`] bytes.
#[derive(Debug, Clone)]
struct Index {
    lines: Vec<usize>,
    chars: Vec<usize>,
}

/// How far apart the character counts of [`Index`] are, in bytes.
const STEP: usize = 4096;

/// Source lines longer than this many bytes are shown as a window around the error.
const MAX_SNIPPET: usize = 300;

impl Source {
    /// A source file.
    pub fn new(path: PathBuf, text: String) -> Self {
        Source {
            path,
            text,
            index: std::sync::OnceLock::new(),
        }
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let t = &self.text;
            let mut lines = vec![0];
            lines.extend(t.match_indices('\n').map(|(i, _)| i + 1));
            let mut chars = Vec::with_capacity(t.len() / STEP + 1);
            let mut count = 0;
            let mut from = 0;
            for k in 0..=t.len() / STEP {
                let at = self.boundary(k * STEP);
                count += t[from..at].chars().count();
                chars.push(count);
                from = at;
            }
            Index { lines, chars }
        })
    }

    /// The nearest char boundary at or before `i`.
    fn boundary(&self, i: usize) -> usize {
        let mut i = i.min(self.text.len());
        while !self.text.is_char_boundary(i) {
            i -= 1;
        }
        i
    }

    /// How many characters come before byte `i` (a char boundary).
    fn chars_before(&self, i: usize) -> usize {
        let k = i / STEP;
        let base = self.boundary(k * STEP);
        self.index().chars[k] + self.text[base..i].chars().count()
    }

    /// Make a diagnostic pointing at `span`.
    pub fn diag(&self, span: Span, key: &str, message: impl Into<String>) -> Diagnostic {
        let start = self.boundary(span.start);
        let lines = &self.index().lines;
        let line = lines.partition_point(|&l| l <= start);
        let line_start = lines[line - 1];
        let line_end = lines.get(line).map_or(self.text.len(), |&next| next - 1);
        let col_chars = self.chars_before(start) - self.chars_before(line_start);
        let end = self.boundary(span.end.clamp(start, line_end));
        let width = self.chars_before(end) - self.chars_before(start);
        Diagnostic {
            file: self.path.clone(),
            line,
            col: col_chars + 1,
            key: key.to_string(),
            message: message.into(),
            help: None,
            snippet: Some(self.snippet(line_start, line_end, start, col_chars, width)),
        }
    }

    /// The source line under a message, and where the caret goes in it: a long line is cut
    /// to a window around the error.
    fn snippet(
        &self,
        line_start: usize,
        line_end: usize,
        start: usize,
        col: usize,
        width: usize,
    ) -> (String, usize, usize) {
        let line = self.text[line_start..line_end].trim_end_matches('\r');
        if line.len() <= MAX_SNIPPET {
            return (line.to_string(), col, width);
        }
        let before: Vec<char> = self.text[line_start..start]
            .chars()
            .rev()
            .take(60)
            .collect();
        let cut_before = before.len() < col;
        let mut shown: String = if cut_before {
            "…".into()
        } else {
            String::new()
        };
        shown.extend(before.iter().rev());
        let rest = &self.text[start..line_start + line.len()];
        let after: String = rest.chars().take(200).collect();
        let cut_after = after.len() < rest.len();
        shown.push_str(&after);
        if cut_after {
            shown.push('…');
        }
        let caret = before.len() + usize::from(cut_before);
        (shown, caret, width.min(200))
    }
}

/// All the problems found in one run; a run reports every one of them, not only the first.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Record one more problem.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    /// True when nothing was wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}\n")?;
        }
        let n = self.0.len();
        write!(
            f,
            "{n} error{} found; nothing was changed",
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for Diagnostics {}

/// The closest known word to `found`, if one is close enough to be a likely typo.
///
/// Close means a Jaro-Winkler similarity above 0.8, and also one of: a small edit (at most one
/// for short words, a third of the length for longer ones, not at the first letter unless it
/// is a single edit), one word being the start of the other (`memory` for `memory_max`), or
/// the same first `_`-separated word (`memory_limit` for `memory_max`). Jaro-Winkler alone
/// proposes `restart` for `start` and `wants` for `wait`.
pub fn did_you_mean<'a>(found: &str, known: &[&'a str]) -> Option<&'a str> {
    let close = |k: &str| {
        let f = found.to_ascii_lowercase();
        let k = k.to_ascii_lowercase();
        let edits = strsim::damerau_levenshtein(&f, &k);
        let same_first = f.chars().next() == k.chars().next();
        let small_edit = edits <= (k.chars().count() / 3).max(1) && (same_first || edits <= 1);
        let prefix = f.len() >= 3 && (k.starts_with(&f) || f.starts_with(&k));
        let first_word = |s: &str| s.split('_').next().unwrap_or("").to_string();
        let same_word =
            f.contains('_') && first_word(&f).len() >= 4 && first_word(&f) == first_word(&k);
        small_edit || prefix || same_word
    };
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(found, k), *k))
        .filter(|(score, k)| *score > 0.8 && close(k))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    const APP: &[&str] = crate::core::config::APP_KEYS;

    #[test]
    fn typos_find_their_word() {
        for (typo, want) in [
            ("instanses", "instances"),
            ("comand", "command"),
            ("memorymax", "memory_max"),
            ("memory_limit", "memory_max"),
            ("envfile", "env_file"),
            ("depends", "depends_on"),
            ("cron", "cron_restart"),
            ("restrat", "restart"),
        ] {
            assert_eq!(did_you_mean(typo, APP), Some(want), "{typo}");
        }
        assert_eq!(
            did_you_mean("on_failure", &["always", "on-failure", "never"]),
            Some("on-failure")
        );
        assert_eq!(
            did_you_mean("TREM", &["HUP", "INT", "TERM", "KILL"]),
            Some("TERM")
        );
    }

    #[test]
    fn no_silly_suggestions() {
        for word in ["wait", "script", "log_file", "exec_mode", "pid_file"] {
            assert_eq!(did_you_mean(word, APP), None, "{word}");
        }
        assert_eq!(did_you_mean("start", &["restart", "listen"]), None);
        assert_eq!(did_you_mean("start", APP), Some("start_timeout"));
        assert_eq!(did_you_mean("SEGV", &["HUP", "INT", "STOP", "TERM"]), None);
        assert_eq!(did_you_mean("true", &["started", "notify", "listen"]), None);
    }
}
