//! Black-box tests of the `rapport-cli` binary against the real hub binary, following
//! `cli-v1.md`: commands, `--json` lines, exit codes, and the outbox across process deaths.

mod support;

mod account;
mod lifecycle;
mod messaging;
mod offline;
mod recruiting;
mod tail;
