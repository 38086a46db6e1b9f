//! The screen, as a function of the model: a title line, the table of instances, the selected
//! app's log lines, a status line and a help line. Columns give way as the terminal narrows
//! (PID first, then UPTIME, then RESTARTS), and wide terminals get TASKS and LISTEN. ASCII only,
//! so that it reads the same over any SSH session and in any locale.

use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row as TableRow, Table};
use ratatui::Frame;

use super::model::{Cpu, Model, Row};
use crate::status::{human_bytes, human_ms, State};

/// A column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// `ns/app@N`.
    Name,
    /// online, stopped, …
    State,
    /// The main process.
    Pid,
    /// CPU % of one core.
    Cpu,
    /// Memory.
    Memory,
    /// systemd's restarts.
    Restarts,
    /// Since it started.
    Uptime,
    /// Processes and threads.
    Tasks,
    /// What the socket listens on.
    Listen,
}

impl Col {
    /// The header.
    pub fn title(self) -> &'static str {
        match self {
            Col::Name => "NAME",
            Col::State => "STATE",
            Col::Pid => "PID",
            Col::Cpu => "CPU",
            Col::Memory => "MEMORY",
            Col::Restarts => "RESTARTS",
            Col::Uptime => "UPTIME",
            Col::Tasks => "TASKS",
            Col::Listen => "LISTEN",
        }
    }

    /// Its width (the name takes what is left).
    fn width(self) -> u16 {
        match self {
            Col::Name => NAME_MIN,
            Col::State => 8,
            Col::Pid => 7,
            Col::Cpu => 6,
            Col::Memory => 7,
            Col::Restarts => 8,
            Col::Uptime => 6,
            Col::Tasks => 5,
            Col::Listen => 18,
        }
    }

    fn right(self) -> bool {
        !matches!(self, Col::Name | Col::State | Col::Listen)
    }
}

/// The name column is never narrower.
const NAME_MIN: u16 = 14;
/// Extra columns of a wide terminal only when the name keeps this much.
const NAME_WIDE: u16 = 30;

/// The columns that fit in `width`, in order, with their widths (the name takes the rest).
pub fn columns(width: u16) -> Vec<(Col, u16)> {
    let mut chosen = vec![Col::State, Col::Cpu, Col::Memory];
    let used = |c: &[Col]| c.iter().map(|c| c.width() + 1).sum::<u16>();
    for (extra, name_keeps) in [
        (Col::Restarts, NAME_MIN),
        (Col::Uptime, NAME_MIN),
        (Col::Pid, NAME_MIN),
        (Col::Tasks, NAME_WIDE),
        (Col::Listen, NAME_WIDE),
    ] {
        if used(&chosen) + extra.width() + 1 + name_keeps > width {
            break; // in order of what matters: none after one that does not fit
        }
        chosen.push(extra);
    }
    let order = [
        Col::Name,
        Col::State,
        Col::Pid,
        Col::Cpu,
        Col::Memory,
        Col::Restarts,
        Col::Uptime,
        Col::Tasks,
        Col::Listen,
    ];
    let name = width.saturating_sub(used(&chosen)).max(1);
    order
        .into_iter()
        .filter(|c| *c == Col::Name || chosen.contains(c))
        .map(|c| (c, if c == Col::Name { name } else { c.width() }))
        .collect()
}

/// Where each part goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// The title line.
    pub title: Rect,
    /// The table, its header line included.
    pub table: Rect,
    /// The log pane, its header line included (empty on a very short terminal).
    pub logs: Rect,
    /// The status line.
    pub status: Rect,
    /// The help line.
    pub keys: Rect,
}

impl Areas {
    /// How many rows of instances the table shows.
    pub fn page(&self) -> usize {
        usize::from(self.table.height.saturating_sub(1)).max(1)
    }
}

/// The parts of a screen of `area` showing `rows` instances: the table as tall as its rows
/// while the logs keep two fifths of the middle.
pub fn areas(area: Rect, rows: usize) -> Areas {
    let line = |y: u16, h: u16| Rect::new(area.x, y, area.width, h);
    let h = area.height;
    let middle = h.saturating_sub(3);
    let want = u16::try_from(rows + 1).unwrap_or(u16::MAX).max(2);
    let (table, logs) = if middle < 8 {
        (middle, 0)
    } else {
        let logs_min = (middle * 2 / 5).max(4);
        let table = want.min(middle - logs_min);
        (table, middle - table)
    };
    let top = area.y;
    Areas {
        title: line(top, h.min(1)),
        table: line(top + 1, table),
        logs: line(top + 1 + table, logs),
        status: line(top + 1 + middle, u16::from(h >= 2)),
        keys: line(top + 2 + middle, u16::from(h >= 3)),
    }
}

/// A CPU figure as the table shows it.
pub fn cpu_text(c: Cpu) -> String {
    match c {
        Cpu::Percent(p) if p < 9.95 => format!("{p:.1}%"),
        Cpu::Percent(p) => format!("{p:.0}%"),
        Cpu::Pending => "..".into(),
        Cpu::Unknown => "-".into(),
    }
}

fn cell_text(r: &Row, c: Col) -> String {
    let dash = || "-".to_string();
    match c {
        Col::Name => r.name(),
        Col::State => r.state.to_string(),
        Col::Pid => r.pid.map_or_else(dash, |p| p.to_string()),
        Col::Cpu => cpu_text(r.cpu),
        Col::Memory => r.memory.map_or_else(dash, human_bytes),
        Col::Restarts => r.restarts.map_or_else(dash, |n| n.to_string()),
        Col::Uptime => r.uptime_ms.map_or_else(dash, human_ms),
        Col::Tasks => r.tasks.map_or_else(dash, |n| n.to_string()),
        Col::Listen => {
            if r.listen.is_empty() {
                dash()
            } else {
                r.listen.join(",")
            }
        }
    }
}

struct Theme {
    color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    fn state(&self, s: State) -> Style {
        match s {
            State::Online => self.fg(Color::Green),
            State::Errored | State::Crashing => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            State::Starting | State::Stopping | State::Restarting => self.fg(Color::Yellow),
            State::Stopped => Style::new().add_modifier(Modifier::DIM),
        }
    }

    fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    fn bar(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

/// Draw the model.
pub fn draw(f: &mut Frame, m: &Model) {
    let t = Theme { color: m.color };
    let a = areas(f.area(), m.rows.len());
    draw_title(f, m, &t, a.title);
    draw_table(f, m, &t, a.table);
    draw_logs(f, m, &t, a.logs);
    f.render_widget(Paragraph::new(status_line(m, &t)), a.status);
    f.render_widget(Paragraph::new(keys_line(a.keys.width, &t)), a.keys);
    if m.help {
        draw_help(f, m);
    }
}

fn draw_title(f: &mut Frame, m: &Model, t: &Theme, area: Rect) {
    let online = m.rows.iter().filter(|r| r.state == State::Online).count();
    let left = format!(
        " unitgen monit  {}  {} instances, {online} online",
        m.scope,
        m.rows.len()
    );
    let right = format!("every {}s  ? help ", m.interval.as_secs_f64());
    let style = t.bar().add_modifier(Modifier::BOLD);
    f.render_widget(Paragraph::new(Line::from(left)).style(style), area);
    if usize::from(area.width) >= m.scope.len() + right.len() + 40 {
        f.render_widget(
            Paragraph::new(Line::from(right).alignment(Alignment::Right)).style(style),
            area,
        );
    }
}

fn draw_table(f: &mut Frame, m: &Model, t: &Theme, area: Rect) {
    if area.height == 0 {
        return;
    }
    let cols = columns(area.width);
    let align = |c: Col, s: String| -> Line<'static> {
        if c.right() {
            Line::from(s).alignment(Alignment::Right)
        } else {
            Line::from(s)
        }
    };
    let header = TableRow::new(
        cols.iter()
            .map(|&(c, _)| Cell::from(align(c, c.title().to_string()))),
    )
    .style(Style::new().add_modifier(Modifier::BOLD));
    let sel_key = m.selected_row().map(|r| &r.key);
    let page = usize::from(area.height.saturating_sub(1));
    let rows: Vec<TableRow> = m
        .rows
        .iter()
        .enumerate()
        .skip(m.offset)
        .take(page)
        .map(|(i, r)| {
            let cells = cols.iter().map(|&(c, _)| {
                let cell = Cell::from(align(c, cell_text(r, c)));
                match c {
                    Col::State => cell.style(t.state(r.state)),
                    _ => cell,
                }
            });
            let mut style = Style::new();
            if Some(&r.key) == sel_key {
                style = style.add_modifier(Modifier::BOLD);
            }
            if i == m.selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            TableRow::new(cells).style(style)
        })
        .collect();
    let mut table = Table::new(rows, cols.iter().map(|&(_, w)| w))
        .header(header)
        .column_spacing(1);
    if m.rows.is_empty() {
        let text = if m.error.is_some() {
            "(cannot read systemd's state: see below)"
        } else if !m.ready {
            "(reading systemd's state...)"
        } else {
            "(no apps installed here; `unitgen apply FILE` installs some)"
        };
        table = Table::new(
            [TableRow::new([Cell::from(text)]).style(t.dim())],
            [area.width],
        )
        .header(TableRow::new([Cell::from(
            cols.iter()
                .map(|(c, _)| c.title())
                .collect::<Vec<_>>()
                .join(" "),
        )]));
    }
    f.render_widget(table, area);
}

fn draw_logs(f: &mut Frame, m: &Model, t: &Theme, area: Rect) {
    if area.height == 0 {
        return;
    }
    let who = m
        .log_app
        .as_ref()
        .map_or_else(|| "(no app selected)".to_string(), |k| k.to_string());
    let wide = area.width >= 60;
    let head = format!(
        " logs of {who}{}",
        if wide {
            "  (journal, times in UTC)"
        } else {
            ""
        }
    );
    let mut lines = vec![Line::from(head).style(t.bar())];
    let room = usize::from(area.height - 1);
    if m.logs.is_empty() {
        lines.push(Line::from(" (no log lines yet)").style(t.dim()));
    }
    let skip = m.logs.len().saturating_sub(room);
    for l in m.logs.iter().skip(skip) {
        let mut spans = Vec::new();
        if wide {
            spans.push(Span::styled(format!(" {} ", l.time), t.dim()));
        } else {
            spans.push(Span::raw(" "));
        }
        let who = l
            .instance
            .map_or_else(|| "@?".to_string(), |i| format!("@{i}"));
        spans.push(Span::styled(format!("{who} "), t.dim()));
        if l.systemd {
            spans.push(Span::styled(format!("systemd: {}", l.text), t.dim()));
        } else if l.error {
            spans.push(Span::styled(l.text.clone(), t.error()));
        } else {
            spans.push(Span::raw(l.text.clone()));
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// The status line: what failed, what runs, the last outcome, and the one note about CPU.
fn status_line(m: &Model, t: &Theme) -> Line<'static> {
    let mut parts: Vec<Span> = Vec::new();
    if let Some(e) = &m.error {
        parts.push(Span::styled(
            format!("cannot read systemd's state: {e}"),
            t.error(),
        ));
    }
    for j in m.jobs.values() {
        parts.push(Span::styled(j.step.clone(), t.fg(Color::Yellow)));
    }
    if let Some(n) = &m.note {
        let style = if n.error {
            t.error()
        } else {
            t.fg(Color::Green)
        };
        parts.push(Span::styled(n.text.clone(), style));
    }
    if m.cpu_missing {
        parts.push(Span::styled(
            "CPU -: these cgroups have no cpu.stat (no cgroup v2 here)".to_string(),
            t.dim(),
        ));
    }
    if !m.ready && m.error.is_none() {
        parts.push(Span::styled("reading systemd's state...", t.dim()));
    }
    let mut spans = vec![Span::raw(" ")];
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("  |  ", t.dim()));
        }
        spans.push(p);
    }
    Line::from(spans)
}

/// The help line, as long as the width allows.
fn keys_line(width: u16, t: &Theme) -> Line<'static> {
    let full = [
        ("j/k", "select"),
        ("r", "restart"),
        ("l", "reload"),
        ("s", "stop"),
        ("S", "start"),
        ("?", "help"),
        ("q", "quit"),
    ];
    let long: usize = full.iter().map(|(k, w)| k.len() + w.len() + 3).sum();
    let mut spans = vec![Span::raw(" ")];
    for (k, w) in full {
        spans.push(Span::styled(k, Style::new().add_modifier(Modifier::BOLD)));
        if long < usize::from(width) {
            spans.push(Span::styled(format!(" {w}  "), t.dim()));
        } else {
            spans.push(Span::raw(" "));
        }
    }
    Line::from(spans)
}

/// The lines of the help.
pub fn help_lines(m: &Model) -> Vec<String> {
    let every = m.interval.as_secs_f64();
    [
        format!("unitgen monit: every instance, read from systemd every {every}s"),
        String::new(),
        " j k, arrows     select (PgUp PgDn, g G: by page, first, last)".into(),
        " r               restart the selected app: every instance at once".into(),
        " l               reload it: rolling, one instance after the other".into(),
        " s / S           stop / start it (its socket too)".into(),
        " Ctrl-L          draw the screen again".into(),
        " q, Esc, Ctrl-C  quit".into(),
        String::new(),
        " CPU       share of one core between the last two refreshes".into(),
        "           (the cgroup's cpu.stat); - where it cannot be read".into(),
        " MEMORY    the cgroup's memory, or its processes' resident memory".into(),
        " RESTARTS  systemd's restarts of the instance (NRestarts)".into(),
        " logs      the selected app's journal; systemd's lines marked".into(),
        String::new(),
        "any key closes this help".into(),
    ]
    .into()
}

fn draw_help(f: &mut Frame, m: &Model) {
    let lines = help_lines(m);
    let outer = f.area();
    let w = (lines.iter().map(String::len).max().unwrap_or(0) as u16 + 4).min(outer.width);
    let h = (lines.len() as u16 + 2).min(outer.height);
    let area = Rect::new(
        outer.x + (outer.width - w) / 2,
        outer.y + (outer.height - h) / 2,
        w,
        h,
    );
    let ascii = border::Set {
        top_left: "+",
        top_right: "+",
        bottom_left: "+",
        bottom_right: "+",
        vertical_left: "|",
        vertical_right: "|",
        horizontal_top: "-",
        horizontal_bottom: "-",
    };
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines.into_iter().map(Line::from).collect::<Vec<_>>())
            .block(Block::bordered().border_set(ascii).title(" help ")),
        area,
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::*;
    use crate::monit::model::tests::{app, inst};
    use crate::monit::model::{AppKey, LogLine, Note, Sample};

    fn screen(m: &mut Model, w: u16, h: u16) -> Vec<String> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let a = areas(Rect::new(0, 0, w, h), m.rows.len());
        m.keep_visible(a.page());
        term.draw(|f| draw(f, m)).unwrap();
        let buf = term.backend().buffer().clone();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    fn model(instances: u32) -> Model {
        let mut m = Model::new("all apps", Duration::from_secs(1), false);
        let mk = |t: u64, cpu: u64| Sample {
            at: Duration::from_millis(t),
            apps: vec![
                app("prod", "api", &(1..=instances).collect::<Vec<_>>(), true),
                app("prod", "spin", &[1], false),
            ],
            instances: (1..=instances)
                .map(|i| inst("prod", "api", i, Some(100 + i), Some(cpu / 100)))
                .chain([inst("prod", "spin", 1, Some(99), Some(cpu))])
                .collect(),
        };
        m.sample(mk(0, 0));
        m.sample(mk(1000, 990_000_000));
        m.following(Some(AppKey {
            namespace: "prod".into(),
            app: "api".into(),
        }));
        for n in 0..30 {
            m.log(LogLine {
                time: "10:00:00".into(),
                instance: Some(1),
                text: format!("tick {n} pid 101"),
                error: n == 29,
                systemd: false,
            });
        }
        m
    }

    #[test]
    fn columns_give_way_as_the_terminal_narrows() {
        let names = |w| {
            columns(w)
                .iter()
                .map(|(c, _)| c.title())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            names(80),
            "NAME STATE PID CPU MEMORY RESTARTS UPTIME",
            "80 columns: every column PM2 users look at"
        );
        assert_eq!(names(60), "NAME STATE CPU MEMORY RESTARTS UPTIME");
        assert_eq!(names(47), "NAME STATE CPU MEMORY RESTARTS");
        assert_eq!(names(46), "NAME STATE CPU MEMORY");
        assert_eq!(names(30), "NAME STATE CPU MEMORY");
        assert_eq!(
            names(140),
            "NAME STATE PID CPU MEMORY RESTARTS UPTIME TASKS LISTEN"
        );
        for w in [20, 30, 45, 60, 80, 100, 140, 200] {
            let total: u16 = columns(w).iter().map(|(_, c)| c + 1).sum::<u16>() - 1;
            assert!(total <= w.max(30), "{w}: {total}");
        }
        let name_at_80 = columns(80)[0].1;
        assert!(name_at_80 >= 28, "room for prod/some-app@12: {name_at_80}");
    }

    #[test]
    fn areas_fill_the_screen_and_leave_room_for_logs() {
        let a = areas(Rect::new(0, 0, 80, 24), 100);
        assert_eq!(
            a.title.height + a.table.height + a.logs.height + a.status.height + a.keys.height,
            24
        );
        assert_eq!((a.status.y, a.keys.y), (22, 23));
        assert!(a.logs.height >= 8, "{a:?}");
        assert_eq!(a.page(), usize::from(a.table.height) - 1);
        // Few instances: the table is as tall as they are, the logs get the rest.
        let a = areas(Rect::new(0, 0, 80, 24), 3);
        assert_eq!(a.table.height, 4);
        assert_eq!(a.logs.height, 17);
        // Tiny: no logs, still a status and a help line.
        let a = areas(Rect::new(0, 0, 80, 8), 3);
        assert_eq!(a.logs.height, 0);
        assert_eq!(a.keys.y, 7);
    }

    #[test]
    fn at_80x24_every_part_is_there() {
        let mut m = model(2);
        m.note = Some(Note {
            text: "restarted prod/api".into(),
            error: false,
        });
        let s = screen(&mut m, 80, 24);
        let text = s.join("\n");
        assert!(s[0].contains("unitgen monit") && s[0].contains("3 instances, 3 online"));
        assert!(s[1].starts_with("NAME"), "{text}");
        for h in ["STATE", "PID", "CPU", "MEMORY", "RESTARTS", "UPTIME"] {
            assert!(s[1].contains(h), "no {h}:\n{text}");
        }
        let api1 = s.iter().find(|l| l.starts_with("prod/api@1")).unwrap();
        assert!(api1.contains("online") && api1.contains("101"), "{api1}");
        assert!(api1.contains(" 1.0% "), "{api1}");
        let spin = s.iter().find(|l| l.starts_with("prod/spin@1")).unwrap();
        assert!(spin.contains("99%") && spin.contains("12.0M"), "{spin}");
        assert!(spin.contains("1m"), "uptime 65 s: {spin}");
        assert!(s[5].contains("logs of prod/api"), "{text}");
        assert!(text.contains("@1 tick 29 pid 101"), "{text}");
        assert!(s[22].contains("restarted prod/api"), "{text}");
        assert!(
            s[23].contains("r restart") && s[23].contains("q quit"),
            "{text}"
        );
        assert!(s.iter().all(|l| l.chars().count() <= 80));
        assert!(s.iter().all(|l| l.is_ascii()), "{text}");
    }

    #[test]
    fn with_100_instances_the_selected_row_stays_on_screen() {
        let mut m = model(100);
        let s = screen(&mut m, 80, 24);
        assert!(s[2].starts_with("prod/api@1 "), "{}", s.join("\n"));
        for _ in 0..40 {
            m.action(crate::monit::input::Action::Down);
        }
        let s = screen(&mut m, 80, 24);
        let text = s.join("\n");
        assert!(text.contains("prod/api@41 "), "{text}");
        assert!(!text.contains("prod/api@1 "), "{text}");
        assert!(s[22].is_empty() || !s[22].contains("prod/"), "{text}");
    }

    #[test]
    fn wide_terminals_show_more_and_narrow_ones_less() {
        let mut m = model(2);
        let s = screen(&mut m, 140, 40);
        assert!(
            s[1].contains("TASKS") && s[1].contains("LISTEN"),
            "{}",
            s[1]
        );
        assert!(s.iter().any(|l| l.contains("times in UTC")));
        let s = screen(&mut m, 50, 24);
        assert!(!s[1].contains("PID"), "{}", s[1]);
        assert!(s.iter().all(|l| l.chars().count() <= 50));
        assert!(s[23].contains("r ") && s[23].contains("q"), "{}", s[23]);
    }

    #[test]
    fn the_cpu_note_the_help_and_an_empty_screen() {
        let mut m = Model::new("namespace prod", Duration::from_secs(1), false);
        let s = screen(&mut m, 80, 24);
        assert!(s.join("\n").contains("reading systemd's state"));
        m.sample(Sample {
            at: Duration::ZERO,
            apps: vec![],
            instances: vec![],
        });
        assert!(screen(&mut m, 80, 24)
            .join("\n")
            .contains("no apps installed"));
        m.sample(Sample {
            at: Duration::ZERO,
            apps: vec![app("prod", "api", &[1], false)],
            instances: vec![inst("prod", "api", 1, Some(5), None)],
        });
        let s = screen(&mut m, 80, 24);
        let row = s.iter().find(|l| l.starts_with("prod/api@1")).unwrap();
        assert_eq!(row.split_whitespace().nth(3), Some("-"), "{row}");
        assert!(s[22].contains("CPU -: "), "{}", s[22]);
        m.help = true;
        let text = screen(&mut m, 80, 24).join("\n");
        assert!(text.contains("share of one core"), "{text}");
        assert!(text.contains("reload it: rolling"), "{text}");
    }

    #[test]
    fn human_figures() {
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(12 << 20), "12.0M");
        assert_eq!(human_bytes(300 << 20), "300M");
        assert_eq!(human_ms(59_999), "59s");
        assert_eq!(human_ms(3_600_000), "1h");
        assert_eq!(cpu_text(Cpu::Percent(0.04)), "0.0%");
        assert_eq!(cpu_text(Cpu::Percent(99.4)), "99%");
        assert_eq!(cpu_text(Cpu::Pending), "..");
    }
}
