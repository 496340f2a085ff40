//! `incx status`: one screen on a deployment — the ledger head (mode,
//! chain, watermark, lag), the export in flight and the last failure, the
//! control, the newest catalog entries and the state machine's last runs.
//! The schedule and its next run, and what needs an operator, each with its
//! remedy. The runs and the schedule are read with the operator's Step
//! Functions and Scheduler permissions, which a read-only operator may
//! lack: then that line says unavailable and the rest still shows.
//!
//! Exit code: 0 nothing needs attention, 1 something does (listed with its
//! remedy), 2 the ledger or the control could not be read.

use incx_core::domain::control::Control;
use incx_core::domain::export::ExportKind;
use incx_core::domain::ledger::{Head, Mode};
use incx_core::domain::timefmt::rfc3339;
use incx_core::domain::window::WindowPlan;
use incx_core::domain::Epoch;
use serde::Serialize;

use super::attention::{attention, Attention};
use super::chain::ExportView;
use super::deployment::{find_state_machine, now, state_machine_name, Deployment, DeploymentArgs};
use super::schedule::{read_schedule, ScheduleView};
use super::{write_stdout, Failure};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Catalog entries and runs to show.
    #[arg(long, default_value_t = 5)]
    pub last: usize,
    /// The deployment's window, to count the lag in windows.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(i64).range(15..=1440))]
    pub window_minutes: i64,
    /// Windows behind that need attention (the stack's LagAlarmWindows).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub lag_alarm_windows: i64,
    /// The state machine (default: found by the name <ALIAS>-incremental-export).
    #[arg(long)]
    pub state_machine_arn: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The export in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlightView {
    pub kind: &'static str,
    pub from: Option<String>,
    pub to: String,
    pub attempt: u32,
    pub export_arn: Option<String>,
    /// Since the workflow asked for it.
    pub age_seconds: Epoch,
    pub polls: u32,
}

/// The last failed attempt, still to be retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureView {
    pub kind: &'static str,
    pub from: Option<String>,
    pub to: String,
    pub attempts: u32,
    pub code: String,
    pub message: String,
}

/// One run of the state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    pub name: String,
    pub status: String,
    pub start: String,
}

/// What was read of a deployment, for [`Status::build`].
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// `None` when the workflow never ran.
    pub head: Option<&'a Head>,
    pub control: &'a Control,
    pub recent: &'a [ExportView],
    /// The last runs, or why they could not be read.
    pub runs: Result<Vec<RunView>, String>,
    /// The schedule, or why it could not be read.
    pub schedule: Result<ScheduleView, String>,
}

/// The deployment's settings `status` needs.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub window_minutes: i64,
    pub lag_alarm_windows: i64,
}

/// Everything `status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub alias: String,
    pub now: String,
    /// `None` when the workflow never ran (no head yet).
    pub mode: Option<&'static str>,
    pub state: Option<&'static str>,
    pub chain: Option<u32>,
    pub watermark: Option<String>,
    pub lag_seconds: Option<Epoch>,
    /// Whole windows exportable after the watermark.
    pub lag_windows: Option<i64>,
    pub in_flight: Option<FlightView>,
    pub last_failure: Option<FailureView>,
    /// The control's value; `None` when the parameter is missing.
    pub control: Option<String>,
    pub recent: Vec<ExportView>,
    /// `None` when the runs could not be read; then `runsUnavailable` says why.
    pub runs: Option<Vec<RunView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_unavailable: Option<String>,
    /// `None` when the schedule could not be read; then
    /// `scheduleUnavailable` says why.
    pub schedule: Option<ScheduleView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_unavailable: Option<String>,
    /// What needs an operator (empty: nothing); exit code 1 when any.
    pub attention: Vec<Attention>,
}

pub(crate) fn kind_name(kind: ExportKind) -> &'static str {
    match kind {
        ExportKind::Full => "FULL",
        ExportKind::Incremental => "INCREMENTAL",
    }
}

impl Status {
    /// The status from what was read, at `now`.
    pub fn build(alias: &str, seen: Observed<'_>, now: Epoch, limits: Thresholds) -> Self {
        let Observed {
            head,
            control,
            recent,
            runs,
            schedule,
        } = seen;
        let plan = WindowPlan {
            size: limits.window_minutes * 60,
            max_catch_up: limits.window_minutes * 60,
        };
        let watermark = head.and_then(|h| h.watermark);
        let lag_windows = watermark.map(|w| plan.blocks_behind(w, now));
        let (runs, runs_unavailable) = match runs {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        };
        let (schedule, schedule_unavailable) = match schedule {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e)),
        };
        let attention = attention(
            alias,
            head,
            control,
            lag_windows,
            limits.lag_alarm_windows,
            schedule.as_ref(),
        );
        Self {
            alias: alias.to_string(),
            now: rfc3339(now),
            mode: head.map(|h| match h.mode {
                Mode::NeedsFullExport => "NEEDS_FULL_EXPORT",
                Mode::Incremental => "INCREMENTAL",
            }),
            state: head.map(|h| h.state.as_str()),
            chain: head.map(|h| h.chain),
            watermark: watermark.map(rfc3339),
            lag_seconds: watermark.map(|w| (now - w).max(0)),
            lag_windows,
            in_flight: head.and_then(|h| h.in_flight.as_ref()).map(|f| FlightView {
                kind: kind_name(f.intent.kind),
                from: f.intent.span.from.map(rfc3339),
                to: rfc3339(f.intent.span.to),
                attempt: f.intent.attempt,
                export_arn: f.export_arn.clone(),
                age_seconds: (now - f.intent.started_at).max(0),
                polls: f.polls,
            }),
            last_failure: head
                .and_then(|h| h.last_failure.as_ref())
                .map(|f| FailureView {
                    kind: kind_name(f.kind),
                    from: f.span.from.map(rfc3339),
                    to: rfc3339(f.span.to),
                    attempts: f.attempts,
                    code: f.code.clone(),
                    message: f.message.clone(),
                }),
            control: control.value.clone(),
            recent: recent.to_vec(),
            runs,
            runs_unavailable,
            schedule,
            schedule_unavailable,
            attention,
        }
    }

    /// The one-screen text view.
    pub fn render_text(&self) -> String {
        let mut out = format!("deployment {} at {}\n", self.alias, self.now);
        match (self.mode, self.chain) {
            (Some(mode), Some(chain)) => out.push_str(&format!(
                "  ledger     mode {mode}, chain {chain}, state {}\n",
                self.state.unwrap_or("?")
            )),
            _ => out.push_str("  ledger     no head yet: the workflow has not run\n"),
        }
        match (&self.watermark, self.lag_seconds) {
            (Some(w), Some(lag)) => out.push_str(&format!(
                "  watermark  {w}, lag {lag} s ({} windows behind)\n",
                self.lag_windows.unwrap_or(0)
            )),
            _ => out.push_str("  watermark  none yet\n"),
        }
        match &self.in_flight {
            Some(f) => out.push_str(&format!(
                "  in flight  {} {} -> {}, attempt {}, {} s old, {} polls, {}\n",
                f.kind,
                f.from.as_deref().unwrap_or("(full)"),
                f.to,
                f.attempt,
                f.age_seconds,
                f.polls,
                f.export_arn.as_deref().unwrap_or("not started yet")
            )),
            None => out.push_str("  in flight  none\n"),
        }
        if let Some(f) = &self.last_failure {
            out.push_str(&format!(
                "  failure    {} {} -> {} failed {} times: {}: {}\n",
                f.kind,
                f.from.as_deref().unwrap_or("(full)"),
                f.to,
                f.attempts,
                f.code,
                f.message
            ));
        }
        out.push_str(&format!(
            "  control    {}\n",
            self.control.as_deref().unwrap_or("(parameter missing)")
        ));
        out.push_str(&format!("  last {} exports\n", self.recent.len()));
        for e in &self.recent {
            out.push_str(&format!(
                "    {} {:<11} {} -> {} {} items\n",
                e.status,
                e.kind,
                e.from.as_deref().unwrap_or("(full)"),
                e.to,
                e.items
            ));
        }
        match (&self.runs, &self.runs_unavailable) {
            (Some(runs), _) => {
                out.push_str(&format!("  last {} runs\n", runs.len()));
                for r in runs {
                    out.push_str(&format!("    {:<10} {} {}\n", r.status, r.start, r.name));
                }
            }
            (None, reason) => out.push_str(&format!(
                "  runs       unavailable: {}\n",
                reason.as_deref().unwrap_or("not read")
            )),
        }
        match (&self.schedule, &self.schedule_unavailable) {
            (Some(s), _) => out.push_str(&format!(
                "  schedule   {} {} ({}), next run {}\n",
                s.state,
                s.expression,
                s.timezone,
                s.next_run.as_deref().unwrap_or("not known")
            )),
            (None, reason) => out.push_str(&format!(
                "  schedule   unavailable: {}\n",
                reason.as_deref().unwrap_or("not read")
            )),
        }
        if self.attention.is_empty() {
            out.push_str("  attention  none\n");
        }
        for a in &self.attention {
            out.push_str(&format!(
                "  attention  {}\n             remedy: {}\n",
                a.problem, a.remedy
            ));
        }
        out
    }
}

/// The newest `n` runs of the state machine (`arn`, or found by name).
pub async fn last_runs(
    client: &aws_sdk_sfn::Client,
    arn: Option<&str>,
    alias: &str,
    n: usize,
) -> Result<Vec<RunView>, String> {
    let arn = match arn {
        Some(a) => a.to_string(),
        None => find_state_machine(client, &state_machine_name(alias)).await?,
    };
    let out = client
        .list_executions()
        .state_machine_arn(&arn)
        .max_results(i32::try_from(n.clamp(1, 1000)).unwrap_or(1000))
        .send()
        .await
        .map_err(|e| {
            format!(
                "listing the runs of {arn}: {}",
                aws_sdk_sfn::error::DisplayErrorContext(&e)
            )
        })?;
    Ok(out
        .executions()
        .iter()
        .take(n)
        .map(|e| RunView {
            name: e.name().to_string(),
            status: e.status().as_str().to_string(),
            start: rfc3339(e.start_date().secs()),
        })
        .collect())
}

pub async fn run(args: StatusArgs) -> Result<(), Failure> {
    let deployment = Deployment::open(&args.deployment).await;
    let head = deployment.head().await?;
    let control = deployment.control().await?;
    let recent: Vec<ExportView> = deployment
        .recent(args.last)
        .await?
        .iter()
        .map(ExportView::of)
        .collect();
    let runs = last_runs(
        &deployment.sfn(),
        args.state_machine_arn.as_deref(),
        &deployment.alias,
        args.last,
    )
    .await;
    let now = now();
    let schedule = read_schedule(&deployment.scheduler(), &deployment.alias, now).await;
    let seen = Observed {
        head: head.as_ref(),
        control: &control,
        recent: &recent,
        runs,
        schedule,
    };
    let limits = Thresholds {
        window_minutes: args.window_minutes,
        lag_alarm_windows: args.lag_alarm_windows,
    };
    let status = Status::build(&deployment.alias, seen, now, limits);
    let text = if args.json {
        format!("{}\n", serde_json::to_string_pretty(&status)?)
    } else {
        status.render_text()
    };
    write_stdout(&text)?;
    if status.attention.is_empty() {
        Ok(())
    } else {
        Err(Failure::Problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::deployment::tests::mocked;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};
    use incx_core::domain::export::Span;
    use incx_core::domain::ledger::{InFlight, Intent, LastFailure, WorkflowState};

    fn head() -> Head {
        let intent = Intent {
            kind: ExportKind::Incremental,
            span: Span {
                from: Some(3600),
                to: 4500,
            },
            attempt: 2,
            client_token: "t".into(),
            started_at: 4600,
            chain: 3,
            reset_version: None,
            reset_modified: None,
            from_ms: None,
            note: None,
        };
        Head {
            mode: Mode::Incremental,
            chain: 3,
            watermark: Some(3600),
            in_flight: Some(InFlight {
                export_arn: Some("arn:x".into()),
                polls: 4,
                ..InFlight::from(intent)
            }),
            last_failure: Some(LastFailure {
                kind: ExportKind::Incremental,
                span: Span {
                    from: Some(3600),
                    to: 4500,
                },
                attempts: 1,
                code: "S3NoSuchBucket".into(),
                message: "gone".into(),
            }),
            ..Head::default()
        }
    }

    fn build(
        head: Option<&Head>,
        control: &Control,
        runs: Result<Vec<RunView>, String>,
        now: Epoch,
        window_minutes: i64,
    ) -> Status {
        let seen = Observed {
            head,
            control,
            recent: &[],
            runs,
            schedule: Err("not read".into()),
        };
        let limits = Thresholds {
            window_minutes,
            lag_alarm_windows: 3,
        };
        Status::build("o1", seen, now, limits)
    }

    fn control(v: &str) -> Control {
        Control {
            value: Some(v.into()),
            ..Control::default()
        }
    }

    #[test]
    fn lag_in_flight_and_failure_come_from_the_head() {
        // Watermark 01:00, now 02:10: 70 minutes, four whole windows
        // (01:00-02:00) exportable.
        let s = build(Some(&head()), &control("PAUSE"), Ok(vec![]), 7800, 15);
        assert_eq!(s.watermark.as_deref(), Some("1970-01-01T01:00:00Z"));
        assert_eq!(s.lag_seconds, Some(4200));
        assert_eq!(s.lag_windows, Some(4));
        let f = s.in_flight.as_ref().unwrap();
        assert_eq!((f.age_seconds, f.polls, f.attempt), (3200, 4, 2));
        assert_eq!(s.last_failure.as_ref().unwrap().code, "S3NoSuchBucket");
        assert_eq!(s.control.as_deref(), Some("PAUSE"));
        // Hour windows: one whole window behind.
        let s = build(Some(&head()), &control("RUN"), Ok(vec![]), 7800, 60);
        assert_eq!(s.lag_windows, Some(1));

        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["mode"], "INCREMENTAL");
        assert_eq!(json["lagSeconds"], 4200);
        assert_eq!(json["inFlight"]["exportArn"], "arn:x");
        assert!(json.get("runsUnavailable").is_none());
    }

    #[test]
    fn text_says_what_is_missing_and_unavailable() {
        let s = build(None, &Control::default(), Err("AccessDenied".into()), 0, 15);
        let text = s.render_text();
        assert!(text.contains("no head yet"), "{text}");
        assert!(text.contains("(parameter missing)"), "{text}");
        assert!(
            text.contains("runs       unavailable: AccessDenied"),
            "{text}"
        );
        assert_eq!(
            serde_json::to_value(&s).unwrap()["runs"],
            serde_json::Value::Null
        );

        let s = build(Some(&head()), &control("RUN"), Ok(vec![]), 7800, 15);
        let text = s.render_text();
        assert!(text.contains("lag 4200 s (4 windows behind)"), "{text}");
        assert!(
            text.contains("attempt 2, 3200 s old, 4 polls, arn:x"),
            "{text}"
        );
        assert!(
            text.contains("failed 1 times: S3NoSuchBucket: gone"),
            "{text}"
        );
    }

    #[test]
    fn attention_names_each_problem_with_its_remedy() {
        // A failing window and four windows behind while paused.
        let s = build(Some(&head()), &control("PAUSE"), Ok(vec![]), 7800, 15);
        let problems: Vec<&str> = s.attention.iter().map(|a| a.problem.as_str()).collect();
        assert_eq!(s.attention.len(), 2, "{problems:?}");
        assert!(problems[0].contains("S3NoSuchBucket"), "{problems:?}");
        assert!(s.attention[0].remedy.contains("fix the cause"));
        assert!(problems[1].starts_with("4 windows behind"), "{problems:?}");
        assert!(s.attention[1].remedy.contains("incx resume"));
        assert!(s.render_text().contains("remedy: The workflow is paused"));

        // Caught up, no failure, a refused control value and a PITR gap.
        let mut h = head();
        h.last_failure = None;
        h.watermark = Some(7200);
        h.state = WorkflowState::PitrGap;
        let s = build(Some(&h), &control("STOP"), Ok(vec![]), 7800, 15);
        assert_eq!(s.attention.len(), 2, "{:?}", s.attention);
        assert!(s.attention[0].problem.contains("\"STOP\""));
        assert!(s.attention[0].remedy.contains("RUN, PAUSE"));
        assert!(s.attention[1]
            .remedy
            .contains("RESET_WITH_FULL_EXPORT_AGAIN"));

        // All well: nothing.
        h.state = WorkflowState::Normal;
        let s = build(Some(&h), &control("RUN"), Ok(vec![]), 7800, 15);
        assert_eq!(s.attention, []);
        assert!(s.render_text().contains("attention  none"));
    }

    #[test]
    fn a_disabled_schedule_needs_attention() {
        let mut h = head();
        h.last_failure = None;
        h.watermark = Some(7200);
        let seen = Observed {
            head: Some(&h),
            control: &control("RUN"),
            recent: &[],
            runs: Ok(vec![]),
            schedule: Ok(ScheduleView::new(
                "o1-incremental-export-schedule",
                "cron(6/15 * * * ? *)",
                "UTC",
                "DISABLED",
                7800,
            )),
        };
        let limits = Thresholds {
            window_minutes: 15,
            lag_alarm_windows: 3,
        };
        let s = Status::build("o1", seen, 7800, limits);
        assert_eq!(s.attention.len(), 1, "{:?}", s.attention);
        assert!(s.attention[0].problem.contains("DISABLED"));
        let text = s.render_text();
        assert!(
            text.contains("schedule   DISABLED cron(6/15 * * * ? *) (UTC), next run not known"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn runs_come_from_step_functions_and_a_refusal_is_reported() {
        use aws_sdk_sfn::operation::list_executions::{ListExecutionsError, ListExecutionsOutput};
        use aws_sdk_sfn::primitives::DateTime;
        use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus};
        let listed = mock!(aws_sdk_sfn::Client::list_executions)
            .match_requests(|r| {
                r.state_machine_arn() == Some("arn:sm") && r.max_results() == Some(2)
            })
            .then_output(|| {
                let run = ExecutionListItem::builder()
                    .execution_arn("arn:e")
                    .state_machine_arn("arn:sm")
                    .name("r1")
                    .status(ExecutionStatus::Succeeded)
                    .start_date(DateTime::from_secs(900))
                    .build()
                    .unwrap();
                ListExecutionsOutput::builder()
                    .executions(run)
                    .build()
                    .unwrap()
            });
        let client = mocked!(aws_sdk_sfn, [&listed]);
        let runs = last_runs(&client, Some("arn:sm"), "o1", 2).await.unwrap();
        assert_eq!(
            runs,
            [RunView {
                name: "r1".into(),
                status: "SUCCEEDED".into(),
                start: "1970-01-01T00:15:00Z".into()
            }]
        );
        let denied = mock!(aws_sdk_sfn::Client::list_executions).then_error(|| {
            ListExecutionsError::generic(
                aws_sdk_sfn::error::ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .build(),
            )
        });
        let client = mocked!(aws_sdk_sfn, [&denied]);
        let err = last_runs(&client, Some("arn:sm"), "o1", 2)
            .await
            .unwrap_err();
        assert!(err.contains("AccessDeniedException"), "{err}");
    }
}
