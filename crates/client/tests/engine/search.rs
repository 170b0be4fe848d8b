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

#[tokio::test]
async fn frequent_words_and_prefixes_return_the_newest_matches_highlighted() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    alice.engine.start();
    for i in 1..=30 {
        let body = if i % 10 == 0 { format!("let's go, reply {i}") } else { format!("the salary question, part {i}") };
        let m = alice.engine.send(&conversation.id, &body).await.unwrap();
        alice.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap();
    }
    let m = alice.engine.send(&conversation.id, "google it").await.unwrap();
    alice.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap();
    bob.engine.sync(DEADLINE).await.unwrap();

    let seqs = |hits: &[rapport_client::SearchHit]| hits.iter().map(|h| h.message.seq.unwrap()).collect::<Vec<_>>();
    let hits = bob.engine.search("salary", 5).await.unwrap();
    assert_eq!(seqs(&hits), [29, 28, 27, 26, 25], "the newest of 27 matches, newest first");
    for hit in &hits {
        assert!(hit.snippet.iter().any(|p| p.hit && p.text == "salary"), "highlighted: {:?}", hit.snippet);
    }
    let hits = bob.engine.search("sal quest", 3).await.unwrap();
    assert_eq!(seqs(&hits), [29, 28, 27], "every word of 3+ characters is a prefix");
    assert!(hits[0].snippet.iter().any(|p| p.hit && p.text == "question"), "the whole word a prefix matched is highlighted: {:?}", hits[0].snippet);

    let hits = bob.engine.search("go", 10).await.unwrap();
    assert_eq!(seqs(&hits), [30, 20, 10], "a 2-letter word matches only itself, not \"google\"");
    assert!(hits[0].snippet.iter().any(|p| p.hit && p.text == "go"), "{:?}", hits[0].snippet);
    let hits = bob.engine.search("goo", 10).await.unwrap();
    assert_eq!(seqs(&hits), [31], "3 letters are a prefix");
}
