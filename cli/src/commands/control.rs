//! `incx pause`, `incx resume`, `incx reset`: set the deployment's control
//! (`/incremental-export/<alias>/workflow-action`) to PAUSE, RUN or
//! RESET_WITH_FULL_EXPORT_AGAIN. The ledger head is read first, both to make
//! sure the alias names a deployment and to say what the change will do;
//! `resume` and `reset` start work that costs money, so they say it and ask
//! unless `--yes`.
//!
//! Exit code: 0 set, 2 not set (no head, not confirmed, access error).

use incx_core::domain::control::WorkflowAction;
use incx_core::domain::ledger::{Head, Mode};
use incx_core::domain::timefmt::rfc3339;
use incx_core::domain::window::{align_down, WindowPlan};
use incx_core::domain::Epoch;
use serde::Serialize;

use super::deployment::{control_name, ledger_table, now, put_control, Deployment, DeploymentArgs};
use super::{confirm, progress, write_stdout, Failure};

#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ConfirmedArgs {
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Set it without asking.
    #[arg(long)]
    pub yes: bool,
    /// The deployment's window (the stack's WindowMinutes), to size the
    /// backlog.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(i64).range(15..=1440))]
    pub window_minutes: i64,
    /// The deployment's catch-up limit (the stack's MaxCatchUpWindowMinutes):
    /// the most one export covers after a pause.
    #[arg(long, default_value_t = 1440, value_parser = clap::value_parser!(i64).range(15..=1440))]
    pub max_catch_up_minutes: i64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What a resume will export, from the head at `now`.
pub fn resume_plan(head: &Head, now: Epoch, plan: WindowPlan) -> String {
    let in_flight = head
        .in_flight
        .as_ref()
        .map(|f| {
            format!(
                "the export in flight (to {}) is seen through first; ",
                rfc3339(f.intent.span.to)
            )
        })
        .unwrap_or_default();
    let Some(watermark) = head.watermark.filter(|_| head.mode == Mode::Incremental) else {
        return format!(
            "{in_flight}the next run starts a full export (there is no chain to continue yet)"
        );
    };
    let minutes = plan.size / 60;
    let behind = plan.blocks_behind(watermark, now);
    match plan.next_window(watermark, now) {
        None => format!(
            "{in_flight}the chain is current (watermark {}): the next run exports the next {minutes}-minute window once it has passed",
            rfc3339(watermark)
        ),
        Some((from, to)) => {
            let rest = plan.blocks_behind(to, now);
            let mut text = format!(
                "{in_flight}backlog: {behind} windows of {minutes} minutes from {} to {}; the next run exports {} to {} in one export ({} windows, catch-up limit {} minutes)",
                rfc3339(watermark),
                rfc3339(align_down(now, plan.size)),
                rfc3339(from),
                rfc3339(to),
                (to - from) / plan.size.max(1),
                plan.max_catch_up / 60,
            );
            if rest > 0 {
                text.push_str(&format!(", the {rest} windows left in the runs after it"));
            }
            text
        }
    }
}

/// What a reset will do, from the head.
pub fn reset_plan(head: &Head) -> String {
    let in_flight = head
        .in_flight
        .as_ref()
        .map(|f| {
            format!(
                " after the export in flight (to {}) is seen through",
                rfc3339(f.intent.span.to)
            )
        })
        .unwrap_or_default();
    let old = match head.watermark {
        Some(w) if head.mode == Mode::Incremental => format!(
            "chain {} (watermark {}) ends there; its catalog stays for readers",
            head.chain,
            rfc3339(w)
        ),
        _ => format!("chain {} has not started, so nothing ends", head.chain),
    };
    format!(
        "the next run{in_flight} starts a new full export of the whole table, billed by table size, opening chain {}; {old}",
        head.chain + 1
    )
}

/// What was set, for `--json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Done<'a> {
    alias: &'a str,
    parameter: String,
    value: &'static str,
    version: i64,
    plan: &'a str,
}

/// The head, which the controls insist on: no head means a wrong alias or a
/// deployment that never ran, and a control set there helps no one.
async fn required_head(deployment: &Deployment) -> Result<Head, Failure> {
    deployment.head().await?.ok_or_else(|| {
        Failure::Error(format!(
            "no ledger head for alias {} in table {}: is the alias right, and has the workflow run?",
            deployment.alias,
            ledger_table(&deployment.alias)
        ))
    })
}

async fn set(
    deployment: &Deployment,
    action: WorkflowAction,
    plan: &str,
    json: bool,
) -> Result<(), Failure> {
    let version = put_control(&deployment.ssm(), &deployment.alias, action).await?;
    let parameter = control_name(&deployment.alias);
    let text = if json {
        let done = Done {
            alias: &deployment.alias,
            parameter,
            value: action.as_str(),
            version,
            plan,
        };
        format!("{}\n", serde_json::to_string(&done)?)
    } else {
        format!("{parameter} is {action} (version {version}): {plan}\n")
    };
    write_stdout(&text)
}

pub async fn pause(args: PauseArgs) -> Result<(), Failure> {
    let deployment = Deployment::open(&args.deployment).await;
    let head = required_head(&deployment).await?;
    let plan = match &head.in_flight {
        Some(f) => format!(
            "runs start no export until resume; the export in flight (to {}) is still seen through",
            rfc3339(f.intent.span.to)
        ),
        None => "runs start no export until resume".to_string(),
    };
    set(&deployment, WorkflowAction::Pause, &plan, args.json).await
}

pub async fn resume(args: ConfirmedArgs) -> Result<(), Failure> {
    let plan = WindowPlan {
        size: args.window_minutes * 60,
        max_catch_up: args.max_catch_up_minutes * 60,
    };
    confirmed(args, WorkflowAction::Run, |head| {
        resume_plan(head, now(), plan)
    })
    .await
}

pub async fn reset(args: ConfirmedArgs) -> Result<(), Failure> {
    confirmed(args, WorkflowAction::ResetWithFullExportAgain, reset_plan).await
}

async fn confirmed(
    args: ConfirmedArgs,
    action: WorkflowAction,
    plan: impl Fn(&Head) -> String,
) -> Result<(), Failure> {
    let deployment = Deployment::open(&args.deployment).await;
    let head = required_head(&deployment).await?;
    let plan = plan(&head);
    progress(&format!("{action}: {plan}"));
    if !args.yes
        && !confirm(&format!(
            "set {} to {action}",
            control_name(&deployment.alias)
        ))?
    {
        return Err(Failure::Error(
            "not confirmed: the control is unchanged".into(),
        ));
    }
    set(&deployment, action, &plan, args.json).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Epoch = 60;

    fn at(watermark: Epoch) -> Head {
        Head {
            mode: Mode::Incremental,
            chain: 2,
            watermark: Some(watermark),
            ..Head::default()
        }
    }

    fn plan(size_min: Epoch, catch_min: Epoch) -> WindowPlan {
        WindowPlan {
            size: size_min * M,
            max_catch_up: catch_min * M,
        }
    }

    #[test]
    fn resume_sizes_the_backlog_and_the_one_export() {
        // Paused at 00:00 for 5 h 10 min: 20 windows behind; one export of
        // up to 2 h, the other 12 windows later.
        let text = resume_plan(&at(0), 310 * M, plan(15, 120));
        assert!(text.contains("backlog: 20 windows of 15 minutes from 1970-01-01T00:00:00Z to 1970-01-01T05:00:00Z"), "{text}");
        assert!(text.contains("exports 1970-01-01T00:00:00Z to 1970-01-01T02:00:00Z in one export (8 windows, catch-up limit 120 minutes)"), "{text}");
        assert!(text.contains("the 12 windows left"), "{text}");
        // A limit above the backlog: all of it in one go.
        let text = resume_plan(&at(0), 310 * M, plan(15, 1440));
        assert!(
            text.contains("to 1970-01-01T05:00:00Z in one export (20 windows"),
            "{text}"
        );
        assert!(!text.contains("left"), "{text}");
        // Less than a window behind.
        let text = resume_plan(&at(0), 10 * M, plan(15, 1440));
        assert!(text.contains("the chain is current"), "{text}");
    }

    #[test]
    fn resume_and_reset_before_any_chain_and_with_an_export_in_flight() {
        let fresh = Head::default();
        assert!(resume_plan(&fresh, 1000, plan(15, 15)).contains("starts a full export"));
        let text = reset_plan(&fresh);
        assert!(text.contains("opening chain 1"), "{text}");
        assert!(text.contains("has not started"), "{text}");

        let text = reset_plan(&at(3600));
        assert!(text.contains("new full export"), "{text}");
        assert!(
            text.contains("opening chain 3; chain 2 (watermark 1970-01-01T01:00:00Z) ends"),
            "{text}"
        );

        let mut busy = at(0);
        let intent = incx_core::domain::ledger::Intent {
            kind: incx_core::domain::export::ExportKind::Incremental,
            span: incx_core::domain::export::Span {
                from: Some(0),
                to: 900,
            },
            attempt: 1,
            client_token: "t".into(),
            started_at: 900,
            chain: 2,
            reset_version: None,
            reset_modified: None,
            from_ms: None,
            note: None,
        };
        busy.in_flight = Some(intent.into());
        assert!(reset_plan(&busy).contains("after the export in flight (to 1970-01-01T00:15:00Z)"));
        assert!(resume_plan(&busy, 1000, plan(15, 15)).starts_with("the export in flight"));
    }
}
