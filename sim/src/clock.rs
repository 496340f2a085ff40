//! Clocks for simulations and local runs: a manual clock the simulation
//! moves, and the virtual clock file the local runner moves forward (a
//! simulated day then runs in minutes), read by locally built functions.

use incx_core::domain::Epoch;
use incx_core::ports::Clock;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The local-only variable naming the virtual clock file.
pub const CLOCK_FILE_VAR: &str = "INCX_CLOCK_FILE";

/// Reads epoch seconds (a decimal number, fractions allowed) from a file.
#[derive(Debug, Clone)]
pub struct FileClock {
    path: PathBuf,
}

impl FileClock {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The clock file named by `INCX_CLOCK_FILE`, if set.
    pub fn from_env() -> Option<Self> {
        std::env::var(CLOCK_FILE_VAR)
            .ok()
            .filter(|p| !p.is_empty())
            .map(Self::new)
    }

    fn read(&self) -> Option<Epoch> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let secs: f64 = text.trim().parse().ok()?;
        Some(secs.floor() as Epoch)
    }
}

impl Clock for FileClock {
    /// An unreadable clock file is a broken local setup; the system clock is
    /// the only sane fallback, and the log says so.
    fn now(&self) -> Epoch {
        self.read().unwrap_or_else(|| {
            tracing::warn!(path = %self.path.display(), "virtual clock unreadable, using the system clock");
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as Epoch)
                .unwrap_or(0)
        })
    }
}

/// A fixed or manually moved clock.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(t: Epoch) -> Self {
        Self(AtomicI64::new(t))
    }

    pub fn set(&self, t: Epoch) {
        self.0.store(t, Ordering::SeqCst);
    }

    pub fn advance(&self, secs: Epoch) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Epoch {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_clock_reads_fractional_seconds() {
        let dir = std::env::temp_dir().join(format!("incx-clock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("now");
        std::fs::write(&path, "1700000000.75\n").unwrap();
        assert_eq!(FileClock::new(&path).now(), 1_700_000_000);
        std::fs::write(&path, "garbage").unwrap();
        assert!(FileClock::new(&path).now() > 1_700_000_000);
    }

    #[test]
    fn manual_clock_moves() {
        let c = ManualClock::at(10);
        c.advance(5);
        assert_eq!(c.now(), 15);
    }
}
