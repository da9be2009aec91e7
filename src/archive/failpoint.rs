//! Crash injection for tests: when `EVIDENTIA_FAILPOINT` names a point, the process aborts
//! there, as a power cut or `kill -9` would stop it. Lets the test suite prove that the archive
//! is consistent after a crash at each step of a command.

pub fn hit(point: &str) {
    if std::env::var_os("EVIDENTIA_FAILPOINT").is_some_and(|p| p == point) {
        eprintln!("evidentia: failpoint {point}: aborting");
        std::process::abort();
    }
}

/// True when `EVIDENTIA_FAILPOINT` names `point`: for faults a test needs injected rather than
/// a crash (e.g. a bundle damaged before export checks it).
pub fn active(point: &str) -> bool {
    std::env::var_os("EVIDENTIA_FAILPOINT").is_some_and(|p| p == point)
}
