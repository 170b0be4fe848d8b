//! Integration tests of the hub: a real hub on 127.0.0.1:0, real HTTP, real WebSockets.
//! One module per area of protocol v1.

mod auth;
mod conversations;
mod display_text;
mod gateway;
mod http_limits;
mod limits;
mod login_flood;
mod logs;
mod messaging;
mod notifications;
mod path_ids;
mod postgres;
mod presence;
mod receipts;
mod resume;
mod service;
mod shutdown;
mod support;
mod text;
mod timeouts;
mod typing;
