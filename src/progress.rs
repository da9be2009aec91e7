//! Progress and interruption of long operations, without any terminal code: the library
//! reports through [`Progress`] (the CLI draws a bar), and checks [`interrupted`] (the CLI's
//! signal handler sets it) at points where stopping leaves nothing half-done.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// What a progress display is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Items,
}

/// Receives progress from long operations. Called from worker threads, per file or per
/// record: implementations must be cheap (rate-limit their drawing).
pub trait Progress: Send + Sync {
    /// A new stage of `total` units; replaces the previous stage.
    fn stage(&self, label: &str, total: u64, unit: Unit);
    /// `done` more units of the current stage are finished.
    fn advance(&self, done: u64);
    /// The operation is over (or stopped): clear the display.
    fn finish(&self);
}

static REPORTER: OnceLock<Box<dyn Progress>> = OnceLock::new();
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the process's progress display; false if one is already installed.
pub fn set_reporter(reporter: Box<dyn Progress>) -> bool {
    REPORTER.set(reporter).is_ok()
}

pub fn stage(label: &str, total: u64, unit: Unit) {
    if let Some(r) = REPORTER.get() {
        r.stage(label, total, unit);
    }
}

pub fn advance(done: u64) {
    if let Some(r) = REPORTER.get() {
        r.advance(done);
    }
}

pub fn finish() {
    if let Some(r) = REPORTER.get() {
        r.finish();
    }
}

/// Asks every running operation to stop at its next safe point (from a signal handler).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// At a safe point: stops with [`Error::Interrupted`] (saying what `kept` describes) when an
/// interrupt was asked for.
pub fn check(kept: impl FnOnce() -> String) -> Result<()> {
    if slowed() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if interrupted() {
        Err(Error::Interrupted { kept: kept() })
    } else {
        Ok(())
    }
}

/// Tests interrupt long commands on small inputs: `EVIDENTIA_FAILPOINT=slow-checks` makes
/// every safe point wait 20 ms, and says so on stderr once (when the signal handler is set).
fn slowed() -> bool {
    static SLOW: OnceLock<bool> = OnceLock::new();
    *SLOW.get_or_init(|| {
        let slow = crate::archive::failpoint::active("slow-checks");
        if slow {
            eprintln!("evidentia: failpoint slow-checks: each safe point waits 20 ms");
        }
        slow
    })
}

/// A reader that reports every byte read as progress.
pub struct Counted<R>(pub R);

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        advance(n as u64);
        Ok(n)
    }
}
