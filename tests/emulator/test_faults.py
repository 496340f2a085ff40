"""Faults the real service has: refused valid windows, lost responses,
exports hidden for 15 minutes, a skewed service clock, and export durations
drawn from a seeded distribution.
"""
from __future__ import annotations

import json
import statistics
import urllib.error
import urllib.request
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from emulator.faults import Durations
from harness import (EXPORT_SECONDS, HOUR, LAG, MIN, client, ensure_bucket, epoch, expect_error,
                     incremental_spec, new_table, pitr_description, put, read_lines, start_emulator,
                     start_export)

SPEC = "lognormal:median=420,sigma=0.45,tail=0.04,tail_min=1200,tail_max=2700,seed=7"


def lost(call, *args, **kwargs) -> ClientError:
    """The call's HTTP 500, as a client sees a lost response."""
    with pytest.raises(ClientError) as excinfo:
        call(*args, **kwargs)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    return excinfo.value


def describe_status(ddb, arn: str) -> str:
    return ddb.describe_export(ExportArn=arn)["ExportDescription"]["ExportStatus"]


# --- refused windows -------------------------------------------------------------


def test_invalid_export_time_next_refuses_valid_incremental_windows(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + HOUR)
    assert emu.control("/_emulator/faults", {"invalid_export_time_next": 2})["invalid_export_time_next"] == 2
    window = incremental_spec(base, base + 15 * MIN)
    expect_error("InvalidExportTimeException", start_export, ddb, table, **window)
    assert start_export(ddb, table)["ExportType"] == "FULL_EXPORT"  # full exports are not counted
    expect_error("InvalidExportTimeException", start_export, ddb, table, **window)
    assert start_export(ddb, table, **window)["ExportStatus"] == "IN_PROGRESS"
    assert emu.control("/_emulator/state")["faults"]["invalid_export_time_next"] == 0

    calls = [c for c in emu.journal()["export_calls"] if c["TableArn"] == table["arn"]]
    assert [(c["Outcome"], c["ErrorCode"], c["Injected"]) for c in calls] == [
        ("refused", "InvalidExportTimeException", True), ("started", None, False),
        ("refused", "InvalidExportTimeException", True), ("started", None, False)]


# --- lost responses ----------------------------------------------------------------


def test_lost_responses_of_dynamodb_writes_still_take_effect(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    name = table["name"]
    for operation in ("PutItem", "UpdateItem", "TransactWriteItems"):
        emu.control("/_emulator/faults", {"lose_response_next": {"operation": operation, "count": 1}})
    assert emu.control("/_emulator/state")["faults"]["lose_response_next"] == {
        "PutItem": 1, "TransactWriteItems": 1, "UpdateItem": 1}
    emu.set_time(base + 10)
    error = lost(put, ddb, table, "a", v={"N": "1"})
    assert error.response["Error"]["Code"] == "InternalServerError"
    emu.set_time(base + 20)
    lost(ddb.update_item, TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
         ExpressionAttributeValues={":v": {"N": "2"}})
    emu.set_time(base + 30)
    lost(ddb.transact_write_items, TransactItems=[{"Put": {"TableName": name, "Item": {"pk": {"S": "b"}}}}])
    put(ddb, table, "c")  # used up: answered normally
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "a"}})["Item"]["v"] == {"N": "2"}

    emu.set_time(base + HOUR)
    done = start_export(ddb, table)
    emu.set_time(base + HOUR + EXPORT_SECONDS)
    done = ddb.describe_export(ExportArn=done["ExportArn"])["ExportDescription"]
    _, _, lines = read_lines(s3, done["ExportManifest"])
    assert sorted(line["Item"]["pk"]["S"] for line in lines) == ["a", "b", "c"]
    losses = [e for e in emu.journal()["lost_responses"] if base <= e["Time"] < base + HOUR]
    assert [(e["Service"], e["Operation"], e["Time"]) for e in losses] == [
        ("dynamodb", "PutItem", base + 10), ("dynamodb", "UpdateItem", base + 20),
        ("dynamodb", "TransactWriteItems", base + 30)]


def test_lost_response_of_an_export_start(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + HOUR)
    emu.control("/_emulator/faults", {"lose_response_next": {"operation": "ExportTableToPointInTime", "count": 1}})
    token = f"lost-{table['name']}"
    error = lost(start_export, ddb, table, ClientToken=token)
    assert error.response["Error"]["Code"] == "InternalServerError"
    listed = ddb.list_exports(TableArn=table["arn"])["ExportSummaries"]
    assert len(listed) == 1  # the export was started all the same
    retried = start_export(ddb, table, ClientToken=token)
    assert retried["ExportArn"] == listed[0]["ExportArn"]
    calls = [c for c in emu.journal()["export_calls"] if c["TableArn"] == table["arn"]]
    assert [(c["Outcome"], c["ExportArn"], c["ResponseLost"]) for c in calls] == [
        ("started", retried["ExportArn"], True), ("repeat", retried["ExportArn"], False)]


def test_lost_response_of_an_sns_publish(emu):
    base = emu.fresh_base()
    key = f"sns-{base}"
    sns, sqs = client("sns", emu.url, access_key=key), client("sqs", emu.url, access_key=key)
    topic = sns.create_topic(Name=f"lost-{base}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"lost-{base}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    emu.control("/_emulator/faults", {"lose_response_next": {"operation": "Publish", "count": 1}})
    error = lost(sns.publish, TopicArn=topic, Message="first")
    assert error.response["Error"]["Code"] == "InternalError"  # SNS's own name for it
    sns.publish(TopicArn=topic, Message="second")
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert sorted(m["Body"] for m in received) == ["first", "second"]  # the lost one was delivered
    publishes = [e for e in emu.journal()["sns_publish"] if e["AccessKeyId"] == key]
    assert [(e["Message"], e["Status"], e["ResponseLost"], bool(e["MessageId"])) for e in publishes] == [
        ("first", 200, True, True), ("second", 200, False, True)]


# --- visibility and clocks ---------------------------------------------------------


def test_export_hidden_for_exactly_fifteen_minutes(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + HOUR)
    emu.control("/_emulator/faults", {"hidden_seconds": 900})
    started = start_export(ddb, table)
    arn = started["ExportArn"]
    start = epoch(started["StartTime"])
    emu.set_time(start + 899.999)
    expect_error("ExportNotFoundException", ddb.describe_export, ExportArn=arn)
    assert arn not in [s["ExportArn"] for s in ddb.list_exports(TableArn=table["arn"])["ExportSummaries"]]
    state = {e["ExportArn"]: e for e in emu.control("/_emulator/state")["exports"]}
    assert state[arn]["Visible"] is False
    emu.set_time(start + 900)
    assert describe_status(ddb, arn) == "COMPLETED"
    assert arn in [s["ExportArn"] for s in ddb.list_exports(TableArn=table["arn"])["ExportSummaries"]]
    assert [e for e in emu.journal()["exports"] if e["ExportArn"] == arn][0]["VisibleFrom"] == start + 900


@pytest.mark.parametrize("skew", [-600, 120])
def test_clock_skew_moves_the_services_now_only(emu, ddb, s3, skew):
    base = emu.fresh_base()
    emu.control("/_emulator/faults", {"clock_skew_seconds": skew})
    table = new_table(ddb)  # PITR enabled at the service's now
    emu.set_time(base + 10)
    put(ddb, table, "a", v={"N": "1"})
    now = base + 2 * HOUR
    emu.set_time(now)
    pitr = pitr_description(ddb, table["name"])["PointInTimeRecoveryDescription"]
    assert epoch(pitr["EarliestRestorableDateTime"]) == base + skew
    latest = now + skew - LAG
    assert epoch(pitr["LatestRestorableDateTime"]) == latest

    if skew < 0:  # the client's idea of "latest" is ahead of the service's
        expect_error("InvalidExportTimeException", start_export, ddb, table,
                     **incremental_spec(base + HOUR, now - LAG), match="LatestRestorableDateTime")
    else:
        expect_error("InvalidExportTimeException", start_export, ddb, table, ExportTime=latest + 1)
    started = start_export(ddb, table, **incremental_spec(base + skew, latest))
    assert epoch(started["StartTime"]) == now + skew
    emu.set_time(now + EXPORT_SECONDS - 1)  # start and end move together: the duration is unchanged
    assert describe_status(ddb, started["ExportArn"]) == "IN_PROGRESS"
    emu.set_time(now + EXPORT_SECONDS)
    done = ddb.describe_export(ExportArn=started["ExportArn"])["ExportDescription"]
    assert (done["ExportStatus"], epoch(done["EndTime"])) == ("COMPLETED", now + skew + EXPORT_SECONDS)
    _, _, lines = read_lines(s3, done["ExportManifest"])
    assert lines[0]["Metadata"]["WriteTimestampMicros"] == {"N": str((base + 10 + skew) * 1_000_000)}
    journal = emu.journal()
    assert journal["service_now"] - journal["now"] == skew


# --- export durations ------------------------------------------------------------


def test_duration_distribution_is_seeded_and_shaped():
    one, two = Durations.parse(SPEC), Durations.parse(SPEC)
    draws = [one.draw(full=False) for _ in range(4000)]
    assert draws == [two.draw(full=False) for _ in range(4000)]
    tail = [float(d) for d in draws if d >= 1200]
    body = [float(d) for d in draws if d < 1200]
    assert 0.03 <= len(tail) / len(draws) <= 0.05
    assert all(1200 <= d <= 2700 for d in tail)
    assert 400 <= statistics.median(body) <= 440
    assert all(d == d.quantize(Decimal("0.001")) for d in draws)  # whole milliseconds
    full, incremental = Durations.parse(SPEC + ",full_factor=3"), Durations.parse(SPEC)
    for _ in range(20):
        assert abs(full.draw(full=True) - 3 * incremental.draw(full=False)) <= Decimal("0.003")
    for bad in ("normal:median=1", "lognormal:sigma=1", "lognormal:median=0,sigma=1",
                "lognormal:median=5,sigma=1,tail=0.5", "lognormal:median=5,sigma=1,colour=blue",
                "lognormal:median=5,sigma=1,tail=2,tail_min=1,tail_max=2"):
        with pytest.raises(ValueError):
            Durations.parse(bad)


def test_export_durations_through_the_faults_endpoint(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + 2 * HOUR)
    assert emu.control("/_emulator/faults", {"export_durations": SPEC})["export_durations"] == SPEC
    expected = Durations.parse(SPEC)
    started = [start_export(ddb, table, **incremental_spec(base, base + 30 * MIN)),
               start_export(ddb, table, **incremental_spec(base + 30 * MIN, base + HOUR)),
               start_export(ddb, table)]
    wanted = [expected.draw(full=False), expected.draw(full=False), expected.draw(full=True)]
    journal = {e["ExportArn"]: e for e in emu.journal()["exports"]}
    assert [journal[s["ExportArn"]]["DurationSeconds"] for s in started] == [float(w) for w in wanted]
    assert len(set(wanted)) == 3

    first = started[0]
    end = Decimal(str(epoch(first["StartTime"]))) + wanted[0]
    emu.set_time(float(end - Decimal("0.001")))  # the float's repr is the exact decimal
    assert describe_status(ddb, first["ExportArn"]) == "IN_PROGRESS"
    emu.set_time(float(end))
    assert describe_status(ddb, first["ExportArn"]) == "COMPLETED"

    emu.control("/_emulator/faults", {"export_durations": SPEC})  # set again: the sequence starts over
    again = start_export(ddb, table, **incremental_spec(base + HOUR, base + HOUR + 30 * MIN))
    assert emu.control("/_emulator/reset", {})["export_durations"] is None
    fixed = start_export(ddb, table, **incremental_spec(base + HOUR, base + HOUR + 15 * MIN))
    journal = {e["ExportArn"]: e for e in emu.journal()["exports"]}
    assert journal[again["ExportArn"]]["DurationSeconds"] == float(wanted[0])
    assert journal[fixed["ExportArn"]]["DurationSeconds"] == EXPORT_SECONDS


def test_export_durations_on_the_command_line(moto_url, tmp_path_factory):
    emulator = start_emulator(moto_url, tmp_path_factory, "--export-durations", SPEC + ",full_factor=1.5")
    try:
        ddb = client("dynamodb", emulator.url)
        ensure_bucket(client("s3", moto_url))
        base = emulator.fresh_base()
        table = new_table(ddb)
        emulator.set_time(base + HOUR)
        expected = Durations.parse(SPEC + ",full_factor=1.5")
        first = start_export(ddb, table)
        # A reset keeps the command line's distribution and where its sequence is.
        assert emulator.control("/_emulator/reset", {})["export_durations"] == SPEC + ",full_factor=1.5"
        second = start_export(ddb, table, **incremental_spec(base, base + 15 * MIN))
        journal = {e["ExportArn"]: e["DurationSeconds"] for e in emulator.journal()["exports"]}
        assert [journal[first["ExportArn"]], journal[second["ExportArn"]]] == [
            float(expected.draw(full=True)), float(expected.draw(full=False))]
    finally:
        emulator.stop()
    with pytest.raises(RuntimeError, match="did not start"):
        start_emulator(moto_url, tmp_path_factory, "--export-durations", "lognormal:median=-1,sigma=1")


# --- the faults endpoint's checks ----------------------------------------------------


@pytest.mark.parametrize("faults", [
    {"no_such_fault": 1},
    {"lose_response_next": {"operation": "GetItem", "count": 1}},
    {"lose_response_next": {"operation": "Publish", "count": -1}},
    {"lose_response_next": "PutItem"},
    {"hidden_seconds": -1},
    {"invalid_export_time_next": "many"},
    {"clock_skew_seconds": "soon"},
    {"export_durations": "lognormal:median=1"},
])
def test_bad_faults_are_refused(emu, faults):
    request = urllib.request.Request(emu.url + "/_emulator/faults", data=json.dumps(faults).encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=10)
    assert excinfo.value.code == 400
    assert json.loads(excinfo.value.read())["message"]


def test_faults_are_set_all_or_nothing(emu):
    before = emu.control("/_emulator/state")["faults"]
    request = urllib.request.Request(emu.url + "/_emulator/faults", method="POST", data=json.dumps(
        {"hidden_seconds": 5, "throttle_next": 2, "export_durations": "lognormal:median=1"}).encode())
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)
    assert emu.control("/_emulator/state")["faults"] == before
