//! Failed logins back off, per account and per client address.
//!
//! Each account and each address has some free failures (5 and 50: many people can share one
//! office address); after them every further attempt must wait 1 s after the last failure,
//! doubling with each failure up to 5 min (accounts) or 1 min (addresses). An attempt is
//! counted as a failure *before* its password is checked and taken back when it succeeds (or
//! was not checked at all), so parallel guesses cannot slip past the count. A success clears
//! the account's failures but not the address's, so a valid login of one's own does not buy
//! more guesses at others. Quiet entries are forgotten after 15 min.
//!
//! Memory is bounded: accounts are keyed by a 64-bit keyed hash of the email, IPv6 addresses
//! by their /64 prefix, and each table holds at most [`MAX_TRACKED`] entries (beyond that new
//! keys go untracked: the hashing pool still bounds what an attempt costs).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use dashmap::DashMap;

/// Entries per table at most.
pub const MAX_TRACKED: usize = 100_000;
/// Failures are forgotten after this long without one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// When attempts must start waiting, and how long at most.
#[derive(Debug, Clone, Copy)]
struct Policy {
    free: u32,
    first_wait: Duration,
    max_wait: Duration,
}

const ACCOUNT: Policy = Policy { free: 5, first_wait: Duration::from_secs(1), max_wait: Duration::from_secs(300) };
const ADDRESS: Policy = Policy { free: 50, first_wait: Duration::from_secs(1), max_wait: Duration::from_secs(60) };

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Policy {
    /// How long an attempt must still wait after `failures`; `None` when it may go ahead.
    fn wait(&self, failures: &Failures, now: Instant) -> Option<Duration> {
        let over = failures.count.checked_sub(self.free)?;
        let wait = self.first_wait.saturating_mul(2u32.saturating_pow(over.min(30))).min(self.max_wait);
        let until = failures.last + wait;
        (now < until).then(|| until - now)
    }
}

/// A table of failures by key.
struct Table<K> {
    policy: Policy,
    entries: DashMap<K, Failures>,
}

impl<K: std::hash::Hash + Eq + Copy> Table<K> {
    fn new(policy: Policy) -> Table<K> {
        Table { policy, entries: DashMap::new() }
    }

    /// Counts an attempt as a failure unless it must wait; `Err(wait)` then.
    fn begin(&self, key: K, now: Instant) -> Result<(), Duration> {
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_TRACKED {
            return Ok(());
        }
        let mut entry = self.entries.entry(key).or_insert(Failures { count: 0, last: now });
        if let Some(wait) = self.policy.wait(&entry, now) {
            return Err(wait);
        }
        entry.count += 1;
        entry.last = now;
        Ok(())
    }

    /// Takes back one counted attempt.
    fn undo(&self, key: K) {
        if let Some(mut entry) = self.entries.get_mut(&key) {
            entry.count = entry.count.saturating_sub(1);
        }
    }

    fn clear(&self, key: K) {
        self.entries.remove(&key);
    }

    fn sweep(&self, now: Instant) {
        self.entries.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
    }
}

/// Who is trying to log in, as the throttle keys them.
#[derive(Debug, Clone, Copy)]
pub struct AttemptKey {
    account: u64,
    address: Option<IpAddr>,
}

/// Failed-login counts by account and by address.
pub struct LoginThrottle {
    hasher: RandomState,
    accounts: Table<u64>,
    addresses: Table<IpAddr>,
}

impl Default for LoginThrottle {
    fn default() -> LoginThrottle {
        LoginThrottle { hasher: RandomState::new(), accounts: Table::new(ACCOUNT), addresses: Table::new(ADDRESS) }
    }
}

/// An attempt under way: counted as a failure unless [`Attempt::succeeded`] or
/// [`Attempt::unchecked`] says otherwise (also when it is dropped half-way).
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    key: AttemptKey,
}

impl LoginThrottle {
    /// The key of a login for the (lower-cased) `email` from `address`.
    pub fn key(&self, email: &str, address: Option<IpAddr>) -> AttemptKey {
        AttemptKey { account: self.hasher.hash_one(email), address: address.map(network) }
    }

    /// Starts an attempt, or says how long it must wait.
    pub fn begin(&self, key: AttemptKey) -> Result<Attempt<'_>, Duration> {
        let now = Instant::now();
        self.accounts.begin(key.account, now)?;
        if let Some(address) = key.address {
            if let Err(wait) = self.addresses.begin(address, now) {
                self.accounts.undo(key.account);
                return Err(wait);
            }
        }
        Ok(Attempt { throttle: self, key })
    }

    /// Forgets failures nobody made for a while.
    pub fn sweep(&self) {
        let now = Instant::now();
        self.accounts.sweep(now);
        self.addresses.sweep(now);
    }
}

impl Attempt<'_> {
    /// The password was right: the account starts afresh, and the attempt does not count
    /// against the address.
    pub fn succeeded(self) {
        self.throttle.accounts.clear(self.key.account);
        if let Some(address) = self.key.address {
            self.throttle.addresses.undo(address);
        }
    }

    /// The password was never checked (the hub was busy): the attempt does not count.
    pub fn unchecked(self) {
        self.throttle.accounts.undo(self.key.account);
        if let Some(address) = self.key.address {
            self.throttle.addresses.undo(address);
        }
    }
}

/// The unit an address is counted by: IPv4 addresses one by one, IPv6 by /64 (one host
/// usually holds a whole /64).
fn network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_and_are_capped() {
        let start = Instant::now();
        let wait = |count| ACCOUNT.wait(&Failures { count, last: start }, start);
        assert_eq!(wait(4), None);
        assert_eq!(wait(5), Some(Duration::from_secs(1)));
        assert_eq!(wait(6), Some(Duration::from_secs(2)));
        assert_eq!(wait(9), Some(Duration::from_secs(16)));
        assert_eq!(wait(60), Some(Duration::from_secs(300)), "capped at 5 min");
        let later = ACCOUNT.wait(&Failures { count: 5, last: start }, start + Duration::from_millis(400));
        assert_eq!(later, Some(Duration::from_millis(600)), "the wait runs from the last failure");
    }

    #[test]
    fn parallel_attempts_are_counted_before_they_are_checked() {
        let throttle = LoginThrottle::default();
        let key = throttle.key("ann@x.test", None);
        let attempts: Vec<_> = (0..5).map(|_| throttle.begin(key).expect("5 free")).collect();
        assert!(throttle.begin(key).is_err(), "a 6th in parallel already waits");
        let mut attempts = attempts.into_iter();
        attempts.next().unwrap().unchecked();
        let retried = throttle.begin(key).expect("an unchecked attempt gave its place back");
        retried.succeeded();
        assert!(throttle.begin(key).is_ok(), "a success clears the account");
    }

    #[test]
    fn addresses_are_counted_across_accounts_and_ipv6_by_prefix() {
        let throttle = LoginThrottle::default();
        let a: IpAddr = "2001:db8:1:2::5".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        for n in 0..50 {
            let address = if n % 2 == 0 { a } else { b };
            drop(throttle.begin(throttle.key(&format!("u{n}@x.test"), Some(address))).expect("50 free per /64"));
        }
        let key = throttle.key("fresh@x.test", Some(a));
        assert!(throttle.begin(key).is_err(), "the /64 is held back");
        assert!(throttle.begin(key).is_err(), "a refused attempt does not count against the account");
        assert!(throttle.begin(throttle.key("fresh@x.test", Some("2001:db8:1:3::1".parse().unwrap()))).is_ok());
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(network(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
