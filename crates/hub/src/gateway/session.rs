//! One gateway session: its event counter and its ring of serialised events.
//!
//! The ring is both the outgoing queue of the attached connection and the replay buffer for
//! `resume`: dispatch appends to it and wakes the connection's task, which sends everything
//! after the last seq it sent. The task's waker is kept here, under the same lock as the ring,
//! and taken by the push that finds it: a burst of pushes costs one wake-up, and a push the task
//! will see anyway (it has not gone back to waiting) costs none. A connection that falls
//! [`RING_CAPACITY`] events behind is told to close instead of letting memory grow; a detached
//! session whose ring dropped events the client never saw can no longer be resumed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use parking_lot::Mutex;

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

/// What the connection should send next.
pub enum Take {
    /// This event, with this seq.
    Event(u64, EventBody),
    /// Nothing for now.
    Nothing,
    /// Close with this code.
    Close(Kick),
}

struct Attached {
    conn: u64,
    /// Last seq handed to this connection.
    sent_upto: u64,
    /// The connection's task, while it waits for events ([`Session::poll_events`]).
    waker: Option<Waker>,
    kick: Option<Kick>,
}

impl Attached {
    fn new(conn: u64, sent_upto: u64) -> Attached {
        Attached { conn, sent_upto, waker: None, kick: None }
    }
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

/// What a poll's `last_seq` did to the attached connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Rewind {
    /// Events after it are due (again).
    Done,
    /// It names events this connection was never sent.
    Ahead,
    /// Events after it have left the ring: they cannot be sent again.
    Lost,
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
    /// A session attached to connection `conn`.
    pub fn new(id: String, user_id: String, login_id: String, conn: u64) -> Session {
        Session {
            id,
            user_id,
            login_id,
            state: Mutex::new(State {
                next_seq: 1,
                ring: VecDeque::new(),
                attached: Some(Attached::new(conn, 0)),
                detached_at: None,
            }),
        }
    }

    /// Appends an event with the next seq and wakes the connection if it waits for one.
    pub fn push(&self, body: EventBody) {
        let mut state = self.state.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.ring.push_back((seq, body));
        if state.ring.len() > RING_CAPACITY {
            state.ring.pop_front();
        }
        let waker = state.attached.as_mut().and_then(|attached| {
            if seq - attached.sent_upto > RING_CAPACITY as u64 && attached.kick.is_none() {
                attached.kick = Some(Kick { code: rapport_protocol::close::POLICY, reason: "client too slow" });
            }
            attached.waker.take()
        });
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The next thing connection `conn` should send.
    pub fn take(&self, conn: u64) -> Take {
        let mut state = self.state.lock();
        let state = &mut *state;
        let Some(attached) = state.attached.as_mut().filter(|a| a.conn == conn) else {
            return Take::Close(Kick { code: rapport_protocol::close::NORMAL, reason: "session resumed elsewhere" });
        };
        if let Some(kick) = attached.kick {
            return Take::Close(kick);
        }
        let Some(&(first_seq, _)) = state.ring.front() else { return Take::Nothing };
        if attached.sent_upto + 1 < first_seq {
            return Take::Close(Kick { code: rapport_protocol::close::POLICY, reason: "client too slow" });
        }
        match state.ring.get((attached.sent_upto + 1 - first_seq) as usize) {
            Some((seq, body)) => {
                attached.sent_upto = *seq;
                Take::Event(*seq, body.clone())
            }
            None => Take::Nothing,
        }
    }

    /// Ready when connection `conn` has something to [`take`](Session::take); otherwise keeps
    /// the task's waker for the next push, kick or takeover.
    pub fn poll_events(&self, conn: u64, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.state.lock();
        let next_seq = state.next_seq;
        let Some(attached) = state.attached.as_mut().filter(|a| a.conn == conn) else { return Poll::Ready(()) };
        if attached.kick.is_some() || attached.sent_upto + 1 < next_seq {
            return Poll::Ready(());
        }
        match &mut attached.waker {
            Some(waker) => waker.clone_from(cx.waker()),
            None => attached.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Attaches a new connection that has seen every event up to `last_seq`, if the ring still
    /// holds everything after it. A previous connection is told to close.
    pub fn resume(&self, conn: u64, last_seq: u64) -> Option<Resumption> {
        let mut state = self.state.lock();
        let last_sent = state.next_seq - 1;
        let first_kept = state.ring.front().map_or(state.next_seq, |(seq, _)| *seq);
        if last_seq > last_sent || last_seq + 1 < first_kept {
            return None;
        }
        let old = state.attached.replace(Attached::new(conn, last_seq));
        state.detached_at = None;
        drop(state);
        let took_over = old.is_some();
        if let Some(waker) = old.and_then(|old| old.waker) {
            waker.wake(); // its connection finds itself superseded and closes
        }
        Some(Resumption { replay_upto: last_sent, replayed: last_sent - last_seq, took_over })
    }

    /// Connection `conn`'s client has every event up to `last_seq` and none after: the next
    /// [`take`](Session::take) starts after it. A polled session's answer may be lost on the
    /// way (the HTTP request dropped), and the next poll says so by its `last_seq`.
    pub fn rewind(&self, conn: u64, last_seq: u64) -> Rewind {
        let mut state = self.state.lock();
        let state = &mut *state;
        let first_kept = state.ring.front().map_or(state.next_seq, |(seq, _)| *seq);
        // Not attached any more: its next `take` closes it.
        let Some(attached) = state.attached.as_mut().filter(|a| a.conn == conn) else { return Rewind::Done };
        if last_seq > attached.sent_upto {
            return Rewind::Ahead;
        }
        if last_seq + 1 < first_kept {
            return Rewind::Lost;
        }
        attached.sent_upto = last_seq;
        Rewind::Done
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
        let waker = state.attached.as_mut().and_then(|attached| {
            attached.kick = Some(kick);
            attached.waker.take()
        });
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether the session has been detached for longer than `window` (and so is gone).
    pub fn expired(&self, window: std::time::Duration) -> bool {
        self.state.lock().detached_at.is_some_and(|at| at.elapsed() > window)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    fn body(n: u64) -> EventBody {
        Arc::from(format!("{{\"type\":\"t\",\"data\":{n}}}"))
    }

    fn session(conn: u64) -> Session {
        Session::new("s".into(), "u".into(), "l".into(), conn)
    }

    /// Seqs taken until there is nothing left.
    fn take_all(s: &Session, conn: u64) -> Vec<u64> {
        let mut seqs = Vec::new();
        loop {
            match s.take(conn) {
                Take::Event(seq, _) => seqs.push(seq),
                Take::Nothing => return seqs,
                Take::Close(kick) => panic!("unexpected close {kick:?}"),
            }
        }
    }

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn connection_gets_every_event_once_in_order() {
        let s = session(1);
        for n in 0..5 {
            s.push(body(n));
        }
        assert!(matches!(s.take(1), Take::Event(1, _)));
        assert_eq!(take_all(&s, 1), vec![2, 3, 4, 5]);
        s.push(body(5));
        assert_eq!(take_all(&s, 1), vec![6], "seq keeps rising by 1 after the ring was drained");
    }

    #[test]
    fn a_burst_wakes_a_waiting_connection_once() {
        let s = session(1);
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(s.poll_events(1, &mut cx).is_pending(), "nothing to send yet");
        for n in 0..3 {
            s.push(body(n));
        }
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the first push wakes, the others find it awake");
        assert!(s.poll_events(1, &mut cx).is_ready());
        assert_eq!(take_all(&s, 1), vec![1, 2, 3]);
        s.push(body(3));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "not waiting (it did not poll again): no wake-up");
        assert!(s.poll_events(1, &mut cx).is_ready(), "but the event is there when it looks");
        assert_eq!(take_all(&s, 1), vec![4]);
        assert!(s.poll_events(1, &mut cx).is_pending());
        s.kick(Kick { code: 4001, reason: "logged out" });
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2, "a kick wakes a waiting connection");
        assert!(matches!(s.take(1), Take::Close(k) if k.code == 4001));
    }

    #[test]
    fn resume_replays_after_last_seq_and_supersedes_the_old_connection() {
        let s = session(1);
        for n in 0..10 {
            s.push(body(n));
        }
        let _ = take_all(&s, 1);
        assert!(s.detach(1));
        s.push(body(10));
        let r = s.resume(2, 7).expect("ring holds seq 8..");
        assert_eq!((r.replay_upto, r.replayed), (11, 4));
        assert_eq!(take_all(&s, 2), vec![8, 9, 10, 11]);
        assert!(matches!(s.take(1), Take::Close(k) if k.code == 1000), "old connection must close");
        assert!(s.resume(3, 12).is_none(), "seq from the future");
    }

    #[test]
    fn rewind_sends_again_what_a_lost_answer_carried() {
        let s = session(1);
        for n in 0..5 {
            s.push(body(n));
        }
        assert_eq!(take_all(&s, 1), vec![1, 2, 3, 4, 5]);
        assert_eq!(s.rewind(1, 6), Rewind::Ahead, "seq 6 was never sent");
        assert_eq!(s.rewind(1, 3), Rewind::Done);
        assert_eq!(take_all(&s, 1), vec![4, 5], "the client lacks 4 and 5: they are due again");
        assert_eq!(s.rewind(1, 5), Rewind::Done);
        assert_eq!(take_all(&s, 1), Vec::<u64>::new(), "nothing is sent twice to a client that has it");
        assert_eq!(s.rewind(2, 0), Rewind::Done, "another connection's poll changes nothing");
        assert_eq!(take_all(&s, 1), Vec::<u64>::new());
        for n in 0..(RING_CAPACITY as u64) {
            s.push(body(n));
        }
        assert_eq!(s.rewind(1, 0), Rewind::Lost, "event 1 has left the ring");
    }

    #[test]
    fn a_takeover_wakes_the_old_connection() {
        let s = session(1);
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(wakes.clone());
        assert!(s.poll_events(1, &mut Context::from_waker(&waker)).is_pending());
        assert!(s.resume(2, 0).expect("nothing missed").took_over);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the old connection must learn it is superseded");
        assert!(s.poll_events(1, &mut Context::from_waker(&waker)).is_ready());
        assert!(matches!(s.take(1), Take::Close(k) if k.code == 1000));
    }

    #[test]
    fn overflowing_ring_kicks_a_slow_reader_and_forbids_resume_past_it() {
        let s = session(1);
        for n in 0..(RING_CAPACITY as u64 + 1) {
            s.push(body(n));
        }
        assert!(matches!(s.take(1), Take::Close(k) if k.code == 1008));
        s.detach(1);
        assert!(s.resume(2, 0).is_none(), "event 1 was dropped");
        assert!(s.resume(2, 1).is_some(), "events 2.. are all kept");
    }
}
