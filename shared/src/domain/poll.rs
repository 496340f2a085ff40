//! When to look at an export. The first look comes after a wait learned
//! from recent exports of the same kind; after it, the state machine's Retry
//! on `ExportRunning` looks again every minute, backing off to five minutes
//! (one billed transition per look, where a Wait, a Task and a Choice cost
//! three). The first wait is a low quantile of recent durations: most
//! exports are then seen within a minute of finishing, for few looks.

use super::Epoch;

/// Longest first wait, so a stuck export is still looked at regularly.
pub const MAX_WAIT: Epoch = 600;
/// The guess before any export has finished (published small exports took
/// one and a half to six minutes).
pub const FIRST_GUESS: Epoch = 90;
/// The quantile of recent durations the first look aims at: the exports
/// that finish before it wait for it, the others are seen within a retry
/// interval. At 0.25, on the demo's day of log-normal durations around 7
/// minutes, the median export is seen under a minute after it finished for
/// about 3.8 looks (`make demo`: 51.5 s and 3.79 looks; 63 s and 3.37 at
/// the 0.4 it was).
pub const FIRST_QUANTILE: f64 = 0.25;
/// Recent exports of a kind the first wait learns from.
pub const LEARN_FROM: usize = 20;
/// The poll Retry in the definition (`ExportRunning`): first interval,
/// growth and cap. `statemachine/validate.mjs` and the simulation read the
/// definition; a test holds it to these.
pub const RETRY_INTERVAL: Epoch = 60;
pub const RETRY_BACKOFF: f64 = 1.2;
pub const RETRY_MAX_DELAY: Epoch = 300;

/// First wait after starting (or resuming) an export: the quantile of the
/// recent durations, never less than the configured minimum, never more
/// than [`MAX_WAIT`].
pub fn first_wait(recent_durations: &[Epoch], min_wait: Epoch) -> Epoch {
    let mut d: Vec<Epoch> = recent_durations.to_vec();
    d.sort_unstable();
    let expected = if d.is_empty() {
        FIRST_GUESS
    } else {
        let i = ((d.len() - 1) as f64 * FIRST_QUANTILE).round() as usize;
        d[i.min(d.len() - 1)]
    };
    expected.clamp(min_wait, MAX_WAIT.max(min_wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_wait_follows_history_within_bounds() {
        assert_eq!(first_wait(&[], 10), FIRST_GUESS);
        // The 25 % quantile of 100..=500.
        assert_eq!(first_wait(&[500, 100, 300, 200, 400], 10), 200);
        assert_eq!(first_wait(&[3], 10), 10);
        assert_eq!(first_wait(&[10_000], 10), MAX_WAIT);
        assert_eq!(first_wait(&[], 900), 900);
    }
}
