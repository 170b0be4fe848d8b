//! The rules of an edit, a deletion and a reaction (protocol 1.1, §1.2), decided from what a
//! backend read inside its transaction, the same for every database. A backend reads the
//! message (and for a reaction where the emoji stands), asks here, and then either writes
//! with the next rev or, for a repeat, writes nothing.

use rapport_protocol::{check_body_with, ErrorCode, MAX_REACTIONS};

use super::{Refusal, StoreError, StoreResult};

/// What a change does to the message it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write it with the next rev, and announce it.
    Apply,
    /// A repeat: nothing to write, nothing to announce, but the caller gets its ack.
    Unchanged,
}

/// The message as an edit or a deletion needs to know it.
pub struct Current<'a> {
    /// Who sent it.
    pub sender_id: &'a str,
    /// Its body now.
    pub body: &'a str,
    /// Whether it is a tombstone.
    pub deleted: bool,
    /// Whether it has attachments or a card (then its body may be empty).
    pub has_content: bool,
}

fn refused(refusal: Refusal) -> StoreError {
    StoreError::Refused(refusal)
}

/// An edit by `caller` to `body`: only the sender, never a tombstone, the body rules of a send;
/// the same body again changes nothing.
pub fn edit(current: &Current<'_>, caller: &str, body: &str) -> StoreResult<Verdict> {
    if current.sender_id != caller {
        return Err(refused(Refusal::NotSender));
    }
    if current.deleted {
        return Err(refused(Refusal::Deleted));
    }
    match check_body_with(body, current.has_content) {
        Ok(()) => {}
        Err(ErrorCode::BodyEmpty) => return Err(refused(Refusal::EmptyBody)),
        Err(_) => return Err(refused(Refusal::BodyTooLong)),
    }
    Ok(if current.body == body { Verdict::Unchanged } else { Verdict::Apply })
}

/// A deletion by `caller`: only the sender; deleting a tombstone again changes nothing.
pub fn delete(current: &Current<'_>, caller: &str) -> StoreResult<Verdict> {
    if current.sender_id != caller {
        return Err(refused(Refusal::NotSender));
    }
    Ok(if current.deleted { Verdict::Unchanged } else { Verdict::Apply })
}

/// Where an emoji stands on a message, as a reaction needs to know it.
pub struct Reactions {
    /// Whether the message is a tombstone.
    pub deleted: bool,
    /// Whether the caller already reacted with this emoji.
    pub mine: bool,
    /// Whether anyone reacted with this emoji.
    pub present: bool,
    /// How many distinct emoji the message has.
    pub distinct: usize,
}

/// A reaction (`on`) or its withdrawal: never on a tombstone, at most [`MAX_REACTIONS`]
/// distinct emoji; a repeat changes nothing.
pub fn react(state: &Reactions, on: bool) -> StoreResult<Verdict> {
    if state.deleted {
        return Err(refused(Refusal::Deleted));
    }
    if on == state.mine {
        return Ok(Verdict::Unchanged);
    }
    if on && !state.present && state.distinct >= MAX_REACTIONS {
        return Err(refused(Refusal::TooManyReactions));
    }
    Ok(Verdict::Apply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<'a>(sender_id: &'a str, deleted: bool) -> Current<'a> {
        Current { sender_id, body: "hello", deleted, has_content: false }
    }

    fn refusal(result: StoreResult<Verdict>) -> Option<Refusal> {
        match result {
            Err(StoreError::Refused(refusal)) => Some(refusal),
            _ => None,
        }
    }

    #[test]
    fn only_the_sender_edits_and_never_a_tombstone() {
        assert_eq!(edit(&message("a", false), "a", "hello!").unwrap(), Verdict::Apply);
        assert_eq!(edit(&message("a", false), "a", "hello").unwrap(), Verdict::Unchanged, "the same body is a no-op");
        assert_eq!(refusal(edit(&message("a", false), "b", "x")), Some(Refusal::NotSender));
        assert_eq!(refusal(edit(&message("b", true), "a", "x")), Some(Refusal::NotSender), "someone else's tombstone: forbidden first");
        assert_eq!(refusal(edit(&message("a", true), "a", "x")), Some(Refusal::Deleted));
        assert_eq!(refusal(edit(&message("a", false), "a", "  ")), Some(Refusal::EmptyBody));
        assert_eq!(refusal(edit(&message("a", false), "a", &"x".repeat(4001))), Some(Refusal::BodyTooLong));
        let with_file = Current { has_content: true, ..message("a", false) };
        assert_eq!(edit(&with_file, "a", "").unwrap(), Verdict::Apply, "a message with a file may lose its text");
    }

    #[test]
    fn deleting_twice_changes_nothing_the_second_time() {
        assert_eq!(delete(&message("a", false), "a").unwrap(), Verdict::Apply);
        assert_eq!(delete(&message("a", true), "a").unwrap(), Verdict::Unchanged);
        assert_eq!(refusal(delete(&message("a", false), "b")), Some(Refusal::NotSender));
    }

    #[test]
    fn reactions_are_idempotent_and_capped_at_twenty_distinct_emoji() {
        let state = |mine, present, distinct| Reactions { deleted: false, mine, present, distinct };
        assert_eq!(react(&state(false, false, 0), true).unwrap(), Verdict::Apply);
        assert_eq!(react(&state(true, true, 1), true).unwrap(), Verdict::Unchanged);
        assert_eq!(react(&state(false, false, 0), false).unwrap(), Verdict::Unchanged);
        assert_eq!(react(&state(true, true, 1), false).unwrap(), Verdict::Apply);
        assert_eq!(refusal(react(&state(false, false, MAX_REACTIONS), true)), Some(Refusal::TooManyReactions));
        assert_eq!(react(&state(false, true, MAX_REACTIONS), true).unwrap(), Verdict::Apply, "joining an emoji already there is fine");
        let gone = Reactions { deleted: true, mine: true, present: true, distinct: 1 };
        assert_eq!(refusal(react(&gone, false)), Some(Refusal::Deleted));
    }
}
