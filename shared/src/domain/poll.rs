//! Adaptive polling: the first wait is the expected duration of the export
//! (from recent exports of the same type), later waits back off. Each poll
//! costs three billed state transitions, so fewer, better-placed polls are
//! the cheapest.

/// Longest single wait, so a stuck export is still looked at regularly.
pub const MAX_WAIT: i64 = 600;
/// The guess before any export has finished: the service rarely finishes an
/// export in less than a couple of minutes, and each early poll costs three
/// billed transitions.
pub const FIRST_GUESS: i64 = 120;

/// First wait after starting (or resuming) an export: the longest of the
/// recent durations plus a little slack, never less than the configured
/// minimum, never more than [`MAX_WAIT`].
pub fn first_wait(recent_durations: &[i64], min_wait: i64) -> i64 {
    let expected = recent_durations
        .iter()
        .copied()
        .max()
        .unwrap_or(FIRST_GUESS);
    let with_slack = expected + expected / 10 + 5;
    with_slack.clamp(min_wait, MAX_WAIT.max(min_wait))
}

/// Wait before the poll number `polls` (1 = the poll after the first
/// check found it still running): grows by half each time.
pub fn next_wait(previous: i64, min_wait: i64) -> i64 {
    (previous + previous / 2).clamp(min_wait, MAX_WAIT.max(min_wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_wait_follows_history_within_bounds() {
        assert_eq!(first_wait(&[], 10), FIRST_GUESS + FIRST_GUESS / 10 + 5);
        assert_eq!(first_wait(&[300, 280], 10), 335);
        assert_eq!(first_wait(&[3], 10), 10);
        assert_eq!(first_wait(&[10_000], 10), MAX_WAIT);
        assert_eq!(first_wait(&[], 900), 900);
    }

    #[test]
    fn backs_off_to_the_cap() {
        let mut w = 10;
        let mut seen = vec![];
        for _ in 0..12 {
            w = next_wait(w, 10);
            seen.push(w);
        }
        assert_eq!(&seen[..3], &[15, 22, 33]);
        assert_eq!(*seen.last().unwrap(), MAX_WAIT);
        assert!(seen.windows(2).all(|p| p[0] <= p[1]));
    }
}
