"""The template's operations: alarms, the dead-letter queue of the schedule,
the dashboard and the functions' log controls, held to the metrics the
functions really emit (contracts/metrics.json, generated from
shared/src/metrics.rs) and to the schedule they watch.

Run: python3 -m pytest -q tests/infra/test_operations.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from test_template_security import load_template, of_type

ROOT = Path(__file__).resolve().parents[2]
METRICS = json.loads((ROOT / "contracts" / "metrics.json").read_text(encoding="utf-8"))
EMITTED = {m["name"] for m in METRICS["metrics"]}
FUNCTIONS = ["DecideMode", "StartExport", "CheckStatus", "AdvanceState", "Notify"]


@pytest.fixture(scope="module")
def t():
    return load_template()


def alarms(t):
    return of_type(t, "AWS::CloudWatch::Alarm")


def nested_if(value, conditions: dict | None = None) -> dict:
    """`{condition: value}` of a chain of `Fn::If [cond, value, Fn::If ...]`;
    the last else under the key None."""
    out = {} if conditions is None else conditions
    if isinstance(value, dict) and "Fn::If" in value:
        cond, yes, no = value["Fn::If"]
        out[cond] = yes
        return nested_if(no, out)
    out[None] = value
    return out


def cron_interval_seconds(expr: str) -> int:
    """Seconds between runs of the schedule's cron (minute, hour fields)."""
    minute, hour = re.match(r"cron\((\S+) (\S+) ", expr).groups()
    if "/" in minute:
        return int(minute.split("/")[1]) * 60
    if hour == "*":
        return 3600
    if "/" in hour:
        return int(hour.split("/")[1]) * 3600
    return 86400


def custom_metrics(t) -> set[str]:
    """Every IncrementalExport metric an alarm or the dashboard names."""
    names = set()
    for a in alarms(t).values():
        p = a["Properties"]
        if p.get("Namespace") == METRICS["namespace"]:
            names.add(p["MetricName"])
        for m in p.get("Metrics", []):
            stat = m.get("MetricStat", {}).get("Metric", {})
            if stat.get("Namespace") == METRICS["namespace"]:
                names.add(stat["MetricName"])
    body = dashboard_body(t)
    for w in body["widgets"]:
        namespace = None
        for row in w["properties"]["metrics"]:
            parts = [x for x in row if isinstance(x, str)]
            namespace = namespace if parts[0] == "." else parts[0]
            if namespace == METRICS["namespace"]:
                names.add(parts[1])
    return names


def dashboard_body(t) -> dict:
    (d,) = of_type(t, "AWS::CloudWatch::Dashboard").values()
    text, _ = d["Properties"]["DashboardBody"]["Fn::Sub"]
    return json.loads(re.sub(r"\$\{[^}]+\}", "x", text))


def test_alarms_and_dashboard_name_only_metrics_the_functions_emit(t):
    used = custom_metrics(t)
    assert used, "no alarm or widget reads the functions' metrics"
    assert used <= EMITTED, used - EMITTED
    assert {"ChainLagSeconds", "ExportsCompleted", "ExportDurationSeconds", "PollsPerExport"} <= used


def test_every_alarm_tells_the_failure_address(t):
    topic = "AlarmTopic"
    for name, a in alarms(t).items():
        assert {"Ref": topic} in a["Properties"]["AlarmActions"], name
    subs = [s["Properties"] for s in of_type(t, "AWS::SNS::Subscription").values()
            if s["Properties"]["TopicArn"] == {"Ref": topic}]
    # No body filter: CloudWatch's alarm message has no `status` to match.
    assert subs and all("FilterPolicy" not in s for s in subs)
    assert {"Ref": "FailureNotificationEmail"} in [s["Endpoint"] for s in subs]
    key = t["Resources"]["NotificationTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    services = [s["Principal"].get("Service") for s in key if isinstance(s["Principal"], dict)]
    assert any("cloudwatch.amazonaws.com" in (v if isinstance(v, list) else [v]) for v in services)
    policy = t["Resources"]["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Allow" and s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
               for s in policy)


def test_lag_alarm_is_in_windows_and_missing_data_breaches(t):
    p = t["Resources"]["LagAlarm"]["Properties"]
    assert p["TreatMissingData"] == "breaching"
    assert p["Threshold"] == {"Ref": "LagAlarmWindows"}
    assert t["Parameters"]["LagAlarmWindows"]["Default"] == 3
    expr = next(m for m in p["Metrics"] if m.get("ReturnData"))["Expression"]["Fn::Sub"]
    assert expr == "lag / (60 * ${IncrementalExportWindowSizeInMinutes})"


def test_lag_alarm_period_covers_the_schedule_interval(t):
    """A period shorter than the time between runs would have no lag report
    and breach on a healthy stack; one much longer would hide a stopped one."""
    period = nested_if(t["Resources"]["LagAlarm"]["Properties"]["Metrics"][0]["MetricStat"]["Period"])
    cron = nested_if(t["Resources"]["IncrementalExportSchedule"]["Properties"]["ScheduleExpression"])
    for condition, expr in cron.items():
        interval = cron_interval_seconds(expr)
        got = period.get(condition, period[None])
        assert interval <= got <= max(interval, 3600), (condition, expr, got)


def test_no_export_alarm_counts_hours_without_a_completed_export(t):
    p = t["Resources"]["NoExportAlarm"]["Properties"]
    assert (p["MetricName"], p["Statistic"], p["Period"]) == ("ExportsCompleted", "Sum", 3600)
    assert p["EvaluationPeriods"] == p["DatapointsToAlarm"] == {"Ref": "NoExportAlarmHours"}
    assert (p["ComparisonOperator"], p["Threshold"], p["TreatMissingData"]) == (
        "LessThanThreshold", 1, "breaching")


def test_failed_executions_are_alarmed(t):
    p = t["Resources"]["FailedExecutionsAlarm"]["Properties"]
    assert (p["Namespace"], p["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert p["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "IncrementalExportStateMachine"}}]


def test_schedule_failures_land_in_a_queue_with_an_alarm(t):
    target = t["Resources"]["IncrementalExportSchedule"]["Properties"]["Target"]
    queue = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert t["Resources"][queue]["Type"] == "AWS::SQS::Queue"
    role = t["Resources"]["SchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert any(s["Action"] == "sqs:SendMessage" and s["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
               for s in role)
    p = t["Resources"]["ScheduleDeliveryAlarm"]["Properties"]
    assert p["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue, "QueueName"]}


def test_dashboard_shows_lag_exports_durations_failures_transitions(t):
    titles = " ".join(w["properties"]["title"].lower() for w in dashboard_body(t)["widgets"])
    for word in ["lag", "exports", "duration", "failures", "transitions"]:
        assert word in titles, word


def test_functions_follow_lambdas_log_controls(t):
    env = t["Globals"]["Function"]["Environment"]["Variables"]
    assert "RUST_LOG" not in env, "RUST_LOG would override the LogLevel parameter"
    for f in FUNCTIONS:
        logging = t["Resources"][f"{f}Function"]["Properties"]["LoggingConfig"]
        assert logging["LogFormat"] == "JSON", f
        assert logging["ApplicationLogLevel"] == {"Ref": "LogLevel"}, f


def test_the_checks_can_fail():
    assert cron_interval_seconds("cron(6/15 * * * ? *)") == 900
    assert cron_interval_seconds("cron(6 0/8 * * ? *)") == 28800
    assert cron_interval_seconds("cron(6 0 * * ? *)") == 86400
    assert nested_if({"Fn::If": ["A", 1, {"Fn::If": ["B", 2, 3]}]}) == {"A": 1, "B": 2, None: 3}
