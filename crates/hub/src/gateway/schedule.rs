//! `message.send` with `send_at` (1.1, §3): the time is checked and the message kept in the
//! database until then; nothing is stored as a message yet. The scheduler (`crate::scheduler`)
//! sends it at its time.

use rapport_protocol::{Card, ScheduledMessage, MAX_SCHEDULE_AHEAD_DAYS, MIN_SCHEDULE_AHEAD_SECS};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::store::NewScheduled;
use crate::Hub;

/// `send_at` in milliseconds since the epoch, if it is RFC 3339 and 1 minute to 90 days ahead.
pub fn parse_send_at(send_at: &str) -> ApiResult<i64> {
    let at = OffsetDateTime::parse(send_at, &Rfc3339)
        .map_err(|_| ApiError::invalid("send_at must be an RFC 3339 time such as 2026-12-01T09:00:00+01:00"))?;
    let at_ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| ApiError::invalid("send_at is out of range"))?;
    within_window(at_ms, now_ms())?;
    Ok(at_ms)
}

/// Whether `at_ms` lies 1 minute to 90 days after `now_ms`.
fn within_window(at_ms: i64, now_ms: i64) -> ApiResult<()> {
    if at_ms < now_ms + MIN_SCHEDULE_AHEAD_SECS * 1000 {
        return Err(ApiError::invalid("send_at must be at least 1 minute ahead"));
    }
    if at_ms > now_ms + MAX_SCHEDULE_AHEAD_DAYS * 24 * 3600 * 1000 {
        return Err(ApiError::invalid("send_at must be at most 90 days ahead"));
    }
    Ok(())
}

/// Keeps the message until `send_at` (the one kept already under this client id, for a retry)
/// and wakes the scheduler, whose next wake-up may now be too late.
pub async fn store(
    hub: &Hub,
    sender_id: &str,
    conversation_id: &str,
    client_msg_id: &str,
    body: &str,
    card: Option<&Card>,
    send_at: i64,
) -> ApiResult<ScheduledMessage> {
    let new = NewScheduled { sender_id, conversation_id, client_msg_id, body, card, send_at };
    let scheduled = hub.store.schedule(new).await?;
    hub.scheduled_due.notify_one();
    Ok(scheduled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_time_lies_one_minute_to_ninety_days_ahead() {
        let now = 1_000_000_000_000;
        assert!(within_window(now + 60_000, now).is_ok());
        assert!(within_window(now + 59_999, now).is_err(), "less than a minute ahead");
        assert!(within_window(now - 1, now).is_err(), "in the past");
        assert!(within_window(now + 90 * 86_400_000, now).is_ok());
        assert!(within_window(now + 90 * 86_400_000 + 1, now).is_err(), "beyond 90 days");
        assert!(parse_send_at("tomorrow at nine").is_err());
        assert!(parse_send_at("2020-01-01T00:00:00Z").unwrap_err().message.contains("1 minute"));
    }
}
