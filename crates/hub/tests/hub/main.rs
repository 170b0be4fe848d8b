//! Integration tests of the hub: a real hub on 127.0.0.1:0, real HTTP, real WebSockets.
//! One module per area of protocol v1 and 1.1.

mod attachments;
mod auth;
mod changes;
mod conversations;
mod edits;
mod gateway;
mod limits;
mod logs;
mod migrations;
mod messaging;
mod notifications;
mod presence;
mod reactions;
mod receipts;
mod resume;
mod service;
mod shutdown;
mod support;
mod timeouts;
mod typing;
