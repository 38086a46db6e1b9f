//! Unit files from the templates in `templates/`: handlebars with HTML escaping off, where
//! every value goes through one of the quoting helpers of [`crate::core::quote`].

use handlebars::{handlebars_helper, Handlebars};
use serde::Serialize;

use crate::core::quote::{self, Context};

/// The templates, compiled into the binary so that it needs no files beside it.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("service", include_str!("../../templates/service.hbs")),
    ("socket", include_str!("../../templates/socket.hbs")),
    ("slice", include_str!("../../templates/slice.hbs")),
    ("target", include_str!("../../templates/target.hbs")),
    ("timer", include_str!("../../templates/timer.hbs")),
    ("restart", include_str!("../../templates/restart.hbs")),
    ("watch", include_str!("../../templates/watch.hbs")),
];

/// The helpers a template may call on a value; anything else in `{{ }}` is a block keyword.
pub const HELPERS: &[&str] = &["line", "word", "exec", "env", "value"];

handlebars_helper!(line: |s: str| quote::quote(s, Context::Line));
handlebars_helper!(value: |s: str| quote::quote(s, Context::Verbatim));
handlebars_helper!(word: |s: str| quote::quote(s, Context::Word));
handlebars_helper!(env: |k: str, v: str| quote::env(k, v));
handlebars_helper!(exec: |words: array| {
    let words: Vec<String> = words.iter().map(|w| w.as_str().unwrap_or_default().to_string()).collect();
    quote::exec(&words)
});

/// The template engine, set up once.
pub struct Renderer {
    hb: Handlebars<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// Register the templates and the quoting helpers.
    pub fn new() -> Self {
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        hb.set_strict_mode(true);
        hb.register_helper("line", Box::new(line));
        hb.register_helper("word", Box::new(word));
        hb.register_helper("value", Box::new(value));
        hb.register_helper("env", Box::new(env));
        hb.register_helper("exec", Box::new(exec));
        for (name, text) in TEMPLATES {
            // The templates ship inside the binary and are checked by the tests.
            hb.register_template_string(name, *text)
                .unwrap_or_else(|e| panic!("template {name} is broken: {e}"));
        }
        Renderer { hb }
    }

    /// Render one unit; blank-line runs are folded so that templates can stay readable.
    pub fn render<T: Serialize>(
        &self,
        template: &str,
        data: &T,
    ) -> Result<String, handlebars::RenderError> {
        let raw = self.hb.render(template, data)?;
        let mut out = String::with_capacity(raw.len());
        let mut blank = true;
        for l in raw.lines() {
            let l = l.trim_end();
            if l.is_empty() {
                if !blank {
                    out.push('\n');
                }
                blank = true;
            } else {
                out.push_str(l);
                // systemd joins a line that ends in an odd number of backslashes with the next
                // one, which would swallow the next directive (`WorkingDirectory=/srv/a\` then
                // `User=`). A trailing space stops that, and systemd strips it from the value.
                if (l.len() - l.trim_end_matches('\\').len()) % 2 == 1 {
                    out.push(' ');
                }
                out.push('\n');
                blank = false;
            }
        }
        while out.ends_with("\n\n") {
            out.pop();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `{{ }}` in a template is a block keyword or a quoting helper: no raw value.
    #[test]
    fn templates_quote_every_value() {
        for (name, text) in TEMPLATES {
            for expr in text.split("{{").skip(1) {
                let expr = expr
                    .split("}}")
                    .next()
                    .unwrap_or_default()
                    .trim_matches('~')
                    .trim();
                let head = expr.split_whitespace().next().unwrap_or_default();
                let ok = ["#if", "/if", "#each", "/each", "else", "#unless", "/unless"]
                    .contains(&head)
                    || HELPERS.contains(&head)
                    || expr.starts_with('!');
                assert!(
                    ok,
                    "template {name} writes {{{{{expr}}}}} without a quoting helper"
                );
            }
        }
    }
}
