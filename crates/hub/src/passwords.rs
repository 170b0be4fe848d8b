//! Password hashing (argon2id, OWASP's m = 19 MiB, t = 2, p = 1) on a bounded pool.
//!
//! Every login and registration costs 19 MiB of argon2 memory. Hashed on tokio's blocking pool
//! (up to 512 threads), 300 parallel logins took the hub from 112 MiB to gigabytes of RSS, and
//! the allocator kept it. Here a fixed set of threads, one per core, each owns its argon2 memory
//! for good and reuses it for every hash, so hashing never costs more than `threads × 19 MiB`
//! and never allocates it again. Work waits in a bounded queue; beyond it the caller is told
//! [`Busy`] at once (the hub answers 503 with `Retry-After`), and work whose caller has gone
//! (the client hung up) is skipped.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

/// Hashes waiting per thread at most; at ~30 ms a hash, a full queue is about half a second.
const QUEUE_PER_THREAD: usize = 16;
/// A stored hash asking for more than this many times our memory cost is refused rather than
/// allowed to grow a thread's memory.
const MAX_MEMORY_FACTOR: usize = 4;

/// The pool is full: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

enum Job {
    Hash { password: String, reply: oneshot::Sender<anyhow::Result<String>> },
    Verify { password: String, phc: String, reply: oneshot::Sender<bool> },
}

impl Job {
    fn abandoned(&self) -> bool {
        match self {
            Job::Hash { reply, .. } => reply.is_closed(),
            Job::Verify { reply, .. } => reply.is_closed(),
        }
    }
}

/// The hashing threads and their queue. Dropping it lets the threads finish and exit.
pub struct PasswordPool {
    queue: mpsc::SyncSender<Job>,
}

impl PasswordPool {
    /// One thread per core (at least one), each with its own argon2 memory.
    pub fn new() -> std::io::Result<PasswordPool> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        PasswordPool::with_threads(threads)
    }

    /// A pool of `threads` hashing threads.
    pub fn with_threads(threads: usize) -> std::io::Result<PasswordPool> {
        let threads = threads.max(1);
        let (queue, jobs) = mpsc::sync_channel(threads * QUEUE_PER_THREAD);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads {
            let jobs = jobs.clone();
            std::thread::Builder::new().name(format!("argon2-{n}")).spawn(move || work(&jobs))?;
        }
        Ok(PasswordPool { queue })
    }

    fn submit(&self, job: Job) -> Result<(), Busy> {
        self.queue.try_send(job).map_err(|_| Busy)
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password`.
    pub async fn hash(&self, password: String) -> Result<anyhow::Result<String>, Busy> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password, reply })?;
        Ok(answer.await.unwrap_or_else(|_| Err(anyhow::anyhow!("the hashing thread stopped"))))
    }

    /// Whether `password` matches the PHC string `phc` (false for a malformed one).
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, Busy> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify { password, phc, reply })?;
        Ok(answer.await.unwrap_or(false))
    }
}

/// The parameters of every new hash: OWASP's m = 19 MiB, t = 2, p = 1.
pub fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters")
}

/// One hashing thread: takes jobs until the pool is dropped, with memory allocated once.
fn work(jobs: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = vec![Block::default(); params().block_count()];
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let job = match jobs.lock().map(|jobs| jobs.recv()) {
            Ok(Ok(job)) => job,
            _ => return,
        };
        if job.abandoned() {
            continue;
        }
        match job {
            Job::Hash { password, reply } => {
                let _ = reply.send(hash_with(&mut memory, &password));
            }
            Job::Verify { password, phc, reply } => {
                let _ = reply.send(verify_with(&mut memory, &password, &phc));
            }
        }
    }
}

/// Hashes with the caller's memory (what `PasswordHasher::hash_password` does, minus the
/// allocation).
pub fn hash_with(memory: &mut Vec<Block>, password: &str) -> anyhow::Result<String> {
    let params = params();
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let blocks = blocks(memory, params.block_count()).ok_or_else(|| anyhow::anyhow!("argon2 memory"))?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, &mut *blocks).map_err(Into::into)
    })
    .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Checks a password against a PHC string with the caller's memory, with the parameters the
/// string names (what `PasswordVerifier::verify_password` does, minus the allocation).
pub fn verify_with(memory: &mut Vec<Block>, password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else { return false };
    let Some(blocks) = blocks(memory, params.block_count()) else {
        tracing::error!(m_cost = params.m_cost(), "a stored password hash asks for more memory than the hub allows");
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, &mut *blocks).map_err(Into::into)
    });
    // `Output` compares in constant time.
    computed.is_ok_and(|computed| computed == expected)
}

/// The first `count` blocks of `memory`, grown when a stored hash needs more (within
/// [`MAX_MEMORY_FACTOR`]); `None` beyond that.
fn blocks(memory: &mut Vec<Block>, count: usize) -> Option<&mut [Block]> {
    if count > params().block_count() * MAX_MEMORY_FACTOR {
        return None;
    }
    if memory.len() < count {
        memory.resize(count, Block::default());
    }
    Some(&mut memory[..count])
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
    use futures_util::FutureExt as _;

    use super::*;

    #[test]
    fn hashes_interoperate_with_the_argon2_crate_both_ways() {
        let mut memory = Vec::new();
        let ours = hash_with(&mut memory, "correct horse").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok(), "the crate accepts our hashes");
        assert!(verify_with(&mut memory, "correct horse", &ours));
        assert!(!verify_with(&mut memory, "correct horsE", &ours));

        // Hashes stored by the hub before the pool (the crate's own API), also with other costs.
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let cheaper = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8 * 1024, 3, 1, None).unwrap());
        let theirs = cheaper.hash_password(b"hunter42!", &salt).unwrap().to_string();
        assert!(verify_with(&mut memory, "hunter42!", &theirs), "the memory is reused for other parameters");
        assert!(!verify_with(&mut memory, "hunter42", &theirs));
        assert!(!verify_with(&mut memory, "x", "not a phc string"));
        let greedy = format!("$argon2id$v=19$m={},t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", 19 * 1024 * 8);
        assert!(!verify_with(&mut memory, "x", &greedy), "a hash asking for 8× the memory is refused");
        assert_eq!(memory.len(), 19 * 1024, "and the memory did not grow for it");
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let pool = PasswordPool::with_threads(1).unwrap();
        let hash = pool.hash("correct horse".into()).await.unwrap().unwrap();
        assert!(pool.verify("correct horse".into(), hash.clone()).await.unwrap());
        // Submitted far faster than one thread hashes: the queue fills, and the rest is
        // refused at once instead of waiting.
        let mut accepted = Vec::new();
        let mut busy = 0;
        for _ in 0..3 * QUEUE_PER_THREAD {
            let mut verify = Box::pin(pool.verify("wrong".into(), hash.clone()));
            match verify.as_mut().now_or_never() {
                Some(Err(Busy)) => busy += 1,
                Some(Ok(_)) => panic!("a hash cannot be done this fast"),
                None => accepted.push(verify),
            }
        }
        assert!(busy > 0, "beyond the queue: busy");
        assert!(accepted.len() <= QUEUE_PER_THREAD + 2, "the queue holds {QUEUE_PER_THREAD} (and one or two running): {}", accepted.len());
        for verify in accepted {
            assert_eq!(verify.await, Ok(false), "queued work is still done");
        }
    }
}
