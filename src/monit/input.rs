//! Keys to actions: what each key means, and nothing else.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::model::Op;

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The row above.
    Up,
    /// The row below.
    Down,
    /// A page of rows up.
    PageUp,
    /// A page of rows down.
    PageDown,
    /// The first row.
    First,
    /// The last row.
    Last,
    /// Act on the selected app.
    Run(Op),
    /// Show or hide the help.
    Help,
    /// Esc: close the help, or quit.
    Back,
    /// Quit.
    Quit,
    /// Draw the whole screen again (Ctrl-L).
    Redraw,
}

/// The action of a key, if it has one.
pub fn action(key: &KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') | KeyCode::Char('d') => Some(Action::Quit),
            KeyCode::Char('l') => Some(Action::Redraw),
            _ => None,
        };
    }
    if key.modifiers.contains(KeyModifiers::ALT) {
        return None;
    }
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown | KeyCode::Char(' ') => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::First,
        KeyCode::End | KeyCode::Char('G') => Action::Last,
        KeyCode::Char('r') => Action::Run(Op::Restart),
        KeyCode::Char('l') => Action::Run(Op::Reload),
        KeyCode::Char('s') => Action::Run(Op::Stop),
        KeyCode::Char('S') => Action::Run(Op::Start),
        KeyCode::Char('?') | KeyCode::F(1) => Action::Help,
        KeyCode::Char('q') | KeyCode::Char('Q') => Action::Quit,
        KeyCode::Esc => Action::Back,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn keys_of_the_help_line() {
        let cases = [
            (key(KeyCode::Up), Action::Up),
            (key(KeyCode::Char('k')), Action::Up),
            (key(KeyCode::Down), Action::Down),
            (key(KeyCode::Char('j')), Action::Down),
            (key(KeyCode::Char('r')), Action::Run(Op::Restart)),
            (key(KeyCode::Char('l')), Action::Run(Op::Reload)),
            (key(KeyCode::Char('s')), Action::Run(Op::Stop)),
            (key(KeyCode::Char('?')), Action::Help),
            (key(KeyCode::Char('q')), Action::Quit),
            (key(KeyCode::Esc), Action::Back),
            (key(KeyCode::Home), Action::First),
            (key(KeyCode::End), Action::Last),
            (key(KeyCode::PageDown), Action::PageDown),
            (ctrl('c'), Action::Quit),
            (ctrl('l'), Action::Redraw),
        ];
        for (k, want) in cases {
            assert_eq!(action(&k), Some(want), "{k:?}");
        }
    }

    #[test]
    fn shift_s_starts_and_plain_s_stops() {
        // Terminals send a capital letter with SHIFT, or without it (tmux, some SSH clients).
        let shifted = KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT);
        assert_eq!(action(&shifted), Some(Action::Run(Op::Start)));
        assert_eq!(
            action(&key(KeyCode::Char('S'))),
            Some(Action::Run(Op::Start))
        );
        assert_eq!(
            action(&key(KeyCode::Char('s'))),
            Some(Action::Run(Op::Stop))
        );
    }

    #[test]
    fn other_keys_and_releases_do_nothing() {
        assert_eq!(action(&key(KeyCode::Char('x'))), None);
        assert_eq!(action(&ctrl('r')), None, "Ctrl-R is not r");
        assert_eq!(
            action(&KeyEvent::new(KeyCode::Char('r'), KeyModifiers::ALT)),
            None
        );
        let mut release = key(KeyCode::Char('r'));
        release.kind = KeyEventKind::Release;
        assert_eq!(action(&release), None);
    }
}
