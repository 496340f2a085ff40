//! What in a deployment's status needs an operator, each with its remedy:
//! the same remedies the FAILED e-mails give (`incx_core`'s notification
//! module), so the console-free view and the mail agree.

use incx_core::domain::control::{shown_value, Control, WorkflowAction};
use incx_core::domain::decision::OperatorReason;
use incx_core::domain::ledger::{Head, WorkflowState};
use incx_core::domain::notification::{failure_remedy, operator_remedy};
use incx_core::domain::timefmt::rfc3339;
use serde::Serialize;

use super::schedule::ScheduleView;
use super::status::kind_name;

/// Something an operator should look at, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attention {
    pub problem: String,
    pub remedy: String,
}

/// What needs an operator, worst first: a control the workflow refuses, a
/// PITR gap, a failing window, a lag at the alarm's level, a schedule that
/// starts nothing.
pub fn attention(
    alias: &str,
    head: Option<&Head>,
    control: &Control,
    lag_windows: Option<i64>,
    alarm_windows: i64,
    schedule: Option<&ScheduleView>,
) -> Vec<Attention> {
    let mut out = Vec::new();
    let action = control
        .value
        .as_deref()
        .map(|raw| WorkflowAction::parse(raw).map_err(|_| shown_value(raw)));
    if let Some(Err(shown)) = &action {
        let reason = OperatorReason::UnknownControl {
            shown: shown.clone(),
        };
        out.push(Attention {
            problem: format!("the control's value {shown} is not allowed: runs start no export"),
            remedy: operator_remedy(alias, &reason),
        });
    }
    if let Some(h) = head.filter(|h| h.state == WorkflowState::PitrGap) {
        let reason = OperatorReason::PitrGap {
            watermark: h.watermark.unwrap_or_default(),
            earliest: 0,
        };
        out.push(Attention {
            problem: "PITR gap: the chain cannot continue from its watermark".into(),
            remedy: operator_remedy(alias, &reason),
        });
    }
    if let Some(f) = head.and_then(|h| h.last_failure.as_ref()) {
        out.push(Attention {
            problem: format!(
                "the {} export to {} failed {} times: {}: {}",
                kind_name(f.kind),
                rfc3339(f.span.to),
                f.attempts,
                f.code,
                f.message
            ),
            remedy: failure_remedy(&f.code, f.attempts),
        });
    }
    if let Some(behind) = lag_windows.filter(|b| *b >= alarm_windows) {
        let remedy = if matches!(action, Some(Ok(WorkflowAction::Pause))) {
            "The workflow is paused: `incx resume` exports the backlog (it says how much first)"
                .to_string()
        } else {
            "The next runs catch up on their own; if the lag keeps growing, look at the last runs and any failure above".to_string()
        };
        out.push(Attention {
            problem: format!("{behind} windows behind (the lag alarm is at {alarm_windows})"),
            remedy,
        });
    }
    if let Some(s) = schedule.filter(|s| s.state != "ENABLED") {
        out.push(Attention {
            problem: format!("schedule {} is {}: no run starts on its own", s.name, s.state),
            remedy: format!(
                "Enable it (aws scheduler update-schedule --name {} --state ENABLED with its other settings), or redeploy the stack; `incx run` starts one run now",
                s.name
            ),
        });
    }
    out
}
