//! Maintenance windows: when a target (or one of its databases) may start rebuilds.
//!
//! A window opens on each of its days at `starts_at` and closes at `ends_at`, local
//! times in its IANA time zone; `ends_at <= starts_at` closes it the next day. All
//! windows whose target pattern and database match apply together (a union, no
//! "most specific wins"): windows that overlap or touch make one longer window. A
//! database that no window matches has no restriction.
//!
//! Around clock changes a local time is resolved like RFC 5545 and Temporal's
//! "compatible" rule: a time in a gap (02:30 when clocks jump from 02:00 to 03:00)
//! is read on the offset before the gap, so it lands an hour later (03:30); a time
//! that occurs twice is its earlier occurrence. A window squeezed to nothing by a
//! gap does not open that day.
//!
//! The time zone database is compiled in (Lambda images may have none).

mod days;

use std::time::Duration;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};
use wildmatch::WildMatch;

pub(crate) use days::Days;

/// How far ahead a window's opening is looked for, and a run of windows followed.
pub(crate) const LOOKAHEAD: Duration = Duration::from_secs(8 * 24 * 60 * 60);

const SECONDS_PER_DAY: i32 = 24 * 60 * 60;

/// One row of `index_pilot.maintenance_windows`, as stored. Times are seconds since
/// local midnight (`ends_at` may be 86400, 24:00).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRow {
    pub id: i64,
    pub target: String,
    pub database: Option<String>,
    pub days: String,
    pub starts_at: i32,
    pub ends_at: i32,
    pub time_zone: String,
    pub comment: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WindowError {
    #[error(
        "maintenance window #{id}: unknown time zone {zone:?} \
         (an IANA name such as Europe/Berlin or UTC)"
    )]
    UnknownTimeZone { id: i64, zone: String },
    #[error("maintenance window #{id}: bad days {days:?}: {problem}")]
    BadDays {
        id: i64,
        days: String,
        problem: String,
    },
    #[error("maintenance window #{id}: {problem}")]
    BadRow { id: i64, problem: String },
}

/// Whether a database may start rebuilds at a given instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowState {
    /// No window applies to the database: no restriction.
    Always,
    /// Inside a window, until `closes_at` (in the time zone of the window that ends
    /// the run of overlapping or touching windows; at most [`LOOKAHEAD`] ahead).
    Open { closes_at: Zoned },
    /// Outside every window; `opens_at` is the next opening (in that window's time
    /// zone), or `None` when none opens within [`LOOKAHEAD`].
    Closed { opens_at: Option<Zoned> },
}

impl WindowState {
    /// Whether a rebuild predicted to take `predicted` may start at `now`: always
    /// without windows; inside one, when it ends by the time the window closes.
    pub(crate) fn allows(&self, now: Timestamp, predicted: Duration) -> bool {
        match self {
            WindowState::Always => true,
            WindowState::Open { closes_at } => now
                .checked_add(predicted)
                .is_ok_and(|end| end <= closes_at.timestamp()),
            WindowState::Closed { .. } => false,
        }
    }

    /// How long a rebuild predicted to take `predicted` may still wait before it
    /// starts and yet end inside the window; `None`: no window, no limit.
    pub(crate) fn slack(&self, now: Timestamp, predicted: Duration) -> Option<Duration> {
        match self {
            WindowState::Always => None,
            WindowState::Open { closes_at } => {
                let left = now.duration_until(closes_at.timestamp());
                let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
                Some(left.saturating_sub(predicted))
            }
            WindowState::Closed { .. } => Some(Duration::ZERO),
        }
    }

    /// For the report: "outside its maintenance windows until 2026-11-23 01:00 UTC
    /// (02:00 Europe/Berlin)".
    pub(crate) fn describe(&self) -> String {
        match self {
            WindowState::Always => "no maintenance window applies".to_owned(),
            WindowState::Open { closes_at } => {
                format!("inside a maintenance window until {}", moment(closes_at))
            }
            WindowState::Closed {
                opens_at: Some(opens_at),
            } => format!("outside its maintenance windows until {}", moment(opens_at)),
            WindowState::Closed { opens_at: None } => {
                "outside its maintenance windows, none opening within 8 days".to_owned()
            }
        }
    }
}

/// `2026-11-23 01:00 UTC (02:00 Europe/Berlin)`: seconds only when there are some,
/// the local date only when it is not the UTC one.
fn moment(at: &Zoned) -> String {
    let utc = at.timestamp().to_zoned(TimeZone::UTC);
    let seconds = utc.second() != 0 || at.second() != 0;
    let clock = if seconds { "%H:%M:%S" } else { "%H:%M" };
    let utc_text = format!("{} {} UTC", utc.strftime("%Y-%m-%d"), utc.strftime(clock));
    let zone = at.time_zone();
    if zone
        .iana_name()
        .is_none_or(|name| name == "UTC" || name == "Etc/UTC")
    {
        return utc_text;
    }
    let name = zone.iana_name().unwrap_or("local time");
    if at.date() == utc.date() {
        format!("{utc_text} ({} {name})", at.strftime(clock))
    } else {
        format!(
            "{utc_text} ({} {} {name})",
            at.strftime("%Y-%m-%d"),
            at.strftime(clock)
        )
    }
}

#[derive(Debug)]
struct Window {
    target: WildMatch,
    database: Option<String>,
    days: Days,
    starts_at: i32,
    ends_at: i32,
    zone: TimeZone,
}

/// One opening of one window, or a run of openings that overlap or touch.
struct Interval<'a> {
    start: Timestamp,
    end: Timestamp,
    opens_in: &'a TimeZone,
    closes_in: &'a TimeZone,
}

/// The instant of a local time `seconds` after midnight of `date` (86400: the next
/// midnight), with the compatible rule for gaps and folds.
fn local_instant(zone: &TimeZone, date: Date, seconds: i32) -> Option<Timestamp> {
    let date = date
        .checked_add(i64::from(seconds.div_euclid(SECONDS_PER_DAY)).days())
        .ok()?;
    let seconds = seconds.rem_euclid(SECONDS_PER_DAY);
    let time = Time::new(
        i8::try_from(seconds / 3600).ok()?,
        i8::try_from(seconds / 60 % 60).ok()?,
        i8::try_from(seconds % 60).ok()?,
        0,
    )
    .ok()?;
    zone.to_ambiguous_timestamp(date.to_datetime(time))
        .compatible()
        .ok()
}

impl Window {
    fn from_row(row: &WindowRow) -> Result<Window, WindowError> {
        let bad = |problem: String| WindowError::BadRow {
            id: row.id,
            problem,
        };
        if row.target.trim().is_empty() {
            return Err(bad("target is empty".to_owned()));
        }
        if !(0..SECONDS_PER_DAY).contains(&row.starts_at) {
            return Err(bad(format!(
                "starts_at must be a time of day before 24:00, not {} seconds after midnight",
                row.starts_at
            )));
        }
        if !(0..=SECONDS_PER_DAY).contains(&row.ends_at) {
            return Err(bad(format!(
                "ends_at must be a time of day up to 24:00, not {} seconds after midnight",
                row.ends_at
            )));
        }
        let days = Days::parse(&row.days).map_err(|problem| WindowError::BadDays {
            id: row.id,
            days: row.days.clone(),
            problem,
        })?;
        let zone =
            TimeZone::get(row.time_zone.trim()).map_err(|_| WindowError::UnknownTimeZone {
                id: row.id,
                zone: row.time_zone.clone(),
            })?;
        Ok(Window {
            target: WildMatch::new(&row.target),
            database: row.database.clone(),
            days,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            zone,
        })
    }

    fn applies_to(&self, target: &str, database: &str) -> bool {
        self.target.matches(target) && self.database.as_deref().is_none_or(|d| d == database)
    }

    /// The window's openings on the local days from two before `now`'s to ten after:
    /// enough for any opening that contains `now` and any within [`LOOKAHEAD`],
    /// whatever the clock changes in between.
    fn openings(&self, now: Timestamp) -> Vec<Interval<'_>> {
        let today = now.to_zoned(self.zone.clone()).date();
        let Ok(first) = today.checked_sub(2.days()) else {
            return Vec::new();
        };
        // Closing the next day when the end is not after the start (equal: 24 hours).
        let ends_at = if self.ends_at <= self.starts_at {
            self.ends_at + SECONDS_PER_DAY
        } else {
            self.ends_at
        };
        first
            .series(1.day())
            .take(13)
            .filter(|date| self.days.contains(date.weekday()))
            .filter_map(|date| {
                Some(Interval {
                    start: local_instant(&self.zone, date, self.starts_at)?,
                    end: local_instant(&self.zone, date, ends_at)?,
                    opens_in: &self.zone,
                    closes_in: &self.zone,
                })
            })
            // A window inside a clock change's gap has no length that day.
            .filter(|interval| interval.start < interval.end)
            .collect()
    }
}

/// Every maintenance window of the fleet, parsed.
#[derive(Debug, Default)]
pub struct MaintenanceWindows {
    windows: Vec<Window>,
    /// Rows that could not be read, with the target pattern and database they name:
    /// nothing starts where they apply (better no rebuild than one at a time someone
    /// ruled out); elsewhere they change nothing.
    invalid: Vec<(WildMatch, Option<String>, WindowError)>,
}

impl MaintenanceWindows {
    /// Parses every row; the first bad one is an error naming its id and what is wrong.
    pub fn from_rows(rows: &[WindowRow]) -> Result<MaintenanceWindows, WindowError> {
        Ok(MaintenanceWindows {
            windows: rows
                .iter()
                .map(Window::from_row)
                .collect::<Result<_, _>>()?,
            invalid: Vec::new(),
        })
    }

    /// Every good row; the bad ones kept aside with the target and database they name.
    pub(crate) fn tolerant(rows: &[WindowRow]) -> MaintenanceWindows {
        let mut parsed = MaintenanceWindows::default();
        for row in rows {
            match Window::from_row(row) {
                Ok(window) => parsed.windows.push(window),
                Err(error) => {
                    parsed
                        .invalid
                        .push((WildMatch::new(&row.target), row.database.clone(), error))
                }
            }
        }
        parsed
    }

    /// The first bad row that names `database` of `target`.
    pub(crate) fn invalid_for(&self, target: &str, database: &str) -> Option<&WindowError> {
        self.invalid
            .iter()
            .find(|(pattern, db, _)| {
                pattern.matches(target) && db.as_deref().is_none_or(|d| d == database)
            })
            .map(|(_, _, error)| error)
    }

    /// Whether `database` of `target` may start rebuilds at `now`.
    pub fn state(&self, target: &str, database: &str, now: Timestamp) -> WindowState {
        let applying: Vec<&Window> = self
            .windows
            .iter()
            .filter(|w| w.applies_to(target, database))
            .collect();
        if applying.is_empty() {
            return WindowState::Always;
        }
        // Whole seconds, so the report never shows a fraction of one.
        let horizon = now
            .checked_add(SignedDuration::try_from(LOOKAHEAD).unwrap_or(SignedDuration::MAX))
            .and_then(|t| Timestamp::from_second(t.as_second()))
            .unwrap_or(Timestamp::MAX);
        let mut openings: Vec<Interval<'_>> =
            applying.iter().flat_map(|w| w.openings(now)).collect();
        openings.sort_by_key(|interval| interval.start);
        let runs = merge(openings);
        if let Some(run) = runs.iter().find(|r| r.start <= now && now < r.end) {
            return WindowState::Open {
                closes_at: run.end.min(horizon).to_zoned(run.closes_in.clone()),
            };
        }
        WindowState::Closed {
            opens_at: runs
                .iter()
                .find(|r| r.start > now && r.start <= horizon)
                .map(|r| r.start.to_zoned(r.opens_in.clone())),
        }
    }
}

/// Joins openings, sorted by start, that overlap or touch into runs.
fn merge(sorted: Vec<Interval<'_>>) -> Vec<Interval<'_>> {
    let mut runs: Vec<Interval<'_>> = Vec::with_capacity(sorted.len());
    for next in sorted {
        match runs.last_mut() {
            Some(run) if next.start <= run.end => {
                if next.end > run.end {
                    run.end = next.end;
                    run.closes_in = next.closes_in;
                }
            }
            _ => runs.push(next),
        }
    }
    runs
}

#[cfg(test)]
mod tests;
