//! Who may do what: an authorization matrix over every REST route of the hub and every gateway
//! client op.
//!
//! [`ROUTES`] has one row per method and path of `crates/hub/src/http/mod.rs`: who may call it
//! and how every other caller is refused. [`OPS`] does the same for the gateway's client ops.
//! The runners ([`rest`], [`gateway`]) build one [`world::World`] — an owner (a recruiter), a
//! member of her conversation (a candidate) and an outsider, with a conversation, messages,
//! attachments, a template, a scheduled message, a notification, a poll session and two Twilio
//! numbers of the owner's, and a conversation over the WhatsApp/SMS bridge with a reply of hers
//! that went out through Twilio — try every refusal of every row, check that each answered exactly the status and code that
//! the protocol gives and that nothing changed, and then make each row's request as its
//! rightful caller, which must succeed: so every refusal was about who asked, not about a
//! request that would have failed anyway.
//!
//! An outsider asking about a real id and about a made-up one gets the same answer (status,
//! code and message), so ids cannot be probed. [`coverage`] fails, naming it, for a route of
//! the router or of the OpenAPI document that has no row here, and a new `ClientOp` does not
//! compile until `gateway::listed` and `gateway::every_op` name it.

mod coverage;
mod gateway;
mod rest;
mod world;

use serde_json::{json, Value};

use world::Ids;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials: sign-up, login, the refresh-token routes (the token is in
    /// the body), the operator routes, the OpenAPI document and the update files.
    Anyone,
    /// A user with a valid access token (`Authorization: Bearer`); what they reach is theirs
    /// or that of the conversations they are a member of.
    User,
    /// The integration (the applicant-tracking system): `X-Api-Key` with the hub's key.
    Integration,
    /// Whoever holds the poll session's id: it is the session's credential, handed out only in
    /// the answer to the `POST /v1/poll/open` that proved the token.
    PollSession,
    /// The WebSocket upgrade: the token comes in the socket's `identify` or `resume` (see
    /// [`OPS`]).
    Gateway,
    /// Twilio's webhooks: whoever signs the form and the public URL with the hub's Twilio auth
    /// token (`X-Twilio-Signature`); no bearer token.
    TwilioSignature,
}

/// One way a caller is refused, and the answer it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header: 401 `unauthorized`.
    NoToken,
    /// A header that is no valid token of this hub (garbage, another scheme, a tampered or cut
    /// signature, `alg: none`): 401 `unauthorized`.
    MalformedToken,
    /// The owner's own token after its `exp`: 401 `unauthorized`.
    ExpiredToken,
    /// The owner's own token of a login she logged out of: 401 `unauthorized`.
    LoggedOutToken,
    /// A user who is not a member (not the owner): 404 `not_found` "{what} not found", the very
    /// answer a made-up id gets.
    Outsider(&'static str),
    /// A member naming a message of another conversation: 404 "message not found", as for a
    /// made-up message id.
    ForeignMessage,
    /// A member asking for another member's upload that no message carries yet: 404
    /// "attachment not found", as for a made-up id.
    OnlyUploader,
    /// A member changing another member's message: 403 `forbidden`.
    NotSender,
    /// A candidate sending a recruiter's job card: 403 `forbidden`.
    CandidateCard,
    /// An outsider's list: 200, and none of the world's private ids in it.
    OthersHidden,
    /// A member asking about what is the owner's alone (her template, scheduled message,
    /// notification): 404 "{what} not found", as for a made-up id — sharing a conversation
    /// with her opens none of it.
    NotOwner(&'static str),
    /// A member's list: 200, and none of the owner's own ids in it (her templates, scheduled
    /// messages, notifications, unsent uploads).
    OwnersHidden,
    /// No `X-Api-Key`: 401 `unauthorized`.
    NoApiKey,
    /// A wrong `X-Api-Key`: 401 `unauthorized`.
    WrongApiKey,
    /// A user's valid access token instead of the key: 401 `unauthorized`.
    UserTokenForKey,
    /// A made-up poll session id: 404 "poll session not found".
    UnknownPollSession,
    /// A refresh token the hub never issued: 401 `invalid_refresh_token`.
    UnknownRefreshToken,
    /// A plain request to the WebSocket route: 400 `invalid_payload`.
    NotAnUpgrade,
    /// A candidate managing Twilio numbers (only recruiters receive on them): 403 `forbidden`,
    /// for a real number as for a made-up one.
    CandidateNumbers,
    /// The outsider (a recruiter) adding the owner's number: 409 `conflict` "another recruiter
    /// receives on this number" — a number has one owner, and it stays hers; the answer does
    /// not say who she is.
    NumberTaken,
    /// A webhook without `X-Twilio-Signature`: 403 `forbidden`.
    NoSignature,
    /// A webhook whose signature is not Twilio's for it (garbage, empty, another auth token,
    /// another URL, a parameter changed after signing): 403 `forbidden`.
    BadSignature,
}

use Refusal::*;

/// What a path parameter is filled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// The owner's conversation with the member.
    Conversation,
    /// The owner's message in it (edited and reacted to).
    Message,
    /// Another message of the owner's in it (deleted last).
    DeletableMessage,
    /// A reaction emoji (not an id: never made up).
    Emoji,
    /// The owner's attachment, carried by her message.
    Attachment,
    /// The owner's image attachment, carried by her message.
    Image,
    /// The owner's notification.
    Notification,
    /// The owner's template.
    Template,
    /// The owner's scheduled message.
    Scheduled,
    /// The owner's poll session.
    PollSession,
    /// An update file that is served.
    UpdateFile,
    /// The owner's spare Twilio number (removed by its `DELETE`), percent-encoded.
    Number,
}

/// A request's body.
#[derive(Clone, Copy)]
pub enum Body {
    /// None.
    Empty,
    /// JSON, built from the ids of the request (real or made up).
    Json(fn(&Ids) -> Value),
    /// A small text file as `POST /v1/attachments` takes it.
    Upload,
    /// An `application/x-www-form-urlencoded` form as Twilio posts it, built from the ids.
    Form(fn(&Ids) -> Vec<(&'static str, String)>),
}

/// One route: its method and path exactly as `http/mod.rs` writes them, what its parameters
/// are, the request its rightful caller makes, and how everyone else is refused.
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path template as in the router (`/v1/conversations/{id}`).
    pub path: &'static str,
    /// What each `{parameter}` of the path is, in order.
    pub fill: &'static [Fill],
    /// The request's body.
    pub body: Body,
    /// Who may call it.
    pub access: Access,
    /// The status its rightful caller (the owner, the integration, the session holder, anyone)
    /// gets for this request.
    pub ok: u16,
    /// Every refusal, tried before the rightful call.
    pub refusals: &'static [Refusal],
}

/// The refusals of a route that needs an access token and concerns only its caller.
const TOKEN: [Refusal; 4] = [NoToken, MalformedToken, ExpiredToken, LoggedOutToken];
/// Those of the integration routes.
const KEY: [Refusal; 3] = [NoApiKey, WrongApiKey, UserTokenForKey];
/// Those of a change to a message anyone in the conversation may make (reactions).
const MESSAGE: [Refusal; 6] = [NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("conversation"), ForeignMessage];
/// Those of a change only the message's sender may make.
const OWN_MESSAGE: [Refusal; 7] =
    [NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("conversation"), ForeignMessage, NotSender];

/// Every REST route, in the order of `http/mod.rs`. The rightful calls run in this order too.
pub const ROUTES: &[Route] = &[
    Route { method: "POST", path: "/v1/auth/register", fill: &[], body: Body::Json(bodies::register), access: Access::Anyone, ok: 201, refusals: &[] },
    Route { method: "POST", path: "/v1/auth/login", fill: &[], body: Body::Json(bodies::login), access: Access::Anyone, ok: 200, refusals: &[] },
    Route { method: "POST", path: "/v1/auth/refresh", fill: &[], body: Body::Json(bodies::refresh), access: Access::Anyone, ok: 200, refusals: &[UnknownRefreshToken] },
    // Always 204 (also for a token it does not know): nothing to refuse, nothing to learn.
    Route { method: "POST", path: "/v1/auth/logout", fill: &[], body: Body::Json(bodies::refresh), access: Access::Anyone, ok: 204, refusals: &[] },
    Route { method: "GET", path: "/v1/me", fill: &[], body: Body::Empty, access: Access::User, ok: 200, refusals: &TOKEN },
    // The directory is open to every user (that is how a conversation is started).
    Route { method: "GET", path: "/v1/users", fill: &[], body: Body::Empty, access: Access::User, ok: 200, refusals: &TOKEN },
    // The direct conversation of the pair exists already: 200 with it.
    Route { method: "POST", path: "/v1/conversations", fill: &[], body: Body::Json(bodies::direct), access: Access::User, ok: 200, refusals: &TOKEN },
    Route { method: "GET", path: "/v1/conversations", fill: &[], body: Body::Empty, access: Access::User, ok: 200, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, OthersHidden] },
    Route { method: "GET", path: "/v1/conversations/{id}", fill: &[Fill::Conversation], body: Body::Empty, access: Access::User, ok: 200, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("conversation")] },
    Route { method: "GET", path: "/v1/conversations/{id}/messages", fill: &[Fill::Conversation], body: Body::Empty, access: Access::User, ok: 200, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("conversation")] },
    Route { method: "POST", path: "/v1/conversations/{id}/read", fill: &[Fill::Conversation], body: Body::Json(bodies::read), access: Access::User, ok: 204, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("conversation")] },
    Route { method: "PATCH", path: "/v1/conversations/{id}/messages/{message_id}", fill: &[Fill::Conversation, Fill::Message], body: Body::Json(bodies::edit), access: Access::User, ok: 200, refusals: &OWN_MESSAGE },
    Route { method: "DELETE", path: "/v1/conversations/{id}/messages/{message_id}", fill: &[Fill::Conversation, Fill::DeletableMessage], body: Body::Empty, access: Access::User, ok: 204, refusals: &OWN_MESSAGE },
    Route { method: "PUT", path: "/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}", fill: &[Fill::Conversation, Fill::Message, Fill::Emoji], body: Body::Empty, access: Access::User, ok: 204, refusals: &MESSAGE },
    Route { method: "DELETE", path: "/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}", fill: &[Fill::Conversation, Fill::Message, Fill::Emoji], body: Body::Empty, access: Access::User, ok: 204, refusals: &MESSAGE },
    Route { method: "POST", path: "/v1/attachments", fill: &[], body: Body::Upload, access: Access::User, ok: 201, refusals: &TOKEN },
    Route { method: "GET", path: "/v1/attachments/{id}", fill: &[Fill::Attachment], body: Body::Empty, access: Access::User, ok: 200, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("attachment"), OnlyUploader] },
    Route { method: "GET", path: "/v1/attachments/{id}/thumbnail", fill: &[Fill::Image], body: Body::Empty, access: Access::User, ok: 200, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("attachment"), OnlyUploader] },
    Route { method: "POST", path: "/v1/notifications", fill: &[], body: Body::Json(bodies::notification), access: Access::Integration, ok: 201, refusals: &KEY },
    Route { method: "GET", path: "/v1/notifications", fill: &[], body: Body::Empty, access: Access::User, ok: 200, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, OthersHidden, OwnersHidden] },
    Route { method: "POST", path: "/v1/notifications/{id}/read", fill: &[Fill::Notification], body: Body::Empty, access: Access::User, ok: 204, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("notification"), NotOwner("notification")] },
    Route { method: "POST", path: "/v1/integrations/application-status", fill: &[], body: Body::Json(bodies::application_status), access: Access::Integration, ok: 201, refusals: &KEY },
    Route { method: "GET", path: "/v1/templates", fill: &[], body: Body::Empty, access: Access::User, ok: 200, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, OthersHidden, OwnersHidden] },
    Route { method: "POST", path: "/v1/templates", fill: &[], body: Body::Json(bodies::template), access: Access::User, ok: 201, refusals: &TOKEN },
    Route { method: "PUT", path: "/v1/templates/{id}", fill: &[Fill::Template], body: Body::Json(bodies::template_rename), access: Access::User, ok: 200, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("template"), NotOwner("template")] },
    Route { method: "DELETE", path: "/v1/templates/{id}", fill: &[Fill::Template], body: Body::Empty, access: Access::User, ok: 204, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("template"), NotOwner("template")] },
    Route { method: "GET", path: "/v1/scheduled", fill: &[], body: Body::Empty, access: Access::User, ok: 200, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, OthersHidden, OwnersHidden] },
    Route { method: "POST", path: "/v1/scheduled", fill: &[], body: Body::Json(bodies::schedule), access: Access::User, ok: 201, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("conversation"), CandidateCard] },
    Route { method: "DELETE", path: "/v1/scheduled/{id}", fill: &[Fill::Scheduled], body: Body::Empty, access: Access::User, ok: 204, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("scheduled message"), NotOwner("scheduled message")] },
    Route { method: "GET", path: "/v1/bridges/twilio/numbers", fill: &[], body: Body::Empty, access: Access::User, ok: 200, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, OthersHidden, CandidateNumbers] },
    Route { method: "POST", path: "/v1/bridges/twilio/numbers", fill: &[], body: Body::Json(bodies::number), access: Access::User, ok: 201, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, CandidateNumbers, NumberTaken] },
    Route { method: "DELETE", path: "/v1/bridges/twilio/numbers/{number}", fill: &[Fill::Number], body: Body::Empty, access: Access::User, ok: 204, refusals: &[NoToken, MalformedToken, ExpiredToken, LoggedOutToken, Outsider("number"), CandidateNumbers] },
    // A health check of the webhook URL, before Twilio is pointed at it.
    Route { method: "GET", path: "/v1/bridges/twilio/inbound", fill: &[], body: Body::Empty, access: Access::Anyone, ok: 200, refusals: &[] },
    Route { method: "POST", path: "/v1/bridges/twilio/inbound", fill: &[], body: Body::Form(forms::inbound), access: Access::TwilioSignature, ok: 200, refusals: &[NoSignature, BadSignature] },
    Route { method: "POST", path: "/v1/bridges/twilio/status", fill: &[], body: Body::Form(forms::status), access: Access::TwilioSignature, ok: 200, refusals: &[NoSignature, BadSignature] },
    Route { method: "GET", path: "/v1/openapi.json", fill: &[], body: Body::Empty, access: Access::Anyone, ok: 200, refusals: &[] },
    // 101 Switching Protocols: the rightful upgrades, and the socket's own refusals, are the
    // rows of `OPS`.
    Route { method: "GET", path: "/v1/gateway", fill: &[], body: Body::Empty, access: Access::Gateway, ok: 101, refusals: &[NotAnUpgrade] },
    // The token is in the body; its refusals are those of `identify` in `OPS`, as 401s.
    Route { method: "POST", path: "/v1/poll/open", fill: &[], body: Body::Json(bodies::poll_open), access: Access::Anyone, ok: 200, refusals: &[] },
    Route { method: "POST", path: "/v1/poll/{session_id}", fill: &[Fill::PollSession], body: Body::Json(bodies::poll), access: Access::PollSession, ok: 200, refusals: &[UnknownPollSession] },
    Route { method: "GET", path: "/v1/updates/{file}", fill: &[Fill::UpdateFile], body: Body::Empty, access: Access::Anyone, ok: 200, refusals: &[] },
    Route { method: "GET", path: "/healthz", fill: &[], body: Body::Empty, access: Access::Anyone, ok: 200, refusals: &[] },
    Route { method: "GET", path: "/readyz", fill: &[], body: Body::Empty, access: Access::Anyone, ok: 200, refusals: &[] },
    Route { method: "GET", path: "/metrics", fill: &[], body: Body::Empty, access: Access::Anyone, ok: 200, refusals: &[] },
];

/// One way a gateway op is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpRefusal {
    /// As the first frame of a connection (no token given yet): closed with 4001.
    BeforeIdentify,
    /// `identify`/`resume` without a token, with a malformed one, with the owner's expired one
    /// or with that of a login she logged out of: closed with 4001.
    BadToken,
    /// Again on an identified session: `invalid_payload`.
    AlreadyIdentified,
    /// `resume` of another user's session with one's own valid token: `invalid_session`, the
    /// answer an unknown session id gets.
    OthersSession,
    /// By a user who is not a member: `not_found` "{what} not found", the same as for made-up
    /// ids.
    Outsider(&'static str),
    /// By a member, naming a message of another conversation: `not_found` "message not found",
    /// as for a made-up message id.
    ForeignMessage,
    /// By a member, carrying another member's upload: `not_found` "attachment not found", as
    /// for a made-up one.
    OnlyUploader,
    /// By a member, changing another member's message: `forbidden`.
    NotSender,
    /// By a candidate, with a recruiter's job card: `forbidden`.
    CandidateCard,
    /// By a member, replying to a message of another conversation: `invalid_payload`, worded
    /// as for a made-up `reply_to`.
    ForeignReply,
}

/// One gateway op: its wire name, the data its rightful caller (the owner) sends, and how
/// everyone else is refused. Ops without a conversation (`ping`, `presence.set`) concern only
/// the caller: every identified user may send them.
pub struct Op {
    /// The serde name (`message.send`).
    pub name: &'static str,
    /// Its data, built from the ids of the request (real or made up).
    pub data: fn(&Ids) -> Value,
    /// Every refusal, tried before the rightful call.
    pub refusals: &'static [OpRefusal],
}

/// Every client op of the gateway.
pub const OPS: &[Op] = &[
    Op { name: "identify", data: ops::identify, refusals: &[OpRefusal::BadToken, OpRefusal::AlreadyIdentified] },
    Op { name: "resume", data: ops::resume, refusals: &[OpRefusal::BadToken, OpRefusal::AlreadyIdentified, OpRefusal::OthersSession] },
    Op { name: "ping", data: ops::nothing, refusals: &[OpRefusal::BeforeIdentify] },
    Op { name: "message.send", data: ops::send, refusals: &[OpRefusal::BeforeIdentify, OpRefusal::Outsider("conversation"), OpRefusal::OnlyUploader, OpRefusal::CandidateCard, OpRefusal::ForeignReply] },
    Op { name: "message.edit", data: ops::edit, refusals: &[OpRefusal::BeforeIdentify, OpRefusal::Outsider("conversation"), OpRefusal::ForeignMessage, OpRefusal::NotSender] },
    Op { name: "message.delete", data: ops::delete, refusals: &[OpRefusal::BeforeIdentify, OpRefusal::Outsider("conversation"), OpRefusal::ForeignMessage, OpRefusal::NotSender] },
    Op { name: "message.react", data: ops::react, refusals: &[OpRefusal::BeforeIdentify, OpRefusal::Outsider("conversation"), OpRefusal::ForeignMessage] },
    Op { name: "typing", data: ops::conversation, refusals: &[OpRefusal::BeforeIdentify, OpRefusal::Outsider("conversation")] },
    Op { name: "read", data: ops::seq, refusals: &[OpRefusal::BeforeIdentify, OpRefusal::Outsider("conversation")] },
    Op { name: "delivered", data: ops::seq, refusals: &[OpRefusal::BeforeIdentify, OpRefusal::Outsider("conversation")] },
    Op { name: "presence.set", data: ops::presence, refusals: &[OpRefusal::BeforeIdentify] },
];

/// The REST rows' bodies.
mod bodies {
    use super::*;

    pub fn register(_: &Ids) -> Value {
        json!({"email": format!("newcomer-{}@example.test", std::process::id()), "password": "correct horse", "display_name": "Newcomer", "role": "candidate"})
    }
    pub fn login(ids: &Ids) -> Value {
        json!({"email": ids.owner_email, "password": "correct horse"})
    }
    pub fn refresh(ids: &Ids) -> Value {
        json!({"refresh_token": ids.refresh_token})
    }
    pub fn direct(ids: &Ids) -> Value {
        json!({"kind": "direct", "user_id": ids.member})
    }
    pub fn read(_: &Ids) -> Value {
        json!({"seq": 2})
    }
    pub fn edit(_: &Ids) -> Value {
        json!({"body": "edited"})
    }
    pub fn notification(ids: &Ids) -> Value {
        json!({"user_id": ids.owner, "kind": "system", "title": "Maintenance", "body": "Tonight."})
    }
    pub fn application_status(ids: &Ids) -> Value {
        json!({"candidate_email": ids.member_email, "recruiter_email": ids.owner_email, "job_title": "Rust engineer", "status": "interview"})
    }
    pub fn template(_: &Ids) -> Value {
        json!({"name": "Thanks", "body": "Thanks, {{first_name}}!"})
    }
    pub fn template_rename(_: &Ids) -> Value {
        json!({"name": "Greeting, renamed", "body": "Hello {{first_name}}"})
    }
    pub fn schedule(ids: &Ids) -> Value {
        json!({"conversation_id": ids.conversation, "client_msg_id": "later-2", "body": "Later", "send_at": world::in_an_hour()})
    }
    pub fn poll_open(ids: &Ids) -> Value {
        json!({"token": ids.owner_token})
    }
    pub fn poll(_: &Ids) -> Value {
        json!({"ops": [{"op": "ping", "ref": 1}], "last_seq": 0})
    }
    pub fn number(_: &Ids) -> Value {
        json!({"number": world::NEW_NUMBER})
    }
}

/// The Twilio rows' forms.
mod forms {
    use super::*;

    /// A WhatsApp message from the world's phone to the owner's number.
    pub fn inbound(ids: &Ids) -> Vec<(&'static str, String)> {
        vec![
            ("MessageSid", "SM0000000000000000000000000000a002".to_owned()),
            ("AccountSid", rapport_testkit::TWILIO_ACCOUNT_SID.to_owned()),
            ("From", format!("whatsapp:{}", world::PHONE)),
            ("To", format!("whatsapp:{}", ids.number)),
            ("Body", "Is the role still open?".to_owned()),
            ("NumMedia", "0".to_owned()),
        ]
    }
    /// Twilio's report that the owner's reply over the bridge was delivered.
    pub fn status(ids: &Ids) -> Vec<(&'static str, String)> {
        vec![
            ("MessageSid", ids.twilio_sid.clone()),
            ("MessageStatus", "delivered".to_owned()),
            ("AccountSid", rapport_testkit::TWILIO_ACCOUNT_SID.to_owned()),
        ]
    }
}

/// The gateway rows' data.
mod ops {
    use super::*;

    pub fn identify(ids: &Ids) -> Value {
        json!({"token": ids.owner_token, "presence": "online"})
    }
    pub fn resume(ids: &Ids) -> Value {
        json!({"token": ids.owner_token, "session_id": ids.gateway_session, "last_seq": 0})
    }
    pub fn nothing(_: &Ids) -> Value {
        json!({})
    }
    pub fn send(ids: &Ids) -> Value {
        json!({"conversation_id": ids.conversation, "client_msg_id": "gw-send", "body": "over the gateway", "attachment_ids": [ids.unsent]})
    }
    pub fn edit(ids: &Ids) -> Value {
        json!({"conversation_id": ids.conversation, "message_id": ids.message, "body": "edited over the gateway"})
    }
    pub fn delete(ids: &Ids) -> Value {
        json!({"conversation_id": ids.conversation, "message_id": ids.deletable})
    }
    pub fn react(ids: &Ids) -> Value {
        json!({"conversation_id": ids.conversation, "message_id": ids.message, "emoji": "🎉", "on": true})
    }
    pub fn conversation(ids: &Ids) -> Value {
        json!({"conversation_id": ids.conversation})
    }
    pub fn seq(ids: &Ids) -> Value {
        json!({"conversation_id": ids.conversation, "seq": 1})
    }
    pub fn presence(_: &Ids) -> Value {
        json!({"status": "busy"})
    }
}
