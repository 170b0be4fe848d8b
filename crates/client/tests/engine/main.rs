//! Integration tests of the client engine against the real hub (in-process or as a process).
//! One binary; modules mirror the engine's concerns.

mod support;

mod backoff;
mod attachments;
mod cards;
mod catch_up;
mod fallback;
mod lifecycle;
mod messaging;
mod outbox;
mod presence;
mod property;
mod quiet;
mod resume;
mod scheduled;
mod search;
mod several_hubs;
mod templates;
mod tokens;
mod scale;
