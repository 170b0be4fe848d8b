//! A message's attachments and reactions, assembled from rows the same way for every
//! database: a backend reads them for a set of messages in two queries and hands the rows here.

use std::collections::HashMap;

use rapport_protocol::{Attachment, Message, Reaction};

/// An attachment and the message that carries it; rows come in the order of each message's
/// files.
pub type AttachmentRow = (String, Attachment);

/// `(message_id, emoji, user_id)`; rows come ordered by the rev that added them.
pub type ReactionRow = (String, String, String);

/// The ids of the messages whose parts must be read (tombstones have none).
pub fn wanted(messages: &[Message]) -> Vec<&str> {
    messages.iter().filter(|m| !m.is_deleted()).map(|m| m.id.as_str()).collect()
}

/// Puts each row on its message: attachments in their order, reactions grouped by emoji in
/// order of first use, each emoji's users in the order they reacted.
pub fn assemble(messages: &mut [Message], attachments: Vec<AttachmentRow>, reactions: Vec<ReactionRow>) {
    let index: HashMap<String, usize> = messages.iter().enumerate().map(|(i, m)| (m.id.clone(), i)).collect();
    for (message_id, attachment) in attachments {
        if let Some(&i) = index.get(&message_id) {
            messages[i].attachments.push(attachment);
        }
    }
    for (message_id, emoji, user_id) in reactions {
        let Some(&i) = index.get(&message_id) else { continue };
        let on_message = &mut messages[i].reactions;
        match on_message.iter_mut().find(|r| r.emoji == emoji) {
            Some(reaction) => reaction.user_ids.push(user_id),
            None => on_message.push(Reaction { emoji, user_ids: vec![user_id] }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reactions_are_grouped_by_first_use_and_attachments_keep_their_order() {
        let mut messages = vec![
            Message { id: "m1".into(), ..Message::default() },
            Message { id: "m2".into(), ..Message::default() },
        ];
        let file = |id: &str| Attachment { id: id.into(), ..Attachment::default() };
        let row = |m: &str, e: &str, u: &str| (m.to_owned(), e.to_owned(), u.to_owned());
        assemble(
            &mut messages,
            vec![("m2".into(), file("b")), ("m2".into(), file("a")), ("gone".into(), file("x"))],
            vec![row("m1", "🎉", "u2"), row("m1", "👍", "u1"), row("m1", "🎉", "u1"), row("m2", "👍", "u3")],
        );
        let summary: Vec<(&str, Vec<&str>)> =
            messages[0].reactions.iter().map(|r| (r.emoji.as_str(), r.user_ids.iter().map(String::as_str).collect())).collect();
        assert_eq!(summary, vec![("🎉", vec!["u2", "u1"]), ("👍", vec!["u1"])], "🎉 was used first");
        let files: Vec<&str> = messages[1].attachments.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(files, vec!["b", "a"], "in the order the sender gave them");
        assert!(messages[0].attachments.is_empty());
    }
}
