//! Templates (1.1, §3): saved replies kept on the hub (every device of the user has them),
//! filled from the conversation before they are sent; a variable that cannot be filled is an
//! error that names it, never braces in a sent message.

use rapport_client::{EngineError, Role};
use rapport_protocol::{Card, JobCard};
use rapport_testkit::TestHub;

use crate::support::{open, Client, DEADLINE};

const BODY: &str = "Hi {{first_name}} ({{display_name}}), about {{job_title}}: 20 minutes this week? — {{my_name}}";

fn invalid_naming(result: Result<impl std::fmt::Debug, EngineError>, needle: &str) {
    match result {
        Err(EngineError::Invalid { message, .. }) => assert!(message.contains(needle), "the error names {needle}: {message}"),
        other => panic!("expected an invalid error naming {needle}: {other:?}"),
    }
}

#[tokio::test]
async fn templates_are_added_updated_listed_and_removed_on_the_hub_for_every_device() {
    let hub = TestHub::start().await;
    let rita = Client::register(&hub.url(), "Rita").await;
    assert!(rita.engine.templates().await.unwrap().is_empty());

    let intro = rita.engine.add_template("intro", BODY).await.expect("add");
    assert_eq!((intro.name.as_str(), intro.body.as_str()), ("intro", BODY));
    let thanks = rita.engine.add_template("a thanks", "Thanks {{first_name}}!").await.unwrap();
    let names: Vec<String> = rita.engine.templates().await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["a thanks", "intro"], "listed by name");

    let updated = rita.engine.update_template(&intro.id, "first contact", "Hello {{first_name}}").await.expect("update");
    assert_eq!((updated.id.as_str(), updated.name.as_str(), updated.body.as_str()), (intro.id.as_str(), "first contact", "Hello {{first_name}}"));

    // Another device of the same user sees the same templates.
    let laptop_dir = tempfile::tempdir().unwrap();
    let laptop = open(&hub.url(), laptop_dir.path()).await;
    laptop.login(&rita.user.email, &rita.password).await.unwrap();
    let on_laptop: Vec<(String, String)> = laptop.templates().await.unwrap().into_iter().map(|t| (t.name, t.body)).collect();
    assert_eq!(on_laptop, [("a thanks".to_owned(), "Thanks {{first_name}}!".to_owned()), ("first contact".to_owned(), "Hello {{first_name}}".to_owned())]);

    // Private to their owner.
    let carl = Client::register_as(&hub.url(), "Carl", Role::Candidate).await;
    assert!(carl.engine.templates().await.unwrap().is_empty(), "another user sees none of them");
    assert!(carl.engine.remove_template(&thanks.id).await.is_err(), "nor removes them");

    // Bad input: nothing changes.
    invalid_naming(rita.engine.add_template("bad", "Hi {{salary}}").await, "{{salary}}");
    invalid_naming(rita.engine.add_template("open", "Hi {{first_name").await, "not closed");
    invalid_naming(rita.engine.update_template(&intro.id, "first contact", "Hi {{salary}}").await, "{{salary}}");
    assert!(rita.engine.add_template("intro-copy", "x").await.is_ok());
    assert!(rita.engine.add_template("intro-copy", "y").await.is_err(), "names are unique per owner");
    assert!(rita.engine.add_template("", "x").await.is_err(), "a name is required");
    assert!(rita.engine.add_template("empty", "").await.is_err(), "a body is required");
    let after: Vec<(String, String)> = rita.engine.templates().await.unwrap().into_iter().map(|t| (t.name, t.body)).collect();
    assert_eq!(after.len(), 3, "only the valid ones were added: {after:?}");
    assert!(after.contains(&("first contact".to_owned(), "Hello {{first_name}}".to_owned())), "the refused update changed nothing: {after:?}");

    rita.engine.remove_template(&thanks.id).await.expect("remove");
    assert!(rita.engine.remove_template(&thanks.id).await.is_err(), "a removed template is gone");
    let names: Vec<String> = laptop.templates().await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["first contact", "intro-copy"], "removed for every device");
}

#[tokio::test]
async fn variables_are_filled_from_the_conversation_and_an_unfillable_one_is_an_error() {
    let hub = TestHub::start().await;
    let rita = Client::register(&hub.url(), "Rita Moreno").await;
    let carl = Client::register_as(&hub.url(), "Carl Jensen", Role::Candidate).await;
    let dana = Client::register_as(&hub.url(), "Dana", Role::Candidate).await;
    rita.engine.start();
    let conversation = rita.engine.start_direct(&carl.user.id).await.unwrap();

    // No job card yet: {{job_title}} has no value, and says so.
    invalid_naming(rita.engine.fill_template(&conversation.id, BODY).await, "{{job_title}}");
    assert_eq!(rita.engine.fill_template(&conversation.id, "Hi {{first_name}} — {{my_name}}").await.unwrap(), "Hi Carl — Rita Moreno");

    for title in ["Senior Rust Engineer", "Staff Engineer"] {
        let card = Card::Job(JobCard { title: title.into(), company: "Acme".into(), ..JobCard::default() });
        let queued = rita.engine.send_card(&conversation.id, "", card).await.unwrap();
        rita.engine.wait_sent(&queued.client_msg_id, DEADLINE).await.unwrap();
    }
    let filled = rita.engine.fill_template(&conversation.id, BODY).await.expect("every variable has a value now");
    assert_eq!(filled, "Hi Carl (Carl Jensen), about Staff Engineer: 20 minutes this week? — Rita Moreno", "the latest card's title");

    // The candidate's side fills from the same conversation: the other person is the recruiter.
    carl.engine.start();
    crate::support::eventually("carl has both cards", || async {
        let page = carl.engine.history(&conversation.id, None, 10).await.ok()?;
        (page.messages.len() == 2).then_some(())
    })
    .await;
    assert_eq!(carl.engine.fill_template(&conversation.id, BODY).await.unwrap(), "Hi Rita (Rita Moreno), about Staff Engineer: 20 minutes this week? — Carl Jensen");

    invalid_naming(rita.engine.fill_template(&conversation.id, "Hi {{salary}}").await, "{{salary}}");
    invalid_naming(rita.engine.fill_template(&conversation.id, "Hi {{first_name").await, "not closed");
    let group = rita.engine.start_group("Rust pool", &[carl.user.id.clone(), dana.user.id.clone()]).await.unwrap();
    invalid_naming(rita.engine.fill_template(&group.id, "Hi {{first_name}}").await, "{{first_name}}");
    assert_eq!(rita.engine.fill_template(&group.id, "Hi all — {{my_name}}").await.unwrap(), "Hi all — Rita Moreno", "a group has no one person, but the sender is known");
    assert!(matches!(rita.engine.fill_template("no-such-conversation", "Hi").await, Err(EngineError::NotFound(_))));
}
