//! One gateway session: its event counter and its ring of serialised events.
//!
//! The ring is both the outgoing queue of the attached connection and the replay buffer for
//! `resume`: dispatch appends to it and wakes the connection's writer, which sends everything
//! after the last seq it sent. A connection that falls [`RING_CAPACITY`] events behind is told
//! to close instead of letting memory grow; a detached session whose ring dropped events the
//! client never saw can no longer be resumed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Events kept per session: the protocol asks for at least 1000.
pub const RING_CAPACITY: usize = 1024;

/// A serialised event body shared by every recipient: `{"type":…,"data":…}`.
pub type EventBody = Arc<str>;

/// Why a connection must close, decided outside its own task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kick {
    /// WebSocket close code.
    pub code: u16,
    /// Close reason.
    pub reason: &'static str,
}

/// What the writer of a connection should do next.
pub enum Take {
    /// Send these `(seq, body)` events, in order.
    Events(Vec<(u64, EventBody)>),
    /// Close with this code.
    Close(Kick),
}

struct Attached {
    conn: u64,
    /// Last seq handed to this connection's writer.
    sent_upto: u64,
    wake: Arc<Notify>,
    kick: Option<Kick>,
}

struct State {
    next_seq: u64,
    ring: VecDeque<(u64, EventBody)>,
    attached: Option<Attached>,
    detached_at: Option<Instant>,
}

/// A gateway session; outlives its connection while it is resumable.
pub struct Session {
    /// Unguessable id, given in `ready`.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// The login whose token opened it.
    pub login_id: String,
    state: Mutex<State>,
}

/// Seq bookkeeping after a successful resume.
pub struct Resumption {
    /// Events to replay before `resumed`: those up to this seq.
    pub replay_upto: u64,
    /// How many that is.
    pub replayed: u64,
    /// Whether a connection was still attached (and has now been told to close).
    pub took_over: bool,
}

impl Session {
    /// A session attached to connection `conn`, whose writer waits on `wake`.
    pub fn new(id: String, user_id: String, login_id: String, conn: u64, wake: Arc<Notify>) -> Session {
        Session {
            id,
            user_id,
            login_id,
            state: Mutex::new(State {
                next_seq: 1,
                ring: VecDeque::new(),
                attached: Some(Attached { conn, sent_upto: 0, wake, kick: None }),
                detached_at: None,
            }),
        }
    }

    /// Appends an event with the next seq and wakes the writer.
    pub fn push(&self, body: EventBody) {
        let mut state = self.state.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.ring.push_back((seq, body));
        if state.ring.len() > RING_CAPACITY {
            state.ring.pop_front();
        }
        if let Some(attached) = &mut state.attached {
            if seq - attached.sent_upto > RING_CAPACITY as u64 && attached.kick.is_none() {
                attached.kick = Some(Kick { code: rapport_protocol::close::POLICY, reason: "client too slow" });
            }
            attached.wake.notify_one();
        }
    }

    /// The next batch for connection `conn`'s writer.
    pub fn take(&self, conn: u64, max: usize) -> Take {
        let mut state = self.state.lock();
        let first_seq = state.ring.front().map(|(seq, _)| *seq);
        let state = &mut *state;
        let Some(attached) = state.attached.as_mut().filter(|a| a.conn == conn) else {
            return Take::Close(Kick { code: rapport_protocol::close::NORMAL, reason: "session resumed elsewhere" });
        };
        if let Some(kick) = attached.kick {
            return Take::Close(kick);
        }
        let Some(first_seq) = first_seq else { return Take::Events(Vec::new()) };
        if attached.sent_upto + 1 < first_seq {
            return Take::Close(Kick { code: rapport_protocol::close::POLICY, reason: "client too slow" });
        }
        let start = (attached.sent_upto + 1 - first_seq) as usize;
        let batch: Vec<_> = state.ring.iter().skip(start).take(max).cloned().collect();
        if let Some((seq, _)) = batch.last() {
            attached.sent_upto = *seq;
        }
        Take::Events(batch)
    }

    /// Attaches a new connection that has seen every event up to `last_seq`, if the ring still
    /// holds everything after it. A previous connection is told to close.
    pub fn resume(&self, conn: u64, wake: Arc<Notify>, last_seq: u64) -> Option<Resumption> {
        let mut state = self.state.lock();
        let last_sent = state.next_seq - 1;
        let first_kept = state.ring.front().map_or(state.next_seq, |(seq, _)| *seq);
        if last_seq > last_sent || last_seq + 1 < first_kept {
            return None;
        }
        let old = state.attached.take();
        if let Some(old) = &old {
            old.wake.notify_one(); // its writer finds itself superseded and closes
        }
        state.attached = Some(Attached { conn, sent_upto: last_seq, wake, kick: None });
        state.detached_at = None;
        Some(Resumption { replay_upto: last_sent, replayed: last_sent - last_seq, took_over: old.is_some() })
    }

    /// Detaches connection `conn` (if it is still the attached one). Returns whether it was.
    pub fn detach(&self, conn: u64) -> bool {
        let mut state = self.state.lock();
        if state.attached.as_ref().is_some_and(|a| a.conn == conn) {
            state.attached = None;
            state.detached_at = Some(Instant::now());
            true
        } else {
            false
        }
    }

    /// Tells the attached connection, if any, to close.
    pub fn kick(&self, kick: Kick) {
        let mut state = self.state.lock();
        if let Some(attached) = &mut state.attached {
            attached.kick = Some(kick);
            attached.wake.notify_one();
        }
    }

    /// Whether the session has been detached for longer than `window` (and so is gone).
    pub fn expired(&self, window: std::time::Duration) -> bool {
        self.state.lock().detached_at.is_some_and(|at| at.elapsed() > window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: u64) -> EventBody {
        Arc::from(format!("{{\"type\":\"t\",\"data\":{n}}}"))
    }

    fn events(take: Take) -> Vec<u64> {
        match take {
            Take::Events(batch) => batch.into_iter().map(|(seq, _)| seq).collect(),
            Take::Close(kick) => panic!("unexpected close {kick:?}"),
        }
    }

    #[test]
    fn writer_gets_every_event_once_in_order() {
        let s = Session::new("s".into(), "u".into(), "l".into(), 1, Arc::new(Notify::new()));
        for n in 0..5 {
            s.push(body(n));
        }
        assert_eq!(events(s.take(1, 3)), vec![1, 2, 3]);
        assert_eq!(events(s.take(1, 3)), vec![4, 5]);
        assert_eq!(events(s.take(1, 3)), Vec::<u64>::new());
    }

    #[test]
    fn resume_replays_after_last_seq_and_supersedes_the_old_connection() {
        let s = Session::new("s".into(), "u".into(), "l".into(), 1, Arc::new(Notify::new()));
        for n in 0..10 {
            s.push(body(n));
        }
        let _ = s.take(1, 100);
        assert!(s.detach(1));
        s.push(body(10));
        let r = s.resume(2, Arc::new(Notify::new()), 7).expect("ring holds seq 8..");
        assert_eq!((r.replay_upto, r.replayed), (11, 4));
        assert_eq!(events(s.take(2, 100)), vec![8, 9, 10, 11]);
        assert!(matches!(s.take(1, 100), Take::Close(k) if k.code == 1000), "old connection must close");
        assert!(s.resume(3, Arc::new(Notify::new()), 12).is_none(), "seq from the future");
    }

    #[test]
    fn overflowing_ring_kicks_a_slow_reader_and_forbids_resume_past_it() {
        let s = Session::new("s".into(), "u".into(), "l".into(), 1, Arc::new(Notify::new()));
        for n in 0..(RING_CAPACITY as u64 + 1) {
            s.push(body(n));
        }
        assert!(matches!(s.take(1, 10), Take::Close(k) if k.code == 1008));
        s.detach(1);
        assert!(s.resume(2, Arc::new(Notify::new()), 0).is_none(), "event 1 was dropped");
        assert!(s.resume(2, Arc::new(Notify::new()), 1).is_some(), "events 2.. are all kept");
    }
}
