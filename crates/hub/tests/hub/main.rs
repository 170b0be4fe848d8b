//! Integration tests of the hub: a real hub on 127.0.0.1:0, real HTTP, real WebSockets.
//! One module per area of protocol v1 and 1.1.

mod attachments;
mod auth;
mod authorization;
mod cards;
mod changes;
mod conversations;
mod display_text;
mod edits;
mod gateway;
mod http_limits;
mod integrations;
mod limits;
mod login_flood;
mod logs;
mod messaging;
mod migrations;
mod notifications;
mod path_ids;
mod poll;
mod postgres;
mod presence;
mod reactions;
mod receipts;
mod resume;
mod scheduled;
mod service;
mod several_hubs;
mod shutdown;
mod support;
mod templates;
mod text;
mod timeouts;
mod twilio;
mod twilio_outbound;
mod typing;
