//! The one place where user-supplied text becomes unit-file text, written from systemd's own
//! rules (systemd.syntax(7), systemd.service(5) "Command lines", systemd.unit(5) "Specifiers").
//!
//! Values systemd splits into words (command lines, `Environment=`, path lists) are written in
//! double quotes with C escapes, so that quotes, backslashes, spaces, newlines and control
//! characters survive byte for byte. Values systemd takes as the rest of the line (paths,
//! descriptions) are checked before they get here to hold no line break or control character.
//! In every value, `%` is doubled so that no specifier is expanded; in command arguments, `$`
//! is doubled so that no variable is substituted. No output of this module contains a line
//! break, so no value can start a new directive; a `Line` value that ends in a backslash
//! would continue its line onto the next one, which [`crate::core::render`] prevents with a trailing
//! space that systemd strips.

/// How a value is read back by systemd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Rest of the line, specifiers expanded (`WorkingDirectory=`, `Description=`).
    Line,
    /// One quoted word, C-unescaped, specifiers expanded (`ReadWritePaths=`, `Environment=`).
    Word,
    /// One command-line argument: as `Word`, and `$` substituted.
    ExecArg,
    /// A value unitgen made itself from a checked, typed setting (a size, a duration, a
    /// keyword) for a directive that expands no specifier: written as it is.
    Verbatim,
}

/// Quote `s` for `ctx`. The result never contains a line break.
pub fn quote(s: &str, ctx: Context) -> String {
    // Most values (names, numbers, keywords, plain paths) need nothing: skip the rebuild.
    let plain = |c: char| !c.is_control() && c != '%';
    if matches!(ctx, Context::Verbatim | Context::Line) && s.chars().all(plain) {
        return s.to_string();
    }
    match ctx {
        Context::Verbatim => s
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
        Context::Line => {
            let mut out = String::with_capacity(s.len());
            for c in s.chars() {
                match c {
                    '%' => out.push_str("%%"),
                    c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32 & 0xff)),
                    c => out.push(c),
                }
            }
            out
        }
        Context::Word | Context::ExecArg => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '%' => out.push_str("%%"),
                    '$' if ctx == Context::ExecArg => out.push_str("$$"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                        out.push_str(&format!("\\x{:02x}", c as u32))
                    }
                    // C1 controls and other non-ASCII controls: \u escapes keep them intact.
                    c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
    }
}

/// A whole command line: every word quoted as an argument.
pub fn exec(words: &[String]) -> String {
    words
        .iter()
        .map(|w| quote(w, Context::ExecArg))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One `Environment=` assignment, `"NAME=value"`.
pub fn env(name: &str, value: &str) -> String {
    quote(&format!("{name}={value}"), Context::Word)
}

/// One `NAME="value"` line of an environment file, as systemd reads `EnvironmentFile=`
/// (systemd.exec(5)): the value in double quotes, `"`, `\`, `` ` `` and `$` escaped with a
/// backslash; anything else, line breaks included, is kept as it is inside the quotes.
pub fn env_file_line(name: &str, value: &str) -> String {
    let mut out = String::with_capacity(name.len() + value.len() + 4);
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '`' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("\"\n");
    out
}

/// Read an environment file the way systemd does (its `parse_env_file` state machine, for
/// the forms unitgen writes and the usual hand-written ones: `NAME=value`, `NAME="value"`,
/// `NAME='value'`, `export NAME=value`, `#` comments). The inverse of [`env_file_line`].
pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        // Before a name: skip blank space and comment lines.
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.peek() {
            None => return out,
            Some('#' | ';') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                continue;
            }
            _ => {}
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == '\n' {
                break;
            }
            name.push(c);
            chars.next();
        }
        let name = name.trim().trim_start_matches("export ").trim().to_string();
        if chars.next() != Some('=') {
            continue;
        }
        let mut value = String::new();
        let mut last_unquoted_text = 0;
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        while let Some(c) = chars.next() {
            match c {
                '\n' => break,
                '"' => {
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '\\' => match chars.next() {
                                Some(e @ ('"' | '\\' | '`' | '$')) => value.push(e),
                                Some('\n') | None => {}
                                Some(e) => {
                                    value.push('\\');
                                    value.push(e);
                                }
                            },
                            c => value.push(c),
                        }
                    }
                    last_unquoted_text = value.len();
                }
                '\'' => {
                    for c in chars.by_ref() {
                        if c == '\'' {
                            break;
                        }
                        value.push(c);
                    }
                    last_unquoted_text = value.len();
                }
                '\\' => match chars.next() {
                    Some('\n') | None => {}
                    Some(e) => {
                        value.push(e);
                        last_unquoted_text = value.len();
                    }
                },
                c => {
                    value.push(c);
                    if !c.is_whitespace() {
                        last_unquoted_text = value.len();
                    }
                }
            }
        }
        value.truncate(last_unquoted_text);
        out.push((name, value));
    }
}

/// Split a line the way systemd splits quoted words (quotes removed, C escapes undone,
/// `%%` and, for command lines, `$$` folded). The inverse of [`quote`] for `Word`/`ExecArg`;
/// used to read installed units back and by tests. `None` on a malformed line.
pub fn unquote_words(line: &str, exec: bool) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(words);
        }
        let mut w = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    let e = chars.next()?;
                    match e {
                        'n' => w.push('\n'),
                        't' => w.push('\t'),
                        'r' => w.push('\r'),
                        'a' => w.push('\x07'),
                        'b' => w.push('\x08'),
                        'f' => w.push('\x0c'),
                        'v' => w.push('\x0b'),
                        's' => w.push(' '),
                        'x' => {
                            let h: String = [chars.next()?, chars.next()?].iter().collect();
                            w.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                        }
                        'u' => {
                            let h: String = (0..4).map(|_| chars.next()).collect::<Option<_>>()?;
                            w.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                        }
                        other => w.push(other),
                    }
                }
                (_, '%') => {
                    if chars.next()? != '%' {
                        return None;
                    }
                    w.push('%');
                }
                (_, '$') if exec => {
                    if chars.next()? != '$' {
                        return None;
                    }
                    w.push('$');
                }
                (_, c) => w.push(c),
            }
        }
        if quote.is_some() {
            return None;
        }
        words.push(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifiers_and_variables_are_escaped() {
        assert_eq!(quote("100%", Context::Line), "100%%");
        assert_eq!(quote("a$HOME%i", Context::ExecArg), r#""a$$HOME%%i""#);
        assert_eq!(quote("a$HOME", Context::Word), r#""a$HOME""#);
    }

    #[test]
    fn nothing_breaks_the_line() {
        let evil = "x\nExecStartPre=/bin/touch /tmp/pwned";
        for ctx in [Context::Line, Context::Word, Context::ExecArg] {
            assert!(!quote(evil, ctx).contains('\n'));
        }
        assert_eq!(
            env("A", evil),
            r#""A=x\nExecStartPre=/bin/touch /tmp/pwned""#
        );
    }

    #[test]
    fn round_trip() {
        let words = vec![
            "/usr/bin/node".to_string(),
            "it's \"quoted\"".into(),
            "back\\slash".into(),
            "tab\there\r\n".into(),
            "ünïcødé ✓".into(),
            "".into(),
            "\u{1}\u{7f}\u{85}".into(),
        ];
        assert_eq!(unquote_words(&exec(&words), true).unwrap(), words);
    }
}

#[cfg(test)]
mod env_file_tests {
    use super::*;

    #[test]
    fn env_file_lines_read_back_byte_for_byte() {
        let values = [
            "",
            "plain",
            "two words ",
            " lead",
            "q\"u'o`t$e\\s",
            "line\nbreak\r\n",
            "trailing backslash\\",
            "#not a comment",
            "%i %n ${HOME} $HOME",
            "tab\tand\u{1}control",
            "ünïcödé ✓",
        ];
        let mut text = String::from("# a comment\n");
        for (i, v) in values.iter().enumerate() {
            text.push_str(&env_file_line(&format!("V{i}"), v));
        }
        let back = parse_env_file(&text);
        let want: Vec<(String, String)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("V{i}"), v.to_string()))
            .collect();
        assert_eq!(back, want);
    }
}
