//! Full-text search over cached messages (FTS5, diacritics folded, prefix matching).
//!
//! Results come newest first, and a search stops as soon as it has `limit` of them: FTS5 walks
//! its index in descending rowid order and the messages' rowids follow their time (see
//! `messages::rowid_key`). Ranking every match by relevance instead (bm25) cost ~90 ms at 250k
//! cached messages, and seconds at 1 M, for a word that occurs in tens of thousands of them.

use super::messages::{MessageRow, ReceiptView};
use super::Cache;
use crate::event::{SearchHit, SnippetPart};
use crate::EngineError;

/// Marks FTS5 puts around matched terms; private-use characters that never occur in normal text.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

#[derive(sqlx::FromRow)]
struct HitRow {
    id: String,
    conversation_id: String,
    seq: i64,
    sender_id: String,
    body: String,
    client_msg_id: String,
    created_at: String,
    kind: String,
    reply_to: Option<String>,
    reactions: String,
    edited_at: Option<String>,
    deleted_at: Option<String>,
    rev: i64,
    card: Option<String>,
    snippet: String,
    sender_name: Option<String>,
    conversation_title: String,
    my_read: Option<i64>,
    others_read: Option<i64>,
    others_delivered: Option<i64>,
}

/// Words of at least this many characters also match longer words they begin ("sal" finds
/// "salary"); shorter ones match only themselves. A one- or two-letter prefix expands to a large
/// part of the vocabulary, and FTS5 merges the postings of every word a prefix expands to
/// before it can return the first hit (over a second at 1 M cached messages).
pub(crate) const MIN_PREFIX_CHARS: usize = 3;

/// Turns what a user typed into an FTS5 query: every word must occur (as a prefix when it has at
/// least [`MIN_PREFIX_CHARS`] characters), and no character of the input can be read as query
/// syntax.
pub(crate) fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let quoted = format!("\"{}\"", w.replace('"', "\"\""));
            if w.chars().count() >= MIN_PREFIX_CHARS {
                quoted + "*"
            } else {
                quoted
            }
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// Splits an FTS5 snippet with [`OPEN`]/[`CLOSE`] marks into parts.
fn parts(snippet: &str) -> Vec<SnippetPart> {
    let mut out: Vec<SnippetPart> = Vec::new();
    let mut hit = false;
    let mut text = String::new();
    for c in snippet.chars() {
        if c == OPEN || c == CLOSE {
            if !text.is_empty() {
                out.push(SnippetPart { text: std::mem::take(&mut text), hit });
            }
            hit = c == OPEN;
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        out.push(SnippetPart { text, hit });
    }
    out
}

impl Cache {
    /// The newest `limit` matches, newest first.
    pub(crate) async fn search(&self, query: &str, limit: u32, me: &str) -> Result<Vec<SearchHit>, EngineError> {
        let Some(fts) = fts_query(query) else { return Ok(Vec::new()) };
        // One statement: the title and receipt positions of each hit's conversation come from
        // subqueries evaluated for the returned rows only, not from a round trip per hit.
        let rows: Vec<HitRow> = sqlx::query_as(&format!(
            "SELECT m.id, m.conversation_id, m.seq, m.sender_id, m.body, m.client_msg_id, m.created_at, m.kind, m.reply_to,
                    m.reactions, m.edited_at, m.deleted_at, m.rev, m.card,
                    snippet(messages_fts, 0, '{OPEN}', '{CLOSE}', '…', 16) AS snippet, u.display_name AS sender_name,
                    COALESCE(c.title, (SELECT group_concat(COALESCE(pu.display_name, p.user_id), ', ' ORDER BY p.rowid)
                                       FROM members p LEFT JOIN users pu ON pu.id = p.user_id
                                       WHERE p.conversation_id = m.conversation_id AND p.user_id != ?2), '') AS conversation_title,
                    (SELECT read_seq FROM members WHERE conversation_id = m.conversation_id AND user_id = ?2) AS my_read,
                    (SELECT MIN(read_seq) FROM members WHERE conversation_id = m.conversation_id AND user_id != ?2) AS others_read,
                    (SELECT MIN(delivered_seq) FROM members WHERE conversation_id = m.conversation_id AND user_id != ?2) AS others_delivered
             FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid
             LEFT JOIN users u ON u.id = m.sender_id
             LEFT JOIN conversations c ON c.id = m.conversation_id
             WHERE messages_fts MATCH ?1 AND m.deleted_at IS NULL ORDER BY messages_fts.rowid DESC LIMIT ?3"
        ))
        .bind(fts)
        .bind(me)
        .bind(limit.clamp(1, 500))
        .fetch_all(&self.pool)
        .await?;
        let mut hits: Vec<SearchHit> = rows
            .into_iter()
            .map(|r| {
                let view = ReceiptView::new(me, r.my_read, r.others_read, r.others_delivered);
                SearchHit {
                    snippet: parts(&r.snippet),
                    sender_name: r.sender_name,
                    conversation_title: r.conversation_title,
                    message: view.local(MessageRow {
                        id: r.id,
                        conversation_id: r.conversation_id,
                        seq: r.seq,
                        sender_id: r.sender_id,
                        body: r.body,
                        client_msg_id: r.client_msg_id,
                        created_at: r.created_at,
                        kind: r.kind,
                        reply_to: r.reply_to,
                        reactions: r.reactions,
                        edited_at: r.edited_at,
                        deleted_at: r.deleted_at,
                        rev: r.rev,
                        card: r.card,
                    }),
                }
            })
            .collect();
        let mut messages: Vec<_> = hits.iter().map(|h| h.message.clone()).collect();
        self.finish(&mut messages, me).await?;
        for (hit, message) in hits.iter_mut().zip(messages) {
            hit.message = message;
        }
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_cannot_inject_fts_syntax() {
        assert_eq!(fts_query("salary NEAR(\"x"), Some("\"salary\"* \"NEAR\"* \"x\"".into()));
        assert_eq!(fts_query("  -*: "), None, "only punctuation matches nothing rather than erroring");
    }

    #[test]
    fn only_words_of_three_characters_or_more_are_prefixes() {
        assert_eq!(fts_query("sal re a"), Some("\"sal\"* \"re\" \"a\"".into()), "short words would expand to half the vocabulary");
        assert_eq!(fts_query("été"), Some("\"été\"*".into()), "characters are counted, not bytes");
        assert_eq!(fts_query("é"), Some("\"é\"".into()), "a two-byte letter is still one character");
    }

    #[test]
    fn snippet_marks_become_parts() {
        let p = parts(&format!("the {OPEN}salary{CLOSE} is fine"));
        assert_eq!(p.len(), 3);
        assert!(p[1].hit && p[1].text == "salary" && !p[0].hit && !p[2].hit, "{p:?}");
    }
}

#[cfg(test)]
mod order {
    use rapport_protocol::{Conversation, ConversationKind, Message};

    use super::super::Cache;

    fn conversation(id: &str) -> Conversation {
        Conversation {
            id: id.into(),
            kind: ConversationKind::Direct,
            title: Some(id.into()),
            members: vec![],
            last_seq: 3,
            last_message: None,
            unread_count: 0,
            created_at: "2026-01-01T00:00:00Z".into(),
            last_rev: 0,
            application: None,
            bridge: None,
        }
    }

    fn message(conversation: &str, seq: i64, minute: u32) -> Message {
        Message {
            id: format!("{conversation}-{seq}"),
            conversation_id: conversation.into(),
            seq,
            sender_id: "other".into(),
            body: format!("salary {conversation} {seq}"),
            client_msg_id: format!("k-{conversation}-{seq}"),
            created_at: format!("2026-01-01T10:{minute:02}:00Z"),
            ..Message::default()
        }
    }

    /// A catch-up fetches one conversation after another: the cache learns of old messages
    /// after newer ones. Search must still put the newest messages first.
    #[tokio::test]
    async fn newest_first_even_when_cached_out_of_order() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).await.unwrap();
        for c in ["recent", "old"] {
            cache.upsert_conversation(&conversation(c)).await.unwrap();
        }
        let recent: Vec<Message> = (1..=3).map(|seq| message("recent", seq, 40 + seq as u32)).collect();
        let old: Vec<Message> = (1..=3).map(|seq| message("old", seq, 10 + seq as u32)).collect();
        cache.insert_messages(&recent, "me").await.unwrap();
        cache.insert_messages(&old, "me").await.unwrap();
        let order: Vec<String> = cache.search("salary", 4, "me").await.unwrap().into_iter().map(|h| h.message.id.unwrap()).collect();
        assert_eq!(order, ["recent-3", "recent-2", "recent-1", "old-3"], "by creation time, not by when they were cached");
    }

    /// Messages created in the same millisecond share a block of rowids; none may be lost to a
    /// rowid collision, and each must still be found.
    #[tokio::test]
    async fn messages_of_the_same_millisecond_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).await.unwrap();
        cache.upsert_conversation(&conversation("c")).await.unwrap();
        let same: Vec<Message> = (1..=5000).map(|seq| Message { created_at: "2026-01-01T10:00:00Z".into(), ..message("c", seq, 0) }).collect();
        let inserted = cache.insert_messages(&same, "me").await.unwrap();
        assert_eq!(inserted.new.len(), 5000, "more messages than rowids per millisecond: the rest are appended, not dropped");
        assert_eq!(cache.synced_seq("c").await.unwrap(), 5000);
        assert_eq!(cache.search("salary", 500, "me").await.unwrap().len(), 500);
    }
}

#[cfg(test)]
mod measure {
    use rapport_protocol::{Conversation, ConversationKind, Message};

    use super::super::Cache;

    #[tokio::test]
    #[ignore = "measurement: cargo test -p rapport-client --lib -- --ignored --nocapture"]
    async fn measure_search_over_100k_messages() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).await.unwrap();
        let words = ["salary", "remote", "interview", "rust", "offer", "team", "notice", "office", "contract", "relocation"];
        let conversation = Conversation {
            id: "c".into(),
            kind: ConversationKind::Direct,
            title: None,
            members: vec![],
            last_seq: 100_000,
            last_message: None,
            unread_count: 0,
            created_at: "2026-01-01T00:00:00Z".into(),
            last_rev: 0,
            application: None,
            bridge: None,
        };
        cache.upsert_conversation(&conversation).await.unwrap();
        let t = std::time::Instant::now();
        for chunk in 0..100 {
            let batch: Vec<Message> = (0..1000)
                .map(|i| {
                    let n = chunk * 1000 + i + 1;
                    Message {
                        id: format!("m{n}"),
                        conversation_id: "c".into(),
                        seq: n,
                        sender_id: if n % 2 == 0 { "a".into() } else { "b".into() },
                        body: format!("message {n} about the {} and the {} of the {}", words[(n % 10) as usize], words[(n / 10 % 10) as usize], words[(n / 100 % 10) as usize]),
                        client_msg_id: format!("k{n}"),
                        created_at: "2026-01-01T00:00:00Z".into(),
                        ..Message::default()
                    }
                })
                .collect();
            cache.insert_messages(&batch, "a").await.unwrap();
        }
        println!("MEASURE inserting 100k messages into the cache (FTS indexed): {:?}", t.elapsed());
        assert_eq!(cache.synced_seq("c").await.unwrap(), 100_000, "gap-free prefix covers everything");
        for query in ["salary", "remote interview", "relocation contract offer", "sal"] {
            let t = std::time::Instant::now();
            let hits = cache.search(query, 20, "a").await.unwrap();
            println!("MEASURE search {query:?} over 100k messages: {:?} ({} hits)", t.elapsed(), hits.len());
            assert!(!hits.is_empty());
        }
    }
}
