//! `--at TIME`: when the hub should send a message, read from what people type.
//!
//! Everything resolves to an instant and is checked against the hub's window (1 minute to 90
//! days ahead) here, before anything is sent: a typo must never schedule a message for the
//! wrong day, and a time the hub would refuse is refused with the time it was read as.
//! Local forms (`tomorrow 09:00`, `2026-12-04 09:00`) are wall-clock times in the given zone
//! (the system's, `TZ`); a time that does not exist on a DST change moves forward, one that
//! exists twice takes the earlier.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp, Unit, Zoned};

/// The hub's earliest: one minute ahead.
const MIN_AHEAD: SignedDuration = SignedDuration::from_secs(60);
/// The hub's latest: 90 days ahead.
const MAX_AHEAD: SignedDuration = SignedDuration::from_hours(90 * 24);

/// The forms `--at` understands, for error messages.
const FORMS: &str = "RFC 3339 (2026-12-04T09:00:00+01:00), a local date and time (2026-12-04 09:00), today/tomorrow/a weekday and HH:MM (tomorrow 09:00), or +DURATION (+2h, +1d 3h)";

/// `input` as an instant (whole seconds) `now` being now in `tz`, inside the hub's window.
pub fn resolve(input: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, String> {
    let at = parse(input.trim(), now, tz)?.round(Unit::Second).map_err(|e| format!("--at {input:?}: {e}"))?;
    let shown = local(at, tz);
    if at <= now {
        return Err(format!("--at {input:?} is {shown}, which is in the past: nothing was sent"));
    }
    if at.duration_since(now) < MIN_AHEAD {
        return Err(format!("--at {input:?} is {shown}, less than 1 minute from now (the hub sends scheduled messages 1 minute to 90 days ahead): nothing was sent"));
    }
    if at.duration_since(now) > MAX_AHEAD {
        return Err(format!("--at {input:?} is {shown}, more than 90 days from now (the hub sends scheduled messages 1 minute to 90 days ahead): nothing was sent"));
    }
    Ok(at)
}

/// An instant as people read it in `tz`: `2026-12-04 09:00 CET`.
pub fn local(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M %Z").to_string()
}

fn parse(input: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, String> {
    let unknown = || format!("--at {input:?} is not a time I can read; use {FORMS}");
    if input.is_empty() {
        return Err(unknown());
    }
    let here = now.to_zoned(tz.clone());
    if let Some(rest) = input.strip_prefix('+').or_else(|| input.strip_prefix("in ")) {
        let span: Span = rest.trim().parse().map_err(|_| unknown())?;
        if span.is_negative() {
            return Err(unknown());
        }
        return here.checked_add(span).map(|z| z.timestamp()).map_err(|e| format!("--at {input:?}: {e}"));
    }
    if let Ok(at) = input.parse::<Timestamp>() {
        return Ok(at);
    }
    if let Ok(civil) = input.parse::<DateTime>() {
        return wall_clock(civil, tz, input);
    }
    let lower = input.to_lowercase();
    let mut words = lower.split_whitespace();
    let (Some(day), Some(clock), None) = (words.next(), words.next(), words.next()) else {
        return Err(unknown());
    };
    let date = day_after(&here, day).ok_or_else(unknown)?.map_err(|e| format!("--at {input:?}: {e}"))?;
    // `9:00` is as clear as `09:00`.
    let padded = if clock.find(':') == Some(1) { format!("0{clock}") } else { clock.to_owned() };
    let time: Time = padded.parse().map_err(|_| format!("--at {input:?}: {clock:?} is not a time of day (HH:MM)"))?;
    wall_clock(date.to_datetime(time), tz, input)
}

/// `today`, `tomorrow`, or the next `monday` … `sunday` after today (`None`: not a day word).
fn day_after(here: &Zoned, word: &str) -> Option<Result<Date, jiff::Error>> {
    let today = here.date();
    let weekday = match word {
        "today" => return Some(Ok(today)),
        "tomorrow" => return Some(today.tomorrow()),
        "monday" | "mon" => Weekday::Monday,
        "tuesday" | "tue" => Weekday::Tuesday,
        "wednesday" | "wed" => Weekday::Wednesday,
        "thursday" | "thu" => Weekday::Thursday,
        "friday" | "fri" => Weekday::Friday,
        "saturday" | "sat" => Weekday::Saturday,
        "sunday" | "sun" => Weekday::Sunday,
        _ => return None,
    };
    Some(today.nth_weekday(1, weekday))
}

fn wall_clock(civil: DateTime, tz: &TimeZone, input: &str) -> Result<Timestamp, String> {
    tz.to_ambiguous_timestamp(civil).compatible().map_err(|e| format!("--at {input:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").expect("bundled tzdb")
    }

    fn at(rfc3339: &str) -> Timestamp {
        rfc3339.parse().expect("test instant")
    }

    #[test]
    fn the_forms_resolve_to_the_instant_people_mean() {
        // Thursday 3 December 2026, 14:30 in Paris (UTC+1).
        let now = at("2026-12-03T13:30:00Z");
        let tz = paris();
        let cases = [
            ("2026-12-04T09:00:00+01:00", "2026-12-04T08:00:00Z"),
            ("2026-12-04T08:00:00Z", "2026-12-04T08:00:00Z"),
            ("2026-12-04 09:00", "2026-12-04T08:00:00Z"),
            ("2026-12-04T09:00", "2026-12-04T08:00:00Z"),
            ("tomorrow 09:00", "2026-12-04T08:00:00Z"),
            ("Tomorrow 9:00", "2026-12-04T08:00:00Z"),
            ("today 17:30", "2026-12-03T16:30:00Z"),
            ("monday 09:00", "2026-12-07T08:00:00Z"),
            ("thursday 09:00", "2026-12-10T08:00:00Z"),
            ("+2h", "2026-12-03T15:30:00Z"),
            ("+90m", "2026-12-03T15:00:00Z"),
            ("+1d 3h", "2026-12-04T16:30:00Z"),
            ("in 2 hours", "2026-12-03T15:30:00Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(resolve(input, now, &tz), Ok(at(expected)), "{input}");
        }
    }

    #[test]
    fn wall_clock_times_follow_the_zone_across_a_dst_change() {
        // Saturday 28 March 2026 in Paris; clocks go forward on the 29th at 02:00.
        let now = at("2026-03-28T12:00:00Z");
        assert_eq!(resolve("tomorrow 09:00", now, &paris()), Ok(at("2026-03-29T07:00:00Z")), "09:00 CEST is 07:00 UTC");
        assert_eq!(resolve("tomorrow 02:30", now, &paris()), Ok(at("2026-03-29T01:30:00Z")), "a time that does not exist moves forward");
        assert_eq!(resolve("+1d", now, &paris()), Ok(at("2026-03-29T11:00:00Z")), "a day is a calendar day: same wall clock, 23 hours later");
    }

    #[test]
    fn times_outside_the_hubs_window_and_unreadable_ones_are_refused_with_what_was_read() {
        let now = at("2026-12-03T13:30:00Z");
        let tz = paris();
        let past = resolve("today 09:00", now, &tz).unwrap_err();
        assert!(past.contains("2026-12-03 09:00 CET") && past.contains("in the past"), "{past}");
        assert!(resolve("2026-12-03T13:30:00Z", now, &tz).unwrap_err().contains("in the past"));
        assert!(resolve("+30s", now, &tz).unwrap_err().contains("less than 1 minute"));
        assert!(resolve("+91d", now, &tz).unwrap_err().contains("more than 90 days"));
        assert_eq!(resolve("+90d", now, &tz), Ok(at("2027-03-03T13:30:00Z")), "90 days is still inside");
        for bad in ["", "soon", "tomorrow", "tomorrow 25:00", "yesterday 09:00", "+-2h", "+2 parsecs", "2026-13-01 09:00", "next monday 09:00"] {
            let error = resolve(bad, now, &tz).unwrap_err();
            assert!(error.starts_with(&format!("--at {bad:?}")), "the error names the input: {error}");
        }
    }
}
