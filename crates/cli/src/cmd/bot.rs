//! `bot`: a demo candidate. It answers every new message from someone else: reads it, shows
//! typing, waits a little, then replies with a plausible canned answer. Runs until
//! SIGINT/SIGTERM.

use std::time::Duration;

use rand::Rng as _;
use rapport_client::{Engine, EngineEvent, LocalMessage};
use tokio::sync::broadcast::error::RecvError;

use crate::failure::Failure;
use crate::output::Output;

/// Keyword groups and the answer for each, most specific first.
const ANSWERS: &[(&[&str], &str)] = &[
    (&["salary", "compensation", "pay", "rate", "budget"], "I'm looking for something around 85–95k, but I'm flexible for the right team and scope."),
    (&["experience", "background", "years", "worked"], "About six years, mostly backend work in Rust and Go; for the last two I've led a team of four."),
    (&["notice", "available", "availability", "start"], "My notice period is four weeks, so I could start at the beginning of next month."),
    (&["remote", "office", "hybrid", "relocat", "onsite"], "Hybrid suits me well — two or three days a week in the office is perfect."),
    (&["interview", "call", "meet", "schedule", "chat"], "Happy to! I'm free Tuesday or Thursday afternoon — would either work for you?"),
    (&["offer", "contract"], "Thank you, that's great news! Could you send over the details so I can review them?"),
    (&["thank", "thanks", "cheers"], "Thank you too! Looking forward to the next steps."),
    (&["hello", "hi", "hey", "good morning", "good afternoon"], "Hi! Thanks for reaching out — I'd love to hear more about the role."),
];

const FALLBACKS: &[&str] = &[
    "That sounds interesting — could you tell me a bit more about the team?",
    "Makes sense to me. What would the first few months in the role look like?",
    "Great, thanks! I'll think it over and get back to you later today.",
];

/// The reply to a message.
pub fn answer(body: &str, pick: usize) -> &'static str {
    let lower = body.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    for (keys, reply) in ANSWERS {
        let hit = keys.iter().any(|k| if k.len() <= 3 { words.contains(k) } else { lower.contains(k) });
        if hit {
            return reply;
        }
    }
    FALLBACKS[pick % FALLBACKS.len()]
}

async fn reply(engine: Engine, message: LocalMessage, base_delay: Duration) -> Result<LocalMessage, rapport_client::EngineError> {
    let (think, type_for) = {
        let mut rng = rand::thread_rng();
        (Duration::from_millis(rng.gen_range(300..900)), base_delay + Duration::from_millis(rng.gen_range(0..1500)))
    };
    tokio::time::sleep(think).await;
    engine.mark_read(&message.conversation_id).await?;
    let typing_until = tokio::time::Instant::now() + type_for;
    while tokio::time::Instant::now() < typing_until {
        engine.typing(&message.conversation_id).await;
        tokio::time::sleep(Duration::from_millis(500).min(typing_until.saturating_duration_since(tokio::time::Instant::now()))).await;
    }
    let text = answer(&message.body, rand::thread_rng().gen_range(0..FALLBACKS.len()));
    engine.send(&message.conversation_id, text).await
}

/// Runs the bot until a stop signal.
pub async fn run(engine: &Engine, out: &Output, reply_delay_ms: u64) -> Result<(), Failure> {
    let me = engine.me().ok_or_else(|| Failure::error(anyhow::anyhow!("not logged in (use register or login)")))?;
    let mut events = engine.subscribe();
    engine.start();
    let mut live = false;
    let mut answered = std::collections::HashSet::new();
    let stop = super::tail::stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            event = events.recv() => match event {
                // Messages that arrive before the first catch-up completes are history.
                Ok(EngineEvent::Synced { .. }) if !live => {
                    live = true;
                    out.emit(&serde_json::json!({"bot": "running", "user": me}), || format!("bot running as {} <{}>; Ctrl-C to stop", me.display_name, me.email));
                }
                Ok(EngineEvent::Message(m)) if live && m.sender_id != me.id && m.id.is_some() => {
                    if !answered.insert(m.client_msg_id.clone()) {
                        continue;
                    }
                    let engine = engine.clone();
                    let delay = Duration::from_millis(reply_delay_ms);
                    let json = out.json();
                    tokio::spawn(async move {
                        let conversation = m.conversation_id.clone();
                        match reply(engine, m, delay).await {
                            Ok(sent) if json => println!("{}", serde_json::json!({"bot": "replied", "conversation_id": conversation, "client_msg_id": sent.client_msg_id})),
                            Ok(_) => println!("replied in {conversation}"),
                            Err(e) => tracing::warn!(error = %e, "could not reply"),
                        }
                    });
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_fit_the_question() {
        assert!(answer("What are your salary expectations?", 0).contains("85"));
        assert!(answer("Hi Dana!", 0).starts_with("Hi!"));
        assert!(answer("Could we schedule an interview?", 0).contains("Tuesday"));
        assert!(answer("this is unrelated", 1).len() > 10, "always something to say");
        assert!(!answer("shipping", 0).starts_with("Hi!"), "'hi' must match a word, not a substring");
    }
}
