//! Five-field cron expressions (PM2's `cron_restart`) turned into systemd `OnCalendar=` values.

use super::value::ValueError;

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// A schedule as one or more `OnCalendar=` expressions (cron ORs day-of-month with day-of-week
/// when both are set; systemd ANDs them, so that case needs two expressions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// The original expression, for comments.
    pub source: String,
    /// The `OnCalendar=` values.
    pub on_calendar: Vec<String>,
}

/// One field: `None` for `*`, else the sorted list of values it matches.
type Field = Option<Vec<u32>>;

fn field(text: &str, name: &str, min: u32, max: u32, names: &[&str]) -> Result<Field, ValueError> {
    let bad = |why: String| {
        let why = if why.is_empty() {
            why
        } else {
            format!(": {why}")
        };
        (
            format!("a cron {name} from {min} to {max}, found {text:?}{why}"),
            Some(
                "fields are: minute hour day-of-month month day-of-week, as in \"0 3 * * *\""
                    .to_string(),
            ),
        )
    };
    if text == "*" {
        return Ok(None);
    }
    let value = |s: &str| -> Result<u32, ValueError> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + min);
        }
        let v: u32 = s
            .parse()
            .map_err(|_| bad(format!("{s:?} is not a number")))?;
        // day-of-week 7 is Sunday, as in cron
        let v = if name == "day-of-week" && v == 7 {
            0
        } else {
            v
        };
        if v < min || v > max {
            return Err(bad(String::new()));
        }
        Ok(v)
    };
    let mut out = Vec::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| bad(format!("step {s:?} is not a number")))?;
                if step == 0 {
                    return Err(bad("a step of 0".into()));
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, if name == "day-of-week" { 6 } else { max })
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if step > 1 { max } else { v })
        };
        if lo > hi {
            return Err(bad(format!("range {lo}-{hi} goes backwards")));
        }
        out.extend((lo..=hi).step_by(step as usize));
    }
    out.sort_unstable();
    out.dedup();
    Ok(Some(out))
}

fn list(values: &Field, width: usize) -> String {
    match values {
        None => "*".to_string(),
        Some(v) => v
            .iter()
            .map(|n| format!("{n:0width$}"))
            .collect::<Vec<_>>()
            .join(","),
    }
}

impl Cron {
    /// Parse `"0 3 * * *"` and friends (lists, ranges, steps, month and day names).
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let parts: Vec<&str> = s.split_whitespace().collect();
        if parts.len() != 5 {
            return Err((
                format!(
                    "a cron expression of 5 fields, found {} field{} in {s:?}",
                    parts.len(),
                    if parts.len() == 1 { "" } else { "s" }
                ),
                Some("minute hour day-of-month month day-of-week, as in \"0 3 * * *\" (every day at 03:00)".into()),
            ));
        }
        let minute = field(parts[0], "minute", 0, 59, &[])?;
        let hour = field(parts[1], "hour", 0, 23, &[])?;
        let dom = field(parts[2], "day-of-month", 1, 31, &[])?;
        let month = field(parts[3], "month", 1, 12, &MONTHS)?;
        let dow = field(parts[4], "day-of-week", 0, 7, &DAYS)?;
        let time = format!("{}:{}:00", list(&hour, 2), list(&minute, 2));
        let date = |dom: &Field| format!("*-{}-{}", list(&month, 2), list(dom, 2));
        let weekdays = |d: &Vec<u32>| {
            d.iter()
                .map(|&i| DAYS[i as usize])
                .collect::<Vec<_>>()
                .join(",")
        };
        let on_calendar = match (&dom, &dow) {
            (_, None) => vec![format!("{} {time}", date(&dom))],
            (None, Some(d)) => vec![format!("{} {} {time}", weekdays(d), date(&None))],
            (Some(_), Some(d)) => vec![
                format!("{} {time}", date(&dom)),
                format!("{} {} {time}", weekdays(d), date(&None)),
            ],
        };
        Ok(Cron {
            source: s.to_string(),
            on_calendar,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_at_three() {
        assert_eq!(
            Cron::parse("0 3 * * *").unwrap().on_calendar,
            ["*-*-* 03:00:00"]
        );
    }

    #[test]
    fn steps_lists_and_names() {
        let c = Cron::parse("*/15 9-17 * * mon-fri").unwrap();
        assert_eq!(
            c.on_calendar,
            ["Mon,Tue,Wed,Thu,Fri *-*-* 09,10,11,12,13,14,15,16,17:00,15,30,45:00"]
        );
    }

    #[test]
    fn dom_and_dow_are_ored_as_in_cron() {
        let c = Cron::parse("0 0 1 * 0").unwrap();
        assert_eq!(c.on_calendar, ["*-*-01 00:00:00", "Sun *-*-* 00:00:00"]);
    }

    #[test]
    fn bad_fields_are_named() {
        let e = Cron::parse("0 25 * * *").unwrap_err();
        assert!(e.0.contains("hour"), "{}", e.0);
        assert!(Cron::parse("0 3 * *").is_err());
    }
}
