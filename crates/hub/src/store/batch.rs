//! The plan of a group commit, the same for every database.
//!
//! A backend stores a batch in one transaction with a fixed number of statements, whatever
//! the batch's size. It reads which senders are members ([`memberships`] says which pairs to
//! ask about), then what the members' messages name ([`Members`] says which keys): the
//! messages stored earlier under the same client ids, the messages they reply to and the
//! uploads they attach. [`Plan::decide`] works out from those answers what becomes of each
//! message: refused, a resend of a stored message, a resend of a new message of the same
//! batch, or new, numbered within its conversation. The backend then moves every
//! conversation's counters (`last_seq` and `last_rev`: a creation takes one of each) by
//! [`Plan::increments`] and hands the counters it read back to [`Plan::number`], which builds
//! the new messages. Everything that can refuse a message is decided before anything is
//! written, so a refused message never rolls a batch back.

use std::collections::{HashMap, HashSet};

use rapport_protocol::{Attachment, Message};

use super::{NewMessage, Refusal, StoreError, StoreResult};
use crate::clock::{new_id, rfc3339};

/// A (conversation, sender) pair: a sender may post only where they are a member.
pub type Membership<'b> = (&'b str, &'b str);

/// What makes a message a resend of another: the same sender, in the same conversation, with
/// the same client id (`(sender_id, conversation_id, client_msg_id)`). The same client id in
/// another conversation is another message.
pub type ResendKey<'b> = (&'b str, &'b str, &'b str);

fn resend_key<'b>(msg: &NewMessage<'b>) -> ResendKey<'b> {
    (msg.sender_id, msg.conversation_id, msg.client_msg_id)
}

/// The distinct (conversation, sender) pairs of the batch, in order: the backend reads which of
/// them are members.
pub fn memberships<'b>(batch: &[NewMessage<'b>]) -> Vec<Membership<'b>> {
    distinct(batch.iter().map(|m| (m.conversation_id, m.sender_id)))
}

/// The pairs the database confirmed.
pub struct Members<'b>(HashSet<Membership<'b>>);

impl<'b> Members<'b> {
    /// Of the pairs `asked` (from [`memberships`]), those the database `found`, as
    /// `(conversation_id, user_id)` rows.
    pub fn new(asked: &[Membership<'b>], found: impl IntoIterator<Item = (String, String)>) -> Members<'b> {
        let position = positions(asked);
        let confirmed = found
            .into_iter()
            .filter_map(|(conversation_id, user_id)| position.get(&(conversation_id.as_str(), user_id.as_str())).copied())
            .map(|i| asked[i])
            .collect();
        Members(confirmed)
    }

    fn contain(&self, msg: &NewMessage<'_>) -> bool {
        self.0.contains(&(msg.conversation_id, msg.sender_id))
    }

    fn of<'m>(&'m self, batch: &'m [NewMessage<'b>]) -> impl Iterator<Item = &'m NewMessage<'b>> + 'm {
        batch.iter().filter(move |m| self.contain(m))
    }

    /// The distinct resend keys of the members' messages, in order: the backend reads the
    /// messages already stored under them.
    pub fn resend_keys(&self, batch: &[NewMessage<'b>]) -> Vec<ResendKey<'b>> {
        distinct(self.of(batch).map(resend_key))
    }

    /// The distinct messages the members' messages reply to: the backend reads their
    /// conversations.
    pub fn reply_ids(&self, batch: &[NewMessage<'b>]) -> Vec<&'b str> {
        distinct(self.of(batch).filter_map(|m| m.reply_to))
    }

    /// The distinct uploads the members' messages attach: the backend reads them.
    pub fn upload_ids(&self, batch: &[NewMessage<'b>]) -> Vec<&'b str> {
        distinct(self.of(batch).flat_map(|m| m.attachment_ids.iter().map(String::as_str)))
    }
}

/// An upload a message of the batch names, as the database holds it.
pub struct Upload {
    /// What a message that carries it shows.
    pub attachment: Attachment,
    /// Who uploaded it: only they may attach it.
    pub uploader_id: String,
    /// Whether a message carries it already.
    pub sent: bool,
}

/// What the backend read for the members' messages.
#[derive(Default)]
pub struct Found {
    /// The messages stored earlier under the keys of [`Members::resend_keys`], as they are now.
    pub earlier: Vec<Message>,
    /// `(id, conversation_id)` of the messages of [`Members::reply_ids`] that exist.
    pub replies: Vec<(String, String)>,
    /// The uploads of [`Members::upload_ids`] that exist.
    pub uploads: Vec<Upload>,
}

/// What becomes of one message of the batch.
enum Fate {
    /// The sender is not a member (or there is no such conversation).
    NotMember,
    /// It names something it may not.
    Refused(Refusal),
    /// A resend of a message stored before this batch.
    Earlier(Box<Message>),
    /// A resend of the new message at this index of the batch.
    SameAs(usize),
    /// The n-th (from 0) new message of its conversation in this batch, with its files.
    New(i64, Vec<Attachment>),
}

/// What becomes of each message of a batch, before any seq is known.
pub struct Plan<'b> {
    fates: Vec<Fate>,
    /// Every conversation that gets new messages and how many, in order of first appearance.
    increments: Vec<(&'b str, i64)>,
}

impl<'b> Plan<'b> {
    /// Decides every message's fate from the confirmed `members` and what the backend `found`.
    pub fn decide(batch: &[NewMessage<'b>], members: &Members<'b>, found: Found) -> Plan<'b> {
        let asked = members.resend_keys(batch);
        let position = positions(&asked);
        let earlier: HashMap<ResendKey<'b>, Message> = found
            .earlier
            .into_iter()
            .filter_map(|m| {
                let i = *position.get(&(m.sender_id.as_str(), m.conversation_id.as_str(), m.client_msg_id.as_str()))?;
                Some((asked[i], m))
            })
            .collect();
        let replies: HashMap<String, String> = found.replies.into_iter().collect();
        let uploads: HashMap<String, Upload> = found.uploads.into_iter().map(|u| (u.attachment.id.clone(), u)).collect();
        // Uploads taken by a new message of this batch: nobody else may take them.
        let mut claimed: HashSet<&'b str> = HashSet::new();
        let mut fates = Vec::with_capacity(batch.len());
        let mut increments: Vec<(&'b str, i64)> = Vec::new();
        let mut slot_of: HashMap<&'b str, usize> = HashMap::new();
        let mut new_by_key: HashMap<ResendKey<'b>, usize> = HashMap::new();
        for (index, msg) in batch.iter().enumerate() {
            let key = resend_key(msg);
            let fate = if !members.contain(msg) {
                Fate::NotMember
            } else if let Some(stored) = earlier.get(&key) {
                Fate::Earlier(Box::new(stored.clone()))
            } else if let Some(first) = new_by_key.get(&key) {
                Fate::SameAs(*first)
            } else if msg.reply_to.is_some_and(|id| replies.get(id).map(String::as_str) != Some(msg.conversation_id)) {
                Fate::Refused(Refusal::ReplyElsewhere)
            } else {
                let files: Option<Vec<Attachment>> = msg
                    .attachment_ids
                    .iter()
                    .map(|id| {
                        let upload = uploads.get(id.as_str())?;
                        let free = upload.uploader_id == msg.sender_id && !upload.sent && !claimed.contains(id.as_str());
                        free.then(|| upload.attachment.clone())
                    })
                    .collect();
                match files {
                    None => Fate::Refused(Refusal::AttachmentUnavailable),
                    Some(files) => {
                        claimed.extend(msg.attachment_ids.iter().map(String::as_str));
                        new_by_key.insert(key, index);
                        let slot = *slot_of.entry(msg.conversation_id).or_insert_with(|| {
                            increments.push((msg.conversation_id, 0));
                            increments.len() - 1
                        });
                        let n = &mut increments[slot].1;
                        *n += 1;
                        Fate::New(*n - 1, files)
                    }
                }
            };
            fates.push(fate);
        }
        Plan { fates, increments }
    }

    /// How far each conversation's `last_seq` and `last_rev` move (by its number of new
    /// messages); empty when the batch stores nothing.
    pub fn increments(&self) -> &[(&'b str, i64)] {
        &self.increments
    }

    /// Numbers the new messages from each conversation's counters after the increments
    /// (`(conversation_id, last_seq, last_rev)` as the database returned them) and builds them.
    /// `NotFound` when a conversation is missing from `counters`: it vanished under a member,
    /// and the whole batch must fail.
    pub fn number(self, batch: &[NewMessage<'_>], counters: impl IntoIterator<Item = (String, i64, i64)>, now: i64) -> StoreResult<Numbered> {
        let increments: HashMap<&str, i64> = self.increments.iter().copied().collect();
        let first: HashMap<String, (i64, i64)> = counters
            .into_iter()
            .map(|(conversation_id, last_seq, last_rev)| {
                let n = increments.get(conversation_id.as_str()).copied().unwrap_or(0);
                (conversation_id, (last_seq - n + 1, last_rev - n + 1))
            })
            .collect();
        let mut fates = self.fates;
        let mut stored: Vec<Option<Message>> = vec![None; batch.len()];
        for (index, (msg, fate)) in batch.iter().zip(&mut fates).enumerate() {
            if let Fate::New(n, files) = fate {
                let (first_seq, first_rev) = first.get(msg.conversation_id).ok_or(StoreError::NotFound)?;
                stored[index] = Some(Message {
                    id: new_id(),
                    conversation_id: msg.conversation_id.to_owned(),
                    seq: first_seq + *n,
                    sender_id: msg.sender_id.to_owned(),
                    body: msg.body.to_owned(),
                    client_msg_id: msg.client_msg_id.to_owned(),
                    created_at: rfc3339(now),
                    kind: msg.kind,
                    card: msg.card.cloned().map(Box::new),
                    reply_to: msg.reply_to.map(str::to_owned),
                    attachments: std::mem::take(files),
                    reactions: Vec::new(),
                    edited_at: None,
                    deleted_at: None,
                    rev: first_rev + *n,
                });
            }
        }
        Ok(Numbered { fates, stored })
    }
}

/// A batch with its new messages built, ready to be inserted.
pub struct Numbered {
    fates: Vec<Fate>,
    /// The new message at each index of the batch (`None` for the others).
    stored: Vec<Option<Message>>,
}

impl Numbered {
    /// The messages to insert, in batch order.
    pub fn new_messages(&self) -> Vec<&Message> {
        self.stored.iter().flatten().collect()
    }

    /// `(attachment_id, message_id, position)` of every file the new messages carry.
    pub fn attachment_links(&self) -> Vec<(&str, &str, i64)> {
        self.stored
            .iter()
            .flatten()
            .flat_map(|m| m.attachments.iter().enumerate().map(|(i, a)| (a.id.as_str(), m.id.as_str(), i as i64)))
            .collect()
    }

    /// The newest new seq of each sender in each conversation, as
    /// `((conversation_id, sender_id), seq)`: sending moves the sender's own receipts there.
    pub fn sender_receipts(&self) -> Vec<((&str, &str), i64)> {
        let mut newest: HashMap<(&str, &str), i64> = HashMap::new();
        for m in self.stored.iter().flatten() {
            let seq = newest.entry((&m.conversation_id, &m.sender_id)).or_default();
            *seq = (*seq).max(m.seq);
        }
        newest.into_iter().collect()
    }

    /// One answer per message of the batch, in order, once the transaction committed.
    pub fn into_results(self) -> Vec<StoreResult<(Message, bool)>> {
        let Numbered { fates, stored } = self;
        fates
            .into_iter()
            .enumerate()
            .map(|(index, fate)| match fate {
                Fate::NotMember => Err(StoreError::NotFound),
                Fate::Refused(refusal) => Err(StoreError::Refused(refusal)),
                Fate::Earlier(message) => Ok((*message, false)),
                Fate::SameAs(first) => Ok((stored[first].clone().expect("the first one is new"), false)),
                // Cloned, not taken: a later resend in the batch may still need it.
                Fate::New(..) => Ok((stored[index].clone().expect("new messages are built"), true)),
            })
            .collect()
    }
}

/// Where each pair stands in `asked`. What the database returns is matched back to the
/// batch's own strings through it, so that deciding compares borrowed strings and allocates
/// nothing per message.
fn positions<K: Eq + std::hash::Hash + Copy>(asked: &[K]) -> HashMap<K, usize> {
    asked.iter().enumerate().map(|(i, key)| (*key, i)).collect()
}

/// The distinct items, in order of first appearance.
fn distinct<T: Eq + std::hash::Hash + Copy>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items.filter(|item| seen.insert(*item)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<'a>(conversation_id: &'a str, sender_id: &'a str, client_msg_id: &'a str) -> NewMessage<'a> {
        NewMessage::text(conversation_id, sender_id, client_msg_id, client_msg_id)
    }

    fn stored(conversation_id: &str, seq: i64, sender_id: &str, client_msg_id: &str) -> Message {
        Message {
            id: format!("{conversation_id}-{seq}"),
            conversation_id: conversation_id.into(),
            seq,
            sender_id: sender_id.into(),
            body: client_msg_id.into(),
            client_msg_id: client_msg_id.into(),
            created_at: rfc3339(0),
            ..Message::default()
        }
    }

    #[test]
    fn a_plan_numbers_per_conversation_and_answers_resends_without_a_database() {
        let batch = [
            msg("c1", "a", "x"),
            msg("c2", "a", "y"),
            msg("c1", "intruder", "z"),
            msg("c1", "b", "w"),
            msg("c1", "a", "x"),   // resend inside the batch
            msg("c1", "a", "old"), // resend of an earlier batch
        ];
        let asked = memberships(&batch);
        assert_eq!(asked, vec![("c1", "a"), ("c2", "a"), ("c1", "intruder"), ("c1", "b")], "each pair once, in order");
        let found = [("c1", "a"), ("c2", "a"), ("c1", "b"), ("c9", "a")].map(|(c, u)| (c.to_owned(), u.to_owned()));
        let members = Members::new(&asked, found);
        assert_eq!(
            members.resend_keys(&batch),
            vec![("a", "c1", "x"), ("a", "c2", "y"), ("b", "c1", "w"), ("a", "c1", "old")],
            "the intruder's key is not looked up"
        );
        let earlier = stored("c1", 7, "a", "old");
        let plan = Plan::decide(&batch, &members, Found { earlier: vec![earlier.clone()], ..Found::default() });
        assert_eq!(plan.increments(), &[("c1", 2), ("c2", 1)], "x and w are new in c1, y in c2");

        let numbered = plan.number(&batch, [("c1".to_owned(), 9, 20), ("c2".to_owned(), 1, 1)], 0).unwrap();
        let seqs: Vec<(&str, i64, i64)> = numbered.new_messages().iter().map(|m| (m.client_msg_id.as_str(), m.seq, m.rev)).collect();
        assert_eq!(seqs, vec![("x", 8, 19), ("y", 1, 1), ("w", 9, 20)], "c1 moved 7 → 9 (rev 18 → 20), so its new messages are 8 and 9");
        let mut receipts = numbered.sender_receipts();
        receipts.sort();
        assert_eq!(receipts, vec![(("c1", "a"), 8), (("c1", "b"), 9), (("c2", "a"), 1)]);

        let results = numbered.into_results();
        let answer = |i: usize| results[i].as_ref().map(|(m, new)| (m.client_msg_id.clone(), m.seq, *new)).ok();
        assert_eq!(answer(0), Some(("x".into(), 8, true)));
        assert!(matches!(results[2], Err(StoreError::NotFound)), "a non-member is refused");
        assert_eq!(answer(4), Some(("x".into(), 8, false)), "a resend answers the batch's own new message");
        assert_eq!(results[4].as_ref().unwrap().0.id, results[0].as_ref().unwrap().0.id);
        assert_eq!(results[5].as_ref().unwrap().0, earlier, "a resend of an earlier batch answers the stored message");
    }

    #[test]
    fn the_same_client_id_in_another_conversation_is_another_message() {
        let batch = [msg("c1", "a", "x"), msg("c2", "a", "x"), msg("c1", "a", "x")];
        let asked = memberships(&batch);
        let found = [("c1", "a"), ("c2", "a")].map(|(c, u)| (c.to_owned(), u.to_owned()));
        let members = Members::new(&asked, found);
        let plan = Plan::decide(&batch, &members, Found { earlier: vec![stored("c2", 4, "a", "x")], ..Found::default() });
        assert_eq!(plan.increments(), &[("c1", 1)], "x is new in c1; in c2 it was stored before");
        let results = plan.number(&batch, [("c1".to_owned(), 1, 1)], 0).unwrap().into_results();
        let answer = |i: usize| results[i].as_ref().map(|(m, new)| (m.conversation_id.clone(), m.seq, *new)).ok();
        assert_eq!(answer(0), Some(("c1".into(), 1, true)));
        assert_eq!(answer(1), Some(("c2".into(), 4, false)), "c2's own earlier x answers the resend in c2");
        assert_eq!(answer(2), Some(("c1".into(), 1, false)));
    }

    #[test]
    fn a_conversation_missing_from_the_counters_fails_the_batch() {
        let batch = [msg("c1", "a", "x")];
        let asked = memberships(&batch);
        let members = Members::new(&asked, [("c1".to_owned(), "a".to_owned())]);
        let plan = Plan::decide(&batch, &members, Found::default());
        assert!(matches!(plan.number(&batch, [], 0), Err(StoreError::NotFound)));
    }

    fn upload(id: &str, uploader_id: &str, sent: bool) -> Upload {
        Upload { attachment: Attachment { id: id.into(), ..Attachment::default() }, uploader_id: uploader_id.into(), sent }
    }

    #[test]
    fn replies_stay_in_their_conversation_and_an_upload_is_attached_once_by_its_uploader() {
        let (f1, f2, f3, theirs, sent) =
            (vec!["f1".to_owned()], vec!["f2".to_owned(), "f3".to_owned()], vec!["f3".to_owned()], vec!["g".to_owned()], vec!["s".to_owned()]);
        let batch = [
            NewMessage { reply_to: Some("m-c1"), attachment_ids: &f1, ..msg("c1", "a", "ok") },
            NewMessage { reply_to: Some("m-c2"), ..msg("c1", "a", "elsewhere") },
            NewMessage { reply_to: Some("nope"), ..msg("c1", "a", "unknown reply") },
            NewMessage { attachment_ids: &f2, ..msg("c1", "a", "two files") },
            NewMessage { attachment_ids: &f3, ..msg("c1", "a", "f3 again") },
            NewMessage { attachment_ids: &theirs, ..msg("c1", "a", "someone else's") },
            NewMessage { attachment_ids: &sent, ..msg("c1", "a", "already sent") },
            NewMessage { attachment_ids: &f1, ..msg("c1", "a", "ok") }, // resend: the first answer
        ];
        let asked = memberships(&batch);
        let members = Members::new(&asked, [("c1".to_owned(), "a".to_owned())]);
        assert_eq!(members.reply_ids(&batch), vec!["m-c1", "m-c2", "nope"]);
        assert_eq!(members.upload_ids(&batch), vec!["f1", "f2", "f3", "g", "s"]);
        let found = Found {
            earlier: Vec::new(),
            replies: vec![("m-c1".into(), "c1".into()), ("m-c2".into(), "c2".into())],
            uploads: vec![upload("f1", "a", false), upload("f2", "a", false), upload("f3", "a", false), upload("g", "b", false), upload("s", "a", true)],
        };
        let plan = Plan::decide(&batch, &members, found);
        assert_eq!(plan.increments(), &[("c1", 2)], "only the first and the two-file message are new");
        let numbered = plan.number(&batch, [("c1".to_owned(), 2, 2)], 0).unwrap();
        assert_eq!(numbered.attachment_links(), vec![("f1", numbered.new_messages()[0].id.as_str(), 0), ("f2", numbered.new_messages()[1].id.as_str(), 0), ("f3", numbered.new_messages()[1].id.as_str(), 1)]);
        let results = numbered.into_results();
        let refusal = |i: usize| match &results[i] {
            Err(StoreError::Refused(r)) => Some(*r),
            _ => None,
        };
        assert_eq!(results[0].as_ref().unwrap().0.reply_to.as_deref(), Some("m-c1"));
        assert_eq!(refusal(1), Some(Refusal::ReplyElsewhere), "a reply to another conversation's message");
        assert_eq!(refusal(2), Some(Refusal::ReplyElsewhere), "a reply to no message");
        let files: Vec<&str> = results[3].as_ref().unwrap().0.attachments.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(files, vec!["f2", "f3"]);
        assert_eq!(refusal(4), Some(Refusal::AttachmentUnavailable), "f3 was taken by the message before");
        assert_eq!(refusal(5), Some(Refusal::AttachmentUnavailable), "only the uploader may attach");
        assert_eq!(refusal(6), Some(Refusal::AttachmentUnavailable), "an upload is sent once");
        assert_eq!(results[7].as_ref().unwrap().0.id, results[0].as_ref().unwrap().0.id, "a resend is not checked again");
    }
}
