//! The weekly quiet-hours schedule: spans of wall-clock time ("22:00–07:00 on weekdays") in the
//! user's IANA time zone, checked and compiled into instants.
//!
//! A span belongs to the day it starts on; an end at or before its start is on the next day
//! (22:00–07:00 crosses midnight, 00:00–00:00 is the whole day). Wall-clock times are resolved
//! per date in the time zone, so a span keeps its local boundaries across a DST change (22:00–07:00
//! lasts 8 hours on the last Sunday of March in Europe/Paris and 10 on the last one of October);
//! a boundary that falls into a DST gap moves to just after it. The time-zone data is the tzdb
//! bundled with jiff, so a machine without /usr/share/zoneinfo behaves the same.

use jiff::civil::{Date, Time};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Code, EngineError};

/// Days looked at around now: a span that started yesterday may still run, and the next
/// boundary of a schedule with a span on a single weekday is at most a week ahead.
const DAYS_BEHIND: i64 = 1;
const DAYS_AHEAD: i64 = 8;
/// Spans one schedule may have.
pub const MAX_SPANS: usize = 32;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    fn of(date: Date) -> Weekday {
        match date.weekday() {
            jiff::civil::Weekday::Monday => Weekday::Monday,
            jiff::civil::Weekday::Tuesday => Weekday::Tuesday,
            jiff::civil::Weekday::Wednesday => Weekday::Wednesday,
            jiff::civil::Weekday::Thursday => Weekday::Thursday,
            jiff::civil::Weekday::Friday => Weekday::Friday,
            jiff::civil::Weekday::Saturday => Weekday::Saturday,
            jiff::civil::Weekday::Sunday => Weekday::Sunday,
        }
    }
}

/// One quiet span: from `start` on each of `days` to `end` (the next day when `end` is not after
/// `start`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuietSpan {
    /// The days the span starts on.
    pub days: Vec<Weekday>,
    /// Local start, `HH:MM` (24-hour).
    pub start: String,
    /// Local end, `HH:MM`; at or before `start` means the next day.
    pub end: String,
}

/// The user's quiet hours: while one of the spans runs, messages still arrive and count as
/// unread, but nothing is shown; one digest follows when the quiet period ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct QuietHours {
    /// Off: the spans are kept but do nothing (a pause still works).
    pub enabled: bool,
    /// IANA time zone the spans are in (`Europe/Paris`); empty means UTC.
    pub time_zone: String,
    /// The weekly spans.
    pub spans: Vec<QuietSpan>,
    /// Show the user as busy while notifications are quiet (an `online` user only; a status
    /// the user picks meanwhile wins until the quiet period ends).
    pub busy_while_quiet: bool,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            enabled: false,
            time_zone: String::new(),
            spans: vec![QuietSpan {
                days: vec![Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday, Weekday::Saturday, Weekday::Sunday],
                start: "22:00".into(),
                end: "07:00".into(),
            }],
            busy_while_quiet: false,
        }
    }
}

fn invalid(message: String) -> EngineError {
    EngineError::Invalid { reason: Code::Invalid, message }
}

/// The bundled tzdb, one per process.
fn tzdb() -> &'static TimeZoneDatabase {
    static DB: std::sync::OnceLock<TimeZoneDatabase> = std::sync::OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

/// The time zone of an IANA name (`invalid` with the name when it is unknown; empty is UTC).
pub(crate) fn time_zone(name: &str) -> Result<TimeZone, EngineError> {
    if name.trim().is_empty() {
        return Ok(TimeZone::UTC);
    }
    tzdb().get(name.trim()).map_err(|_| invalid(format!("unknown time zone {name:?}: use an IANA name such as Europe/Paris")))
}

/// The IANA name of this computer's time zone, if the system tells one (else none: UTC).
pub fn system_time_zone() -> Option<String> {
    let tz = TimeZone::try_system().ok()?;
    let name = tz.iana_name()?.to_owned();
    tzdb().get(&name).ok().map(|_| name)
}

/// `HH:MM` (24-hour) as a time of day.
fn time_of_day(text: &str) -> Result<Time, EngineError> {
    let bad = || invalid(format!("{text:?} is not a time of day: write it as HH:MM, from 00:00 to 23:59"));
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// A checked schedule, in instants.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    tz: TimeZone,
    spans: Vec<([bool; 7], Time, Time)>,
}

impl QuietHours {
    /// Checks the schedule (as [`crate::Engine::set_quiet_hours`] does) without applying it.
    pub fn check(&self) -> Result<(), EngineError> {
        self.compile().map(drop)
    }

    /// Checks the schedule: a clear `invalid` error for an unknown time zone, a time that is not
    /// `HH:MM`, a span without days, or too many spans.
    pub(crate) fn compile(&self) -> Result<Schedule, EngineError> {
        let tz = time_zone(&self.time_zone)?;
        if self.spans.len() > MAX_SPANS {
            return Err(invalid(format!("at most {MAX_SPANS} quiet spans")));
        }
        let mut spans = Vec::with_capacity(self.spans.len());
        for span in &self.spans {
            if span.days.is_empty() {
                return Err(invalid(format!("the quiet span {}–{} has no day of the week", span.start, span.end)));
            }
            let mut days = [false; 7];
            for day in &span.days {
                days[*day as usize] = true;
            }
            spans.push((days, time_of_day(&span.start)?, time_of_day(&span.end)?));
        }
        Ok(Schedule { tz, spans })
    }
}

impl Schedule {
    /// The time zone the schedule is in.
    pub(crate) fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// A local wall-clock time on `date` as an instant (in a DST gap: just after it; in a fold:
    /// the first of the two).
    fn instant(&self, date: Date, time: Time) -> Option<Timestamp> {
        self.tz.to_ambiguous_timestamp(date.to_datetime(time)).compatible().ok()
    }

    /// The quiet periods that start from yesterday to a week ahead of `now` (local dates).
    fn periods(&self, now: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        let today = now.to_zoned(self.tz.clone()).date();
        let mut out = Vec::new();
        for offset in -DAYS_BEHIND..=DAYS_AHEAD {
            let Ok(date) = today.checked_add(jiff::Span::new().days(offset)) else { continue };
            let weekday = Weekday::of(date);
            for (days, start, end) in &self.spans {
                if !days[weekday as usize] {
                    continue;
                }
                let end_date = if end > start { Some(date) } else { date.tomorrow().ok() };
                if let (Some(from), Some(to)) = (self.instant(date, *start), end_date.and_then(|d| self.instant(d, *end))) {
                    if from < to {
                        out.push((from, to));
                    }
                }
            }
        }
        out
    }

    /// Whether `now` is in a quiet period.
    pub(crate) fn is_quiet(&self, now: Timestamp) -> bool {
        self.periods(now).iter().any(|(from, to)| *from <= now && now < *to)
    }

    /// The next instant after `now` where a period starts or ends.
    pub(crate) fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        self.periods(now).into_iter().flat_map(|(from, to)| [from, to]).filter(|t| *t > now).min()
    }

    /// When the quiet time that runs at `now` ends (adjoining and overlapping spans joined);
    /// `None` when it is not quiet at `now`.
    pub(crate) fn quiet_until(&self, now: Timestamp) -> Option<Timestamp> {
        let periods = self.periods(now);
        let mut until: Option<Timestamp> = None;
        let mut at = now;
        while let Some(end) = periods.iter().filter(|(from, to)| *from <= at && at < *to).map(|(_, to)| *to).max() {
            until = Some(end);
            at = end;
        }
        until
    }
}

/// "Until tomorrow": 09:00 local on the next day, or this morning's 09:00 when it is still night
/// (before 05:00), so a pause taken at 01:00 does not last 32 hours.
pub(crate) fn tomorrow_morning(now: Timestamp, tz: &TimeZone) -> Timestamp {
    let local = now.to_zoned(tz.clone());
    let date = if local.hour() < 5 { local.date() } else { local.date().tomorrow().unwrap_or(local.date()) };
    let nine = Time::constant(9, 0, 0, 0);
    tz.to_ambiguous_timestamp(date.to_datetime(nine)).compatible().unwrap_or(now)
}

/// `07:00`, or `Sat 07:00` when `at` is not on the same local date as `now`.
pub(crate) fn local_label(at: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    let local = at.to_zoned(tz.clone());
    if local.date() == now.to_zoned(tz.clone()).date() {
        local.strftime("%H:%M").to_string()
    } else {
        local.strftime("%a %H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("a test timestamp")
    }

    fn nightly(tz: &str) -> Schedule {
        QuietHours { enabled: true, time_zone: tz.into(), ..QuietHours::default() }.compile().expect("valid")
    }

    #[test]
    fn bad_schedules_are_refused_with_the_reason() {
        let base = QuietHours::default();
        let err = |q: QuietHours| q.compile().expect_err("must be refused").to_string();
        assert!(err(QuietHours { time_zone: "Mars/Olympus".into(), ..base.clone() }).contains("unknown time zone \"Mars/Olympus\""));
        let span = |start: &str, end: &str| vec![QuietSpan { days: vec![Weekday::Monday], start: start.into(), end: end.into() }];
        for bad in ["24:00", "7", "07:0", "7:60", "-1:00", "ab:cd", " :30"] {
            assert!(err(QuietHours { spans: span(bad, "07:00"), ..base.clone() }).contains("is not a time of day"), "{bad}");
        }
        assert!(err(QuietHours { spans: vec![QuietSpan { days: vec![], start: "22:00".into(), end: "07:00".into() }], ..base.clone() }).contains("no day"));
        assert!(QuietHours { spans: span("7:05", "23:59"), ..base }.compile().is_ok(), "one-digit hours are fine");
    }

    #[test]
    fn a_span_crosses_midnight_into_the_next_day() {
        let only_friday = QuietHours {
            enabled: true,
            time_zone: "Europe/Paris".into(),
            spans: vec![QuietSpan { days: vec![Weekday::Friday], start: "22:00".into(), end: "07:00".into() }],
            busy_while_quiet: false,
        }
        .compile()
        .unwrap();
        // Friday 2026-06-05, CEST (+02:00).
        assert!(!only_friday.is_quiet(ts("2026-06-05T19:59:59Z")), "21:59:59 Friday is not quiet yet");
        assert!(only_friday.is_quiet(ts("2026-06-05T20:00:00Z")), "22:00 Friday starts it");
        assert!(only_friday.is_quiet(ts("2026-06-06T04:59:59Z")), "06:59:59 Saturday is still quiet: the span runs past midnight");
        assert!(!only_friday.is_quiet(ts("2026-06-06T05:00:00Z")), "07:00 Saturday ends it");
        assert!(!only_friday.is_quiet(ts("2026-06-06T20:30:00Z")), "Saturday night is not a Friday");
        assert_eq!(only_friday.quiet_until(ts("2026-06-05T23:00:00Z")), Some(ts("2026-06-06T05:00:00Z")));
        assert_eq!(only_friday.next_change(ts("2026-06-06T05:00:00Z")), Some(ts("2026-06-12T20:00:00Z")), "next Friday 22:00");
    }

    #[test]
    fn wall_clock_boundaries_hold_across_dst_in_paris() {
        let s = nightly("Europe/Paris");
        // Spring forward on Sunday 2026-03-29: 22:00 CET (+01) to 07:00 CEST (+02), 8 hours.
        assert_eq!(s.quiet_until(ts("2026-03-28T21:00:00Z")), Some(ts("2026-03-29T05:00:00Z")));
        assert!(!s.is_quiet(ts("2026-03-29T05:30:00Z")), "07:30 CEST is awake, though 22:00 + 9 h would be 08:00");
        // Fall back on Sunday 2026-10-25: 22:00 CEST to 07:00 CET, 10 hours.
        assert_eq!(s.next_change(ts("2026-10-24T12:00:00Z")), Some(ts("2026-10-24T20:00:00Z")), "22:00 CEST");
        assert_eq!(s.quiet_until(ts("2026-10-24T20:00:00Z")), Some(ts("2026-10-25T06:00:00Z")), "07:00 CET");
        assert!(s.is_quiet(ts("2026-10-25T05:30:00Z")), "06:30 CET is still night, though 22:00 + 9 h has passed");
        // A boundary inside the gap (02:30 does not exist on 2026-03-29) moves to just after it.
        let gap = QuietHours {
            enabled: true,
            time_zone: "Europe/Paris".into(),
            spans: vec![QuietSpan { days: vec![Weekday::Sunday], start: "01:00".into(), end: "02:30".into() }],
            busy_while_quiet: false,
        }
        .compile()
        .unwrap();
        assert_eq!(gap.quiet_until(ts("2026-03-29T00:30:00Z")), Some(ts("2026-03-29T01:30:00Z")), "03:30 CEST");
    }

    #[test]
    fn adjoining_spans_join_and_whole_days_count() {
        let q = QuietHours {
            enabled: true,
            time_zone: "UTC".into(),
            spans: vec![
                QuietSpan { days: vec![Weekday::Friday], start: "18:00".into(), end: "00:00".into() },
                QuietSpan { days: vec![Weekday::Saturday, Weekday::Sunday], start: "00:00".into(), end: "00:00".into() },
            ],
            busy_while_quiet: false,
        }
        .compile()
        .unwrap();
        assert_eq!(q.quiet_until(ts("2026-06-05T19:00:00Z")), Some(ts("2026-06-08T00:00:00Z")), "Friday evening to Monday 00:00");
    }

    #[test]
    fn until_tomorrow_is_the_next_morning() {
        let paris = time_zone("Europe/Paris").unwrap();
        assert_eq!(tomorrow_morning(ts("2026-06-05T16:00:00Z"), &paris), ts("2026-06-06T07:00:00Z"), "18:00 → tomorrow 09:00");
        assert_eq!(tomorrow_morning(ts("2026-06-05T23:30:00Z"), &paris), ts("2026-06-06T07:00:00Z"), "01:30 → this morning 09:00");
        assert_eq!(local_label(ts("2026-06-06T07:00:00Z"), ts("2026-06-05T16:00:00Z"), &paris), "Sat 09:00");
        assert_eq!(local_label(ts("2026-06-05T17:00:00Z"), ts("2026-06-05T16:00:00Z"), &paris), "19:00");
    }
}
