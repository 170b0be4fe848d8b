//! `message.send` with `send_at` (1.1, §3): the time is checked and the message kept in the
//! database until then; nothing is stored as a message yet. The scheduler (`crate::scheduler`)
//! sends it at its time.

use std::time::Duration;

use rapport_protocol::{Card, ScheduledMessage, MAX_SCHEDULE_AHEAD_DAYS, MIN_SCHEDULE_AHEAD_SECS};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::store::NewScheduled;
use crate::Hub;

/// The protocol's shortest lead: one minute.
const PROTOCOL_MIN_LEAD: Duration = Duration::from_secs(MIN_SCHEDULE_AHEAD_SECS as u64);

/// `send_at` in milliseconds since the epoch, if it is RFC 3339 and `min_lead` (the protocol's
/// minute) to 90 days ahead.
pub fn parse_send_at(send_at: &str, min_lead: Duration) -> ApiResult<i64> {
    let at = OffsetDateTime::parse(send_at, &Rfc3339)
        .map_err(|_| ApiError::invalid("send_at must be an RFC 3339 time such as 2026-12-01T09:00:00+01:00"))?;
    let at_ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| ApiError::invalid("send_at is out of range"))?;
    within_window(at_ms, now_ms(), min_lead)?;
    Ok(at_ms)
}

/// Whether `at_ms` lies `min_lead` to 90 days after `now_ms`.
fn within_window(at_ms: i64, now_ms: i64, min_lead: Duration) -> ApiResult<()> {
    let lead_ms = i64::try_from(min_lead.as_millis()).unwrap_or(i64::MAX);
    if at_ms < now_ms.saturating_add(lead_ms) {
        return Err(ApiError::invalid(if min_lead == PROTOCOL_MIN_LEAD {
            "send_at must be at least 1 minute ahead".to_owned()
        } else {
            format!("send_at must be at least {} ms ahead", lead_ms)
        }));
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
        let lead = PROTOCOL_MIN_LEAD;
        assert!(within_window(now + 60_000, now, lead).is_ok());
        assert!(within_window(now + 59_999, now, lead).is_err(), "less than a minute ahead");
        assert!(within_window(now - 1, now, lead).is_err(), "in the past");
        assert!(within_window(now + 90 * 86_400_000, now, lead).is_ok());
        assert!(within_window(now + 90 * 86_400_000 + 1, now, lead).is_err(), "beyond 90 days");
        assert!(parse_send_at("tomorrow at nine", lead).is_err());
        assert!(parse_send_at("2020-01-01T00:00:00Z", lead).unwrap_err().message.contains("1 minute"));
        let short = Duration::from_secs(2);
        assert!(within_window(now + 2_000, now, short).is_ok(), "a test hub's shorter lead");
        assert!(within_window(now + 1_999, now, short).unwrap_err().message.contains("2000 ms"));
    }
}
