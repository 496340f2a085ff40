//! The deployment's schedule as `incx status` shows it: the EventBridge
//! Scheduler schedule the stack names `<alias>-incremental-export-schedule`,
//! its state, and when it next starts a run. The next run is worked out
//! here from the cron expression, for the forms the template writes
//! (`cron(M/S * * * ? *)`, `cron(M H/S * * ? *)` and their plain values,
//! lists and ranges) in UTC; for anything else it is left out, not guessed.

use incx_core::domain::timefmt::rfc3339;
use incx_core::domain::Epoch;
use serde::Serialize;

/// The schedule of deployment `alias`, as the stack names it.
pub fn schedule_name(alias: &str) -> String {
    format!("{alias}-incremental-export-schedule")
}

/// What `status` shows of the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleView {
    pub name: String,
    pub expression: String,
    pub timezone: String,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    /// When it next starts a run; `None` when disabled or not worked out.
    pub next_run: Option<String>,
}

impl ScheduleView {
    pub fn new(name: &str, expression: &str, timezone: &str, state: &str, now: Epoch) -> Self {
        let next = (state == "ENABLED" && timezone.eq_ignore_ascii_case("UTC"))
            .then(|| next_fire(expression, now))
            .flatten();
        Self {
            name: name.to_string(),
            expression: expression.to_string(),
            timezone: timezone.to_string(),
            state: state.to_string(),
            next_run: next.map(rfc3339),
        }
    }
}

/// Reads the schedule of `alias` (default group).
pub async fn read_schedule(
    client: &aws_sdk_scheduler::Client,
    alias: &str,
    now: Epoch,
) -> Result<ScheduleView, String> {
    let name = schedule_name(alias);
    let out = client
        .get_schedule()
        .name(&name)
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading schedule {name}: {}",
                aws_sdk_scheduler::error::DisplayErrorContext(&e)
            )
        })?;
    Ok(ScheduleView::new(
        &name,
        out.schedule_expression().unwrap_or_default(),
        out.schedule_expression_timezone().unwrap_or("UTC"),
        out.state().map_or("ENABLED", |s| s.as_str()),
        now,
    ))
}

/// The first minute after `now` that `expression` fires at, in UTC; `None`
/// for a form this does not work out (or one that never fires in two days).
pub fn next_fire(expression: &str, now: Epoch) -> Option<Epoch> {
    let inner = expression.trim().strip_prefix("cron(")?.strip_suffix(')')?;
    let fields: Vec<&str> = inner.split_whitespace().collect();
    let [minutes, hours, day, month, weekday, year] = fields[..] else {
        return None;
    };
    let every = |f: &str| f == "*" || f == "?";
    if !(every(day) && every(month) && every(weekday) && every(year)) {
        return None;
    }
    let minutes = values(minutes, 60)?;
    let hours = values(hours, 24)?;
    let first = (now.div_euclid(60) + 1) * 60;
    (0..2 * 24 * 60).map(|i| first + i * 60).find(|t| {
        let minute = t.div_euclid(60).rem_euclid(60);
        let hour = t.div_euclid(3600).rem_euclid(24);
        minutes[minute as usize] && hours[hour as usize]
    })
}

/// Which of `0..n` a cron field names: `*`, `N`, `A-B`, each with an
/// optional `/step`, joined by commas.
fn values(field: &str, n: usize) -> Option<Vec<bool>> {
    let mut on = vec![false; n];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<usize>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (0, n - 1),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                // `N/S` runs from N to the end, plain `N` is N alone.
                None => {
                    let a: usize = r.parse().ok()?;
                    (a, if part.contains('/') { n - 1 } else { a })
                }
            },
        };
        if from > to || to >= n {
            return None;
        }
        for v in (from..=to).step_by(step) {
            on[v] = true;
        }
    }
    Some(on)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Epoch = 3600;
    const M: Epoch = 60;

    #[test]
    fn the_templates_forms_fire_when_scheduler_would() {
        // 00:07 → 00:21 for six past every quarter hour.
        assert_eq!(next_fire("cron(6/15 * * * ? *)", 7 * M), Some(21 * M));
        // Exactly at a firing minute: the next one, not this one.
        assert_eq!(next_fire("cron(6/15 * * * ? *)", 21 * M), Some(36 * M));
        assert_eq!(next_fire("cron(6/15 * * * ? *)", 52 * M), Some(H + 6 * M));
        assert_eq!(next_fire("cron(6 * * * ? *)", 7 * M), Some(H + 6 * M));
        assert_eq!(
            next_fire("cron(6 0/8 * * ? *)", 9 * H),
            Some(16 * H + 6 * M)
        );
        assert_eq!(next_fire("cron(6 0 * * ? *)", 9 * H), Some(24 * H + 6 * M));
        assert_eq!(
            next_fire("cron(6 0/2 * * ? *)", 23 * H),
            Some(24 * H + 6 * M)
        );
        assert_eq!(next_fire("cron(0,30 1-2 * * ? *)", 0), Some(H));
    }

    #[test]
    fn other_forms_are_not_guessed() {
        for e in [
            "rate(15 minutes)",
            "cron(6/15 * ? * MON-FRI *)",
            "cron(6/15 * * *)",
            "cron(61 * * * ? *)",
            "cron(6/0 * * * ? *)",
            "at(2026-01-01T00:00:00)",
        ] {
            assert_eq!(next_fire(e, 0), None, "{e}");
        }
    }

    #[test]
    fn a_disabled_or_zoned_schedule_has_no_next_run_shown() {
        let on = ScheduleView::new("s", "cron(6/15 * * * ? *)", "UTC", "ENABLED", 0);
        assert_eq!(on.next_run.as_deref(), Some("1970-01-01T00:06:00Z"));
        let off = ScheduleView::new("s", "cron(6/15 * * * ? *)", "UTC", "DISABLED", 0);
        assert_eq!(off.next_run, None);
        let zoned = ScheduleView::new("s", "cron(6/15 * * * ? *)", "Europe/Paris", "ENABLED", 0);
        assert_eq!(zoned.next_run, None);
    }
}
