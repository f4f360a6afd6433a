//! Time and randomness, injected. The protocol engine and storage never call the
//! wall clock or the OS random source themselves: commands pass them a [`Clock`]
//! and an [`Rng`] from the command `Context`, so expiry decisions,
//! device-flow polling and signed assertions can be tested deterministically.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A boxed future that sleeps.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Time as vmauth sees it: the wall clock (Unix seconds, for token expiry), a
/// monotonic clock (for deadlines) and sleeping (for polling).
pub trait Clock {
    /// Wall-clock time in Unix seconds.
    fn now_unix(&self) -> i64;
    /// Monotonic time elapsed since an arbitrary fixed point.
    fn elapsed(&self) -> Duration;
    /// Wait for `d` (a fake clock advances instead).
    fn sleep(&self, d: Duration) -> Sleep<'_>;
}

/// The system clock and tokio's timer.
pub struct SystemClock {
    start: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            start: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(_) => 0,
        }
    }
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
    fn sleep(&self, d: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock that stands still until told to move; `sleep` advances it at once and
/// records the wait. For tests.
#[derive(Debug, Default)]
pub struct FakeClock {
    unix: Cell<i64>,
    elapsed: Cell<Duration>,
    slept: std::cell::RefCell<Vec<Duration>>,
}

impl FakeClock {
    /// A clock showing `unix` seconds.
    pub fn at(unix: i64) -> FakeClock {
        FakeClock {
            unix: Cell::new(unix),
            ..Default::default()
        }
    }
    /// Move time forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.elapsed.set(self.elapsed.get() + d);
        self.unix
            .set(self.unix.get() + i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    }
    /// Every wait asked for so far.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept.borrow().clone()
    }
}

impl Clock for FakeClock {
    fn now_unix(&self) -> i64 {
        self.unix.get()
    }
    fn elapsed(&self) -> Duration {
        self.elapsed.get()
    }
    fn sleep(&self, d: Duration) -> Sleep<'_> {
        self.slept.borrow_mut().push(d);
        self.advance(d);
        Box::pin(std::future::ready(()))
    }
}

/// A source of random bytes.
///
/// `ring`'s signing functions take its own sealed `SecureRandom`, which only the
/// operating system's generator implements; [`Rng::secure`] hands that out for
/// signatures, while every other random value (assertion ids, keychain
/// generations) comes from [`Rng::fill`], which tests can make deterministic.
pub trait Rng {
    /// Fill `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<(), ring::error::Unspecified>;
    /// The generator `ring` needs for signing.
    fn secure(&self) -> &dyn ring::rand::SecureRandom;
}

/// The operating system's generator.
pub struct SystemRng(ring::rand::SystemRandom);

impl Default for SystemRng {
    fn default() -> Self {
        SystemRng(ring::rand::SystemRandom::new())
    }
}

impl Rng for SystemRng {
    fn fill(&self, dest: &mut [u8]) -> Result<(), ring::error::Unspecified> {
        ring::rand::SecureRandom::fill(&self.0, dest)
    }
    fn secure(&self) -> &dyn ring::rand::SecureRandom {
        &self.0
    }
}

/// Random values that are a counter: each `fill` gives the next bytes of a
/// simple sequence. For tests (signatures still use the OS generator).
pub struct CountingRng {
    next: Cell<u8>,
    os: ring::rand::SystemRandom,
}

impl Default for CountingRng {
    fn default() -> Self {
        CountingRng {
            next: Cell::new(0),
            os: ring::rand::SystemRandom::new(),
        }
    }
}

impl Rng for CountingRng {
    fn fill(&self, dest: &mut [u8]) -> Result<(), ring::error::Unspecified> {
        for b in dest {
            *b = self.next.get();
            self.next.set(self.next.get().wrapping_add(1));
        }
        Ok(())
    }
    fn secure(&self) -> &dyn ring::rand::SecureRandom {
        &self.os
    }
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(rng: &dyn Rng, n: usize) -> Result<String, ring::error::Unspecified> {
    let mut bytes = vec![0u8; n];
    rng.fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
