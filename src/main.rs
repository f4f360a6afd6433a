//! The `vmauth` executable: [`vmauth::run`] with the process's arguments,
//! environment and streams.
//!
//! On Linux with glibc the C `main` is vmauth's own (`no_main`): Rust's start-up code
//! would ask glibc for the main thread's stack bounds to install its stack
//! overflow message, which parses `/proc/self/maps` and costs ~15 % of a
//! cached `vmauth token`. What else that start-up does, and vmauth relies on,
//! is done here: standard streams that are closed are opened on `/dev/null`
//! (so no file vmauth opens can become its stdout), and SIGPIPE is ignored (a
//! closed stdout is an error vmauth handles, not a signal that kills it). The
//! arguments come from glibc's start-up (`std::env::args_os` works unchanged;
//! with musl it would not, so there the usual Rust `main` stays).
#![cfg_attr(all(target_os = "linux", target_env = "gnu"), no_main)]

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: single-threaded start of the process; the calls only take
    // constants and file descriptors 0-2.
    unsafe {
        for fd in 0..=2 {
            if libc::fcntl(fd, libc::F_GETFD) == -1
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
            {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if null != fd {
                    // Not the lowest free descriptor: something is badly wrong.
                    libc::abort();
                }
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // A panic must not unwind into C: report it as Rust's start-up would (101).
    let code = std::panic::catch_unwind(vmauth::run).unwrap_or(101);
    // Flushes stdout, as returning from a Rust main does.
    std::process::exit(code)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn main() {
    std::process::exit(vmauth::run());
}
