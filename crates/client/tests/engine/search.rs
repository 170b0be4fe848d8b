//! Full-text search over the cache.

use rapport_testkit::TestHub;

use crate::support::{Client, DEADLINE};

#[tokio::test]
async fn search_finds_a_word_with_highlighting() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    alice.engine.start();
    for body in ["What are your salary expectations?", "We are hiring a Rust engineer", "Café near the office", "unrelated"] {
        let m = alice.engine.send(&conversation.id, body).await.unwrap();
        alice.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap();
    }
    bob.engine.sync(DEADLINE).await.unwrap();
    let hits = bob.engine.search("salary", 10).await.unwrap();
    assert_eq!(hits.len(), 1, "one message mentions salary");
    assert!(hits[0].snippet.iter().any(|p| p.hit && p.text.eq_ignore_ascii_case("salary")), "the word is highlighted: {:?}", hits[0].snippet);
    assert_eq!(hits[0].conversation_title, "Alice");
    assert_eq!(bob.engine.search("engin", 10).await.unwrap().len(), 1, "prefixes match");
    assert_eq!(bob.engine.search("cafe", 10).await.unwrap().len(), 1, "diacritics are folded");
    assert_eq!(bob.engine.search("\"salary* ) (", 10).await.unwrap().len(), 1, "query syntax in user text is harmless");
}
