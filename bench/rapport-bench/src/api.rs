//! The REST side of setup and catch-up, for both targets: register, create conversations,
//! page history after a seq.

use anyhow::{bail, Context as _};
use futures_util::{stream, StreamExt as _, TryStreamExt as _};
use rapport_protocol::rest::{CreateConversation, MessagePage, RegisterRequest, Session};
use rapport_protocol::Role;
use serde_json::json;

use crate::server::Target;

/// A registered user and a token to act as them.
#[derive(Debug, Clone)]
pub struct Account {
    /// User id.
    pub user_id: String,
    /// Bearer token for REST and the gateway handshake.
    pub token: String,
}

/// One message as the catch-up pages return it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Per-conversation seq.
    pub seq: i64,
    /// Message id.
    pub id: String,
}

/// REST client of one server.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    target: Target,
}

impl Api {
    /// A client of the server at `base` (`http://127.0.0.1:PORT`).
    pub fn new(target: Target, base: String) -> Api {
        let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("http client");
        Api { http, base, target }
    }

    /// Registers `count` users in parallel (the hub hashes each password with argon2id).
    pub async fn register_many(&self, run: &str, count: usize) -> anyhow::Result<Vec<Account>> {
        let mut accounts: Vec<(usize, Account)> = stream::iter(0..count)
            .map(|i| async move { Ok::<_, anyhow::Error>((i, self.register(&format!("{run}-{i}")).await?)) })
            .buffer_unordered(8)
            .try_collect()
            .await?;
        accounts.sort_by_key(|(i, _)| *i);
        Ok(accounts.into_iter().map(|(_, a)| a).collect())
    }

    /// Registers one user.
    pub async fn register(&self, name: &str) -> anyhow::Result<Account> {
        let email = format!("{name}@bench.invalid");
        let url = format!("{}/v1/auth/register", self.base);
        if self.target.is_rapport() {
            let body = RegisterRequest {
                email,
                password: "bench-password-1".into(),
                display_name: name.into(),
                role: Role::Candidate,
            };
            let session: Session = expect_ok(self.http.post(url).json(&body).send().await?).await?;
            Ok(Account { user_id: session.user.id, token: session.access_token })
        } else {
            let v: serde_json::Value =
                expect_ok(self.http.post(url).json(&json!({"email": email, "display_name": name})).send().await?).await?;
            Ok(Account {
                user_id: v["user"]["id"].as_str().context("user.id")?.into(),
                token: v["access_token"].as_str().context("access_token")?.into(),
            })
        }
    }

    /// The direct conversation of `me` and `other`.
    pub async fn direct(&self, me: &Account, other: &Account) -> anyhow::Result<String> {
        let body = if self.target.is_rapport() {
            serde_json::to_value(CreateConversation::Direct { user_id: other.user_id.clone() })?
        } else {
            json!({"kind": "direct", "member_ids": [other.user_id]})
        };
        self.create(me, body).await
    }

    /// A group of `me` and `others`.
    pub async fn group(&self, me: &Account, others: &[&Account], title: &str) -> anyhow::Result<String> {
        let member_ids: Vec<String> = others.iter().map(|a| a.user_id.clone()).collect();
        let body = if self.target.is_rapport() {
            serde_json::to_value(CreateConversation::Group { title: title.into(), member_ids })?
        } else {
            json!({"kind": "group", "member_ids": member_ids})
        };
        self.create(me, body).await
    }

    async fn create(&self, me: &Account, body: serde_json::Value) -> anyhow::Result<String> {
        let url = format!("{}/v1/conversations", self.base);
        let v: serde_json::Value =
            expect_ok(self.http.post(url).bearer_auth(&me.token).json(&body).send().await?).await?;
        Ok(v["id"].as_str().context("conversation id")?.to_owned())
    }

    /// Every message after `after_seq`, paging 200 at a time.
    pub async fn after(&self, token: &str, conversation_id: &str, mut after_seq: i64) -> anyhow::Result<Vec<Stored>> {
        let mut all = Vec::new();
        loop {
            let url = format!("{}/v1/conversations/{conversation_id}/messages?after_seq={after_seq}&limit=200", self.base);
            let response = self.http.get(url).bearer_auth(token).send().await?;
            let (page, has_more): (Vec<Stored>, bool) = if self.target.is_rapport() {
                let page: MessagePage = expect_ok(response).await?;
                (page.messages.into_iter().map(|m| Stored { seq: m.seq, id: m.id }).collect(), page.has_more)
            } else {
                let v: serde_json::Value = expect_ok(response).await?;
                let messages = v["messages"].as_array().context("messages")?;
                let page = messages
                    .iter()
                    .map(|m| Stored { seq: m["seq"].as_i64().unwrap_or(0), id: m["id"].as_str().unwrap_or("").into() })
                    .collect();
                (page, v["has_more"].as_bool().unwrap_or(false))
            };
            if let Some(last) = page.last() {
                after_seq = last.seq;
            }
            let empty = page.is_empty();
            all.extend(page);
            if !has_more || empty {
                return Ok(all);
            }
        }
    }
}

async fn expect_ok<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> anyhow::Result<T> {
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("HTTP {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("decoding {text}"))
}
