//! Crash durability: vmauth killed with SIGKILL at random moments while it
//! refreshes, renews client-credentials tokens and completes logins against the
//! real test IdP. After every kill the credentials file must parse and every
//! unrelated entry must be exactly as it was; temporary files of killed writers
//! must not pile up.
//!
//! `VMAUTH_CRASH_ITERATIONS` (default 200) and `VMAUTH_CRASH_SEED` (default: the
//! time; printed) make longer or repeatable runs by hand:
//!   VMAUTH_CRASH_ITERATIONS=2000 cargo test --test crash -- --nocapture
#![cfg(unix)]

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::cli::{Home, cc_args};
use support::idp::Idp;
use support::login::*;

/// A small deterministic generator (xorshift64*), so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Another tool's entry, with fields vmauth does not know (numbers included).
fn unrelated() -> Value {
    json!({"issuer": "https://other.example", "client_id": "notebook", "access_token": "AT-other",
           "refresh_token": "RT-other", "id_token": null, "expires_at": "2030-01-01T00:00:00+00:00",
           "obtained_at": 1732300000.1234567, "big": 123456789012345678901234567890u128.to_string(),
           "nested": {"keep": [1, 2.5, "x"]}})
}

/// Run `cmd`, SIGKILL it after `delay` unless it ended first; whether it was killed.
fn run_and_kill(mut cmd: std::process::Command, delay: Duration) -> bool {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vmauth");
    let deadline = Instant::now() + delay;
    loop {
        if child.try_wait().expect("wait").is_some() {
            return false;
        }
        if Instant::now() >= deadline {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            return true;
        }
        std::thread::yield_now();
    }
}

fn check_file(home: &Home, unrelated_key: &str, expected: &Value, round: usize, seed: u64) {
    let text = std::fs::read_to_string(home.credentials()).expect("the credentials file exists");
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("round {round} (seed {seed}): the credentials file does not parse: {e}\n{text}")
    });
    assert_eq!(
        &doc["credentials"][unrelated_key], expected,
        "round {round} (seed {seed}): the unrelated entry changed"
    );
    // The number is written exactly as it was read.
    assert!(text.contains("1732300000.1234567"), "round {round}: {text}");
}

#[test]
fn sigkill_at_random_moments_never_corrupts_the_file_or_loses_other_entries() {
    let iterations: usize = std::env::var("VMAUTH_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("VMAUTH_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test: {iterations} iterations, VMAUTH_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let idp = Idp::start();
    let home = Home::new();
    login(&home, &idp, &[]).expect_code(0);
    let device_key = format!("{}|{CLIENT}", idp.issuer);
    // Another tool's entry joins the file.
    let mut doc = home.read_credentials();
    let unrelated_key = "https://other.example|notebook";
    doc["credentials"][unrelated_key] = unrelated();
    std::fs::write(
        home.credentials(),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
    let expected = home.read_credentials()["credentials"][unrelated_key].clone();

    let cc = cc_args(&idp.issuer, "vmauth-ci");
    // Kill somewhere within the time a whole run takes here (the median of
    // three client-credentials renewals, the rounds' usual command), so that
    // most kills land mid-run however fast this machine and build are.
    let mut spans: Vec<Duration> = (0..3)
        .map(|_| {
            let mut cmd = home.cmd(&cc);
            cmd.arg("--force-refresh")
                .env("VMAUTH_CLIENT_SECRET", "vmauth-ci-secret");
            let start = std::time::Instant::now();
            // The token goes nowhere: tests never print tokens.
            assert!(cmd.stdout(Stdio::null()).status().unwrap().success());
            start.elapsed()
        })
        .collect();
    spans.sort();
    let span = spans[1];
    let span_us = u64::try_from(span.as_micros()).unwrap().max(1_000);
    eprintln!("crash test: kills within {span_us} µs of the start");
    let (mut killed, mut device_alive) = (0, true);
    for round in 0..iterations {
        let delay = Duration::from_micros(rng.below(span_us));
        match rng.below(20) {
            // Client-credentials renewals write on every run, with no refresh
            // token to lose: most rounds.
            0..=13 => {
                let mut cmd = home.cmd(&cc);
                cmd.arg("--force-refresh")
                    .env("VMAUTH_CLIENT_SECRET", "vmauth-ci-secret");
                killed += usize::from(run_and_kill(cmd, delay));
            }
            // Refresh-token refreshes while the device login lives (a kill after
            // the provider rotated the token but before the write ends it).
            14..=17 if device_alive => {
                expire_in_file(&home, &device_key);
                let mut cmd = home.cmd(&["token", "--issuer", &idp.issuer, "--client-id", CLIENT]);
                cmd.arg("--force-refresh");
                killed += usize::from(run_and_kill(cmd, delay));
                let probe = home.run(&["status", "--issuer", &idp.issuer, "--client-id", CLIENT]);
                device_alive = probe.code == 0;
            }
            // A login, killed around its final write.
            _ => {
                let mut p = PendingLogin::start(&home, &idp, &[]);
                let url = p.verification_url();
                idp.approve(&url);
                let pid = p.pid();
                // Not a wait for something: the kill lands at a random moment of
                // the last poll interval (1 s here), when the login writes.
                std::thread::sleep(Duration::from_micros(rng.below(1_500_000)));
                // SAFETY: kill(2) on the login's own pid, a child of this test.
                let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                killed += usize::from(p.finish().code != 0 && rc == 0);
                device_alive = true;
            }
        }
        check_file(&home, unrelated_key, &expected, round, seed);
    }
    eprintln!("crash test: {killed} of {iterations} runs were killed before they ended");
    // One clean write afterwards: the temporary files of the killed writers are gone.
    let mut cmd = home.cmd(&cc);
    cmd.arg("--force-refresh")
        .env("VMAUTH_CLIENT_SECRET", "vmauth-ci-secret");
    // The token goes nowhere: tests never print tokens.
    assert!(cmd.stdout(Stdio::null()).status().unwrap().success());
    check_file(&home, unrelated_key, &expected, iterations, seed);
    let leftovers: Vec<String> = std::fs::read_dir(home.credentials().parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    assert!(
        killed > iterations / 4,
        "too few runs were killed ({killed}) to test anything"
    );
}
