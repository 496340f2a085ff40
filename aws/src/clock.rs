//! The clock the functions read: the system's, or (in local runs built with
//! the `local-clock` feature, never in a release) the virtual clock file
//! named by `INCX_CLOCK_FILE`, which the local runner moves forward.

use incx_core::domain::Epoch;
use incx_core::ports::Clock;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Epoch {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as Epoch)
            .unwrap_or(0)
    }
}

/// The function's clock.
pub fn clock() -> Arc<dyn Clock> {
    #[cfg(feature = "local-clock")]
    if let Some(file) = incx_sim::clock::FileClock::from_env() {
        return Arc::new(file);
    }
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_now() {
        let t = SystemClock.now();
        assert!(t > 1_700_000_000, "{t}");
    }
}
