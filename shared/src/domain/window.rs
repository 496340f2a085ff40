//! Window arithmetic: aligned windows, the first window after a full export,
//! catch-up coalescing and the exportable horizon.
//!
//! Windows end on multiples of the window size (UTC epoch), so downstream
//! partitions line up. The service accepts incremental windows of 15 minutes
//! to 24 hours whose ends are inside the PITR window.

use super::Epoch;

/// The service's shortest incremental window.
pub const MIN_WINDOW: Epoch = 15 * 60;
/// The service's longest incremental window.
pub const MAX_WINDOW: Epoch = 24 * 60 * 60;

/// Window size and catch-up bound, both in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPlan {
    pub size: Epoch,
    pub max_catch_up: Epoch,
}

/// The latest time an export may end at: never after now, nor after the
/// latest restorable time.
pub fn horizon(now: Epoch, latest_restorable: Epoch) -> Epoch {
    now.min(latest_restorable)
}

pub fn align_up(t: Epoch, size: Epoch) -> Epoch {
    t.div_euclid(size) * size + if t.rem_euclid(size) == 0 { 0 } else { size }
}

pub fn align_down(t: Epoch, size: Epoch) -> Epoch {
    t.div_euclid(size) * size
}

impl WindowPlan {
    /// The end of the single window that starts at `from`: the first boundary
    /// at least 15 minutes after `from`. Only when no boundary fits in 24 hours
    /// (windows of nearly a day after an unaligned start) does it end 15
    /// minutes before that boundary, so that the next window ends aligned.
    pub fn next_end(&self, from: Epoch) -> Epoch {
        let boundary = align_up(from + MIN_WINDOW, self.size);
        if boundary - from <= MAX_WINDOW {
            boundary
        } else {
            boundary - MIN_WINDOW
        }
    }

    /// The window to export next from the watermark `from`, given the
    /// horizon, coalescing the backlog up to `max_catch_up`. `None` while the
    /// next window is not yet exportable.
    pub fn next_window(&self, from: Epoch, horizon: Epoch) -> Option<(Epoch, Epoch)> {
        let first = self.next_end(from);
        if first > horizon {
            return None;
        }
        let reach = horizon.min(from + self.max_catch_up.min(MAX_WINDOW));
        let coalesced = align_down(reach, self.size);
        Some((from, first.max(coalesced)))
    }

    /// Whole windows still exportable after `to`, as the original's
    /// `incrementalBlocksBehind` counts them.
    pub fn blocks_behind(&self, to: Epoch, horizon: Epoch) -> i64 {
        ((align_down(horizon, self.size) - to) / self.size).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const M: Epoch = 60;

    fn plan(size_min: Epoch, catch_min: Epoch) -> WindowPlan {
        WindowPlan {
            size: size_min * M,
            max_catch_up: catch_min * M,
        }
    }

    #[test]
    fn first_window_after_a_full_export_reaches_a_boundary_15_minutes_on() {
        let p = plan(15, 1440);
        // Full export at 00:05 -> first boundary at least 15 min later is 00:30.
        assert_eq!(p.next_end(5 * M), 30 * M);
        // Full export exactly on a boundary -> one window.
        assert_eq!(p.next_end(15 * M), 30 * M);
        // Hourly windows: 00:50 -> 02:00 (01:00 is only 10 minutes away).
        assert_eq!(plan(60, 1440).next_end(50 * M), 120 * M);
    }

    #[test]
    fn daily_windows_after_a_late_full_export_stay_within_a_day() {
        let p = plan(1440, 1440);
        let f = 1440 * M - 10 * M + 1; // 23:50:01
        let end = p.next_end(f);
        assert!(end - f <= MAX_WINDOW && end - f >= MIN_WINDOW);
        // ... and the window after it ends on a boundary.
        assert_eq!(p.next_end(end) % (1440 * M), 0);
    }

    #[test]
    fn backlog_is_coalesced_up_to_the_catch_up_bound() {
        let p = plan(15, 1440);
        // Watermark 00:00, horizon 03:07 -> one export up to 03:00.
        assert_eq!(p.next_window(0, 187 * M), Some((0, 180 * M)));
        // Catch-up bound equal to the window: one window at a time.
        assert_eq!(plan(15, 15).next_window(0, 187 * M), Some((0, 15 * M)));
        // Not yet exportable.
        assert_eq!(p.next_window(0, 14 * M), None);
        // A backlog of more than a day is cut at 24 hours.
        assert_eq!(p.next_window(0, 3000 * M), Some((0, 1440 * M)));
    }

    #[test]
    fn counts_blocks_behind() {
        let p = plan(15, 1440);
        assert_eq!(p.blocks_behind(30 * M, 44 * M), 0);
        assert_eq!(p.blocks_behind(30 * M, 61 * M), 2);
        assert_eq!(p.blocks_behind(30 * M, 10 * M), 0);
    }

    proptest! {
        #[test]
        fn windows_respect_the_service_rules(
            size_min in 15i64..=1440,
            extra in 0i64..=1440,
            from in 0i64..4_000_000_000,
            ahead in 0i64..400_000,
        ) {
            let catch = (size_min + extra).min(1440);
            let p = plan(size_min, catch);
            let horizon = from + ahead;
            if let Some((f, t)) = p.next_window(from, horizon) {
                prop_assert_eq!(f, from);
                prop_assert!(t - f >= MIN_WINDOW, "too short: {}", t - f);
                prop_assert!(t - f <= MAX_WINDOW, "too long: {}", t - f);
                prop_assert!(t <= horizon);
            } else {
                prop_assert!(p.next_end(from) > horizon);
            }
        }

        #[test]
        fn after_one_window_every_window_is_aligned(
            size_min in 15i64..=1440,
            from in 0i64..4_000_000_000,
        ) {
            let p = plan(size_min, size_min);
            let mut t = from;
            for _ in 0..3 {
                t = p.next_end(t);
            }
            prop_assert_eq!(t % p.size, 0);
        }
    }
}
