//! register, login, whoami, logout, usage errors.

use rapport_testkit::HubProcess;

use crate::support::{Profile, PASSWORD};

#[tokio::test]
async fn account_commands_and_usage_errors() {
    let hub = HubProcess::start(&[]).await;
    let p = Profile::new(&hub.url());
    let (email, id) = p.register("Rita", "recruiter").await;
    let me = p.ok(&["--json", "whoami"]).await.json();
    assert_eq!((me["id"].as_str(), me["role"].as_str()), (Some(id.as_str()), Some("recruiter")), "whoami shows the registered user");
    let human = p.ok(&["whoami"]).await;
    assert!(human.stdout.contains(&email), "human output names the user: {human:?}");

    let out = p.ok(&["--json", "logout"]).await;
    assert_eq!(out.json()["logged_out"], true);
    let after = p.run(&["whoami"]).await;
    assert_eq!(after.code, 1, "whoami without a login is an error: {after:?}");
    assert!(!after.stderr.is_empty(), "the error is explained on stderr");

    let wrong = p.run(&["login", "--email", &email, "--password", "wrong password"]).await;
    assert_eq!(wrong.code, 1, "bad credentials exit 1: {wrong:?}");
    let back = p.ok(&["--json", "login", "--email", &email, "--password", PASSWORD]).await.json();
    assert_eq!(back["id"], id.as_str(), "login as the same user");

    let other = Profile::new(&hub.url());
    let taken = other.run(&["register", "--email", &email, "--password", PASSWORD, "--name", "X", "--role", "candidate"]).await;
    assert_eq!(taken.code, 1, "a taken email is an error: {taken:?}");

    for usage in [
        vec!["send", "hello"],                                       // no target
        vec!["send", "--to", "a@b", "--conversation", "c", "hello"], // both targets
        vec!["presence", "sleepy"],
        vec!["register", "--email", "x@y", "--password", "p", "--name", "n", "--role", "boss"],
        vec!["frobnicate"],
    ] {
        let run = p.run(&usage).await;
        assert_eq!(run.code, 2, "usage error must exit 2 for {usage:?}: {run:?}");
    }
}
