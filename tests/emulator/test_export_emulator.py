"""End-to-end tests of the export emulator against a real moto server.

Each test drives virtual time through the clock file, writes items through
the emulator with boto3 and reads what the exports wrote straight from moto.
Every test gets fresh table names and a fresh stretch of virtual time, so
tests do not see each other's state.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import re
import time

import pytest
from botocore.exceptions import ClientError

from harness import (BUCKET, EXPORT_SECONDS, HOUR, LAG, MIN, client, ensure_bucket, epoch, error_code,
                     expect_error, finish, get_bytes, incremental_spec, new_table, pitr_description, put,
                     read_lines, set_pitr, start_emulator, start_export)


# --- PITR --------------------------------------------------------------------


def test_describe_continuous_backups_times(emu, ddb):
    base = emu.fresh_base()
    table = new_table(ddb, pitr=False)
    assert pitr_description(ddb, table["name"])["PointInTimeRecoveryDescription"][
        "PointInTimeRecoveryStatus"] == "DISABLED"

    description = set_pitr(ddb, table["name"], True)["ContinuousBackupsDescription"]
    assert description["ContinuousBackupsStatus"] == "ENABLED"
    assert epoch(description["PointInTimeRecoveryDescription"]["EarliestRestorableDateTime"]) == base

    emu.set_time(base + 100)  # less than the lag: latest is held at earliest
    pitr = pitr_description(ddb, table["name"])["PointInTimeRecoveryDescription"]
    assert epoch(pitr["LatestRestorableDateTime"]) == base

    emu.set_time(base + 1000.5)
    pitr = pitr_description(ddb, table["name"])["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert epoch(pitr["EarliestRestorableDateTime"]) == base
    assert epoch(pitr["LatestRestorableDateTime"]) == base + 1000.5 - LAG

    with pytest.raises(ClientError) as excinfo:
        ddb.describe_continuous_backups(TableName="no-such-table")
    assert error_code(excinfo) == "TableNotFoundException"


def test_disabling_and_enabling_pitr_moves_earliest(emu, ddb):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + HOUR)
    set_pitr(ddb, table["name"], True)  # already on: the window is kept
    assert epoch(pitr_description(ddb, table["name"])["PointInTimeRecoveryDescription"][
        "EarliestRestorableDateTime"]) == base

    set_pitr(ddb, table["name"], False)
    emu.set_time(base + 2 * HOUR)
    pitr = set_pitr(ddb, table["name"], True)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert epoch(pitr["EarliestRestorableDateTime"]) == base + 2 * HOUR

    with pytest.raises(ClientError) as excinfo:
        start_export(ddb, table, ExportTime=base + HOUR)  # before the new earliest
    assert error_code(excinfo) == "InvalidExportTimeException"


# --- full export ---------------------------------------------------------------


def test_full_export_layout_and_contents(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    history = [(10, lambda: put(ddb, table, "a", v={"N": "1"})),
               (20, lambda: put(ddb, table, "b", v={"N": "1"})),
               (30, lambda: put(ddb, table, "c", v={"S": "x"}, l={"L": [{"BOOL": True}, {"NULL": True}]})),
               (40, lambda: ddb.update_item(TableName=table["name"], Key={"pk": {"S": "a"}},
                                            UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}})),
               (50, lambda: ddb.delete_item(TableName=table["name"], Key={"pk": {"S": "b"}})),
               (50, lambda: put(ddb, table, "e", v={"N": "5"})),  # at ExportTime: included
               (60, lambda: put(ddb, table, "d", v={"N": "1"})),  # after ExportTime: left out
               (70, lambda: put(ddb, table, "c", v={"S": "changed"}))]
    for offset, write in history:
        emu.set_time(base + offset)
        write()

    emu.set_time(base + 50 + LAG + 10)
    started = start_export(ddb, table, prefix="exports/full", ExportTime=base + 50)
    export_id = started["ExportArn"].rsplit("/", 1)[1]
    assert started["ExportArn"] == f"{table['arn']}/export/{export_id}"
    assert re.fullmatch(r"\d{14}-[0-9a-f]{8}", export_id)
    assert int(export_id[:14]) == (base + 360) * 1000
    assert started["ExportStatus"] == "IN_PROGRESS"
    assert (started["ExportType"], started["ExportFormat"], started["S3SseAlgorithm"]) == (
        "FULL_EXPORT", "DYNAMODB_JSON", "AES256")
    assert epoch(started["ExportTime"]) == base + 50

    done = finish(emu, ddb, started)
    folder = f"exports/full/AWSDynamoDB/{export_id}"
    assert done["ExportStatus"] == "COMPLETED"
    assert done["ExportManifest"] == f"{folder}/manifest-summary.json"
    assert epoch(done["EndTime"]) == epoch(started["StartTime"]) + EXPORT_SECONDS

    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=folder + "/")["Contents"]}
    for name in ("_started", "manifest-summary.json", "manifest-files.json",
                 "manifest-summary.md5", "manifest-files.md5"):
        assert f"{folder}/{name}" in keys
    assert get_bytes(s3, f"{folder}/_started") == b""
    for name in ("manifest-summary", "manifest-files"):
        body = get_bytes(s3, f"{folder}/{name}.json")
        assert get_bytes(s3, f"{folder}/{name}.md5") == base64.b64encode(hashlib.md5(body).digest())

    summary, entries, lines = read_lines(s3, done["ExportManifest"])
    assert list(summary) == ["version", "exportArn", "startTime", "endTime", "tableArn", "tableId",
                             "exportTime", "s3Bucket", "s3Prefix", "s3SseAlgorithm", "s3SseKmsKeyId",
                             "manifestFilesS3Key", "billedSizeBytes", "itemCount", "outputFormat"]
    assert summary["version"] == "2020-06-30"
    assert summary["exportArn"] == started["ExportArn"] and summary["tableId"] == done["TableId"]
    assert summary["exportTime"] == time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(base + 50))
    assert summary["s3Prefix"] == "exports/full" and summary["s3SseKmsKeyId"] is None
    assert summary["manifestFilesS3Key"] == f"{folder}/manifest-files.json"
    assert summary["itemCount"] == done["ItemCount"] == 3
    assert summary["billedSizeBytes"] == done["BilledSizeBytes"] > 0

    assert len(entries) == 4  # one file per partition, empty ones included
    for entry in entries:
        assert re.fullmatch(rf"{folder}/data/[a-z0-9]{{26}}\.json\.gz", entry["dataFileS3Key"])
        body = get_bytes(s3, entry["dataFileS3Key"])
        assert entry["md5Checksum"] == base64.b64encode(hashlib.md5(body).digest()).decode()
        assert entry["etag"] == hashlib.md5(body).hexdigest()
        assert entry["itemCount"] == len(gzip.decompress(body).splitlines())
    assert sum(e["itemCount"] for e in entries) == 3
    assert all(list(line) == ["Item"] for line in lines)
    assert sorted((line["Item"] for line in lines), key=lambda i: i["pk"]["S"]) == [
        {"pk": {"S": "a"}, "v": {"N": "2"}},
        {"pk": {"S": "c"}, "v": {"S": "x"}, "l": {"L": [{"BOOL": True}, {"NULL": True}]}},
        {"pk": {"S": "e"}, "v": {"N": "5"}}]


def test_every_write_operation_is_tracked(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    name = table["name"]
    emu.set_time(base + 10)
    ddb.batch_write_item(RequestItems={name: [
        {"PutRequest": {"Item": {"pk": {"S": "x"}, "v": {"N": "1"}}}},
        {"PutRequest": {"Item": {"pk": {"S": "y"}, "v": {"N": "1"}}}},
        {"PutRequest": {"Item": {"pk": {"S": "w"}, "v": {"N": "1"}}}}]})
    emu.set_time(base + 20)
    ddb.batch_write_item(RequestItems={name: [{"DeleteRequest": {"Key": {"pk": {"S": "y"}}}}]})
    emu.set_time(base + 30)
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": name, "Item": {"pk": {"S": "z"}, "v": {"N": "3"}}}},
        {"Update": {"TableName": name, "Key": {"pk": {"S": "x"}}, "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"N": "9"}}}},
        {"Delete": {"TableName": name, "Key": {"pk": {"S": "w"}}}}])

    # Other operations reach moto untouched.
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "x"}})["Item"]["v"] == {"N": "9"}
    scanned = ddb.scan(TableName=name, ConsistentRead=True)["Items"]

    emu.set_time(base + 40)
    done = finish(emu, ddb, start_export(ddb, table))  # ExportTime omitted: now
    _, _, lines = read_lines(s3, done["ExportManifest"])
    key = lambda item: item["pk"]["S"]  # noqa: E731
    assert sorted((line["Item"] for line in lines), key=key) == sorted(scanned, key=key)
    assert [key(i) for i in sorted(scanned, key=key)] == ["x", "z"]

    counts = emu.control("/_emulator/state")["counts"]
    assert counts["writes"] >= 7 and counts["keys"] >= 4


# --- incremental export ----------------------------------------------------------


def write_window_scenario(emu, ddb, table, base: int) -> tuple[int, int]:
    """Writes around a 30-minute window [start, end); returns the window."""
    start, end = base + HOUR, base + HOUR + 30 * MIN
    name = table["name"]
    steps = [(base + 10, lambda: put(ddb, table, "stay", v={"N": "1"})),
             (base + 20, lambda: put(ddb, table, "upd", v={"N": "0"})),
             (base + 40, lambda: put(ddb, table, "upd", v={"N": "1"})),
             (base + 30, lambda: put(ddb, table, "del", v={"N": "1"})),
             (start, lambda: put(ddb, table, "ins", v={"N": "1"})),  # window start is inclusive
             (start + 50, lambda: put(ddb, table, "ins", v={"N": "2"})),
             (start + 60, lambda: ddb.update_item(
                 TableName=name, Key={"pk": {"S": "upd"}}, UpdateExpression="SET v = :v, w = :w",
                 ExpressionAttributeValues={":v": {"N": "2"}, ":w": {"S": "x"}})),
             (start + 70, lambda: ddb.delete_item(TableName=name, Key={"pk": {"S": "del"}})),
             (start + 80, lambda: put(ddb, table, "tmp", v={"N": "1"})),
             (start + 90, lambda: ddb.delete_item(TableName=name, Key={"pk": {"S": "tmp"}})),
             (end, lambda: put(ddb, table, "late", v={"N": "1"})),  # window end is exclusive
             (end, lambda: put(ddb, table, "upd", v={"N": "3"}))]
    for moment, write in sorted(steps, key=lambda step: step[0]):
        emu.set_time(moment)
        write()
    emu.set_time(end + LAG)
    return start, end


@pytest.mark.parametrize("view", ["NEW_AND_OLD_IMAGES", "NEW_IMAGE"])
def test_incremental_export_shapes(emu, ddb, s3, view):
    base = emu.fresh_base()
    table = new_table(ddb)
    start, end = write_window_scenario(emu, ddb, table, base)

    started = start_export(ddb, table, prefix="exports/inc", **incremental_spec(start, end, view))
    assert "ExportTime" not in started
    spec = started["IncrementalExportSpecification"]
    assert (epoch(spec["ExportFromTime"]), epoch(spec["ExportToTime"]), spec["ExportViewType"]) == (start, end, view)
    done = finish(emu, ddb, started)
    assert done["ExportStatus"] == "COMPLETED"

    summary, entries, lines = read_lines(s3, done["ExportManifest"])
    assert summary["version"] == "2023-08-01"
    assert "exportTime" not in summary
    assert list(summary)[6:8] == ["exportFromTime", "exportToTime"]
    assert list(summary)[-3:] == ["outputFormat", "outputView", "exportType"]
    assert (summary["outputView"], summary["exportType"]) == (view, "INCREMENTAL_EXPORT")
    assert summary["billedSizeBytes"] >= 10_000_000
    assert summary["itemCount"] == done["ItemCount"] == 3
    for entry in entries:  # the data folder is shared by all incremental exports
        assert re.fullmatch(r"exports/inc/AWSDynamoDB/data/[a-z0-9]{26}\.json\.gz", entry["dataFileS3Key"])

    changes = {line["Keys"]["pk"]["S"]: line for line in lines}
    assert set(changes) == {"ins", "upd", "del"}
    micros = lambda seconds: {"N": str(seconds * 1_000_000)}  # noqa: E731
    assert changes["ins"] == {"Metadata": {"WriteTimestampMicros": micros(start + 50)},
                              "Keys": {"pk": {"S": "ins"}},
                              "NewImage": {"pk": {"S": "ins"}, "v": {"N": "2"}}}
    old_upd = {"pk": {"S": "upd"}, "v": {"N": "1"}}
    new_upd = {"pk": {"S": "upd"}, "v": {"N": "2"}, "w": {"S": "x"}}
    deleted = {"pk": {"S": "del"}, "v": {"N": "1"}}
    if view == "NEW_AND_OLD_IMAGES":
        assert changes["upd"] == {"Metadata": {"WriteTimestampMicros": micros(start + 60)},
                                  "Keys": {"pk": {"S": "upd"}}, "OldImage": old_upd, "NewImage": new_upd}
        assert changes["del"] == {"Metadata": {"WriteTimestampMicros": micros(start + 70)},
                                  "Keys": {"pk": {"S": "del"}}, "OldImage": deleted}
    else:
        assert changes["upd"] == {"Metadata": {"WriteTimestampMicros": micros(start + 60)},
                                  "Keys": {"pk": {"S": "upd"}}, "NewImage": new_upd}
        assert changes["del"] == {"Metadata": {"WriteTimestampMicros": micros(start + 70)},
                                  "Keys": {"pk": {"S": "del"}}}
    assert [list(line) for line in lines if line["Keys"]["pk"]["S"] == "upd"][0][:2] == ["Metadata", "Keys"]


def test_incremental_without_prefix_uses_bucket_root(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + 60)
    put(ddb, table, "a", v={"N": "1"})
    emu.set_time(base + HOUR)
    started = start_export(ddb, table, prefix=None, ExportType="INCREMENTAL_EXPORT",
                           IncrementalExportSpecification={"ExportFromTime": base})
    spec = started["IncrementalExportSpecification"]  # defaults: latest restorable time, both images
    assert (epoch(spec["ExportToTime"]), spec["ExportViewType"]) == (base + HOUR - LAG, "NEW_AND_OLD_IMAGES")
    done = finish(emu, ddb, started)
    assert done["ExportManifest"].startswith("AWSDynamoDB/")
    summary, entries, lines = read_lines(s3, done["ExportManifest"])
    assert summary["s3Prefix"] is None
    assert all(e["dataFileS3Key"].startswith("AWSDynamoDB/data/") for e in entries)
    assert [line["NewImage"] for line in lines] == [{"pk": {"S": "a"}, "v": {"N": "1"}}]


def test_numbers_are_normalised(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb, sort_key="sk")
    item = {"pk": {"S": "n"}, "sk": {"N": "1.5E2"},
            "half": {"N": "0.50"}, "negzero": {"N": "-0"}, "plus": {"N": "+7"},
            "hundred": {"N": "100"}, "tiny": {"N": "1E-5"}, "neg": {"N": "-12.3400"},
            "digits38": {"N": "1234567890.1234567890123456789012345678"},
            "set": {"NS": ["1.0", "2E1"]}, "bin": {"B": b"\x00\x01"},
            "nested": {"M": {"x": {"N": "3.00"}, "l": {"L": [{"N": "4.0"}, {"S": "1.0"}]}}}}
    emu.set_time(base + 10)
    ddb.put_item(TableName=table["name"], Item=item)
    emu.set_time(base + HOUR)

    full = finish(emu, ddb, start_export(ddb, table, ExportTime=base + 10))
    _, _, lines = read_lines(s3, full["ExportManifest"])
    exported = lines[0]["Item"]
    assert exported["sk"] == {"N": "150"}
    assert exported["half"] == {"N": "0.5"}
    assert exported["negzero"] == {"N": "0"}
    assert exported["plus"] == {"N": "7"}
    assert exported["hundred"] == {"N": "100"}
    assert exported["tiny"] == {"N": "0.00001"}
    assert exported["neg"] == {"N": "-12.34"}
    assert exported["digits38"] == {"N": "1234567890.1234567890123456789012345678"}
    assert sorted(exported["set"]["NS"]) == ["1", "20"]
    assert exported["bin"] == {"B": "AAE="}
    assert exported["nested"] == {"M": {"x": {"N": "3"}, "l": {"L": [{"N": "4"}, {"S": "1.0"}]}}}

    emu.set_time(base + HOUR + EXPORT_SECONDS + 1)
    incremental = finish(emu, ddb, start_export(ddb, table, **incremental_spec(base, base + 15 * MIN)))
    _, _, lines = read_lines(s3, incremental["ExportManifest"])
    assert lines[0]["Keys"] == {"pk": {"S": "n"}, "sk": {"N": "150"}}
    assert lines[0]["NewImage"] == exported



# --- the service's errors -------------------------------------------------------


def test_export_errors(emu, ddb):
    base = emu.fresh_base()
    no_pitr = new_table(ddb, pitr=False)
    expect_error("PointInTimeRecoveryUnavailableException", start_export, ddb, no_pitr)

    table = new_table(ddb)
    emu.set_time(base + 26 * HOUR)
    now = base + 26 * HOUR
    latest = now - LAG
    expect_error("InvalidExportTimeException", start_export, ddb, table,
                 **incremental_spec(base, base + 15 * MIN - 1), match="at least 15 minutes")
    expect_error("InvalidExportTimeException", start_export, ddb, table,
                 **incremental_spec(base, base + 24 * HOUR + 1), match="at most 24 hours")
    expect_error("InvalidExportTimeException", start_export, ddb, table,
                 **incremental_spec(latest - HOUR, latest + 1), match="LatestRestorableDateTime")
    expect_error("InvalidExportTimeException", start_export, ddb, table,
                 **incremental_spec(base - 1, base + HOUR), match="EarliestRestorableDateTime")
    expect_error("InvalidExportTimeException", start_export, ddb, table, ExportTime=latest + 1)
    expect_error("ValidationException", start_export, ddb, table, ExportFormat="ION", match="ION")

    missing = {"arn": table["arn"].rsplit("/", 1)[0] + "/no-such-table"}
    expect_error("TableNotFoundException", start_export, ddb, missing)
    expect_error("ExportNotFoundException", ddb.describe_export,
                 ExportArn=table["arn"] + "/export/01700000000000-deadbeef")

    # The edges themselves are accepted.
    assert start_export(ddb, table, **incremental_spec(latest - 24 * HOUR, latest))["ExportStatus"] == "IN_PROGRESS"
    assert start_export(ddb, table, ExportTime=latest)["ExportStatus"] == "IN_PROGRESS"


def test_client_token_idempotency_and_conflict(emu, ddb):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + HOUR)
    token = f"token-{table['name']}"
    first = start_export(ddb, table, ClientToken=token, ExportTime=base + 60)
    again = start_export(ddb, table, ClientToken=token, ExportTime=base + 60)
    assert again["ExportArn"] == first["ExportArn"] and again["ClientToken"] == token
    expect_error("ExportConflictException", start_export, ddb, table, prefix="elsewhere",
                 ClientToken=token, ExportTime=base + 60)

    done = finish(emu, ddb, first)
    emu.set_time(epoch(done["EndTime"]) + 8 * HOUR - 1)
    retried = start_export(ddb, table, ClientToken=token, ExportTime=base + 60)
    assert (retried["ExportArn"], retried["ExportStatus"]) == (first["ExportArn"], "COMPLETED")

    emu.set_time(epoch(done["EndTime"]) + 8 * HOUR + 1)
    fresh = start_export(ddb, table, ClientToken=token, ExportTime=base + 60)
    assert fresh["ExportArn"] != first["ExportArn"] and fresh["ExportStatus"] == "IN_PROGRESS"


def test_limit_of_exports_in_progress(moto_url, tmp_path_factory):
    emulator = start_emulator(moto_url, tmp_path_factory, "--max-in-progress", "1")
    try:
        ddb = client("dynamodb", emulator.url)
        ensure_bucket(client("s3", moto_url))
        base = emulator.fresh_base()
        table = new_table(ddb)
        emulator.set_time(base + HOUR)
        first = start_export(ddb, table)
        expect_error("LimitExceededException", start_export, ddb, table)
        emulator.set_time(epoch(first["StartTime"]) + EXPORT_SECONDS)
        assert start_export(ddb, table)["ExportStatus"] == "IN_PROGRESS"
    finally:
        emulator.stop()


# --- progress, faults, control -----------------------------------------------------


def test_export_is_in_progress_until_its_duration_passes(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + HOUR)
    started = start_export(ddb, table, prefix="progress")
    arn = started["ExportArn"]
    emu.set_time(base + HOUR + EXPORT_SECONDS - 1)
    described = ddb.describe_export(ExportArn=arn)["ExportDescription"]
    assert described["ExportStatus"] == "IN_PROGRESS"
    assert "ExportManifest" not in described and "EndTime" not in described
    folder = f"progress/AWSDynamoDB/{arn.rsplit('/', 1)[1]}/"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=folder)["Contents"]] == [folder + "_started"]
    emu.set_time(base + HOUR + EXPORT_SECONDS)
    assert ddb.describe_export(ExportArn=arn)["ExportDescription"]["ExportStatus"] == "COMPLETED"

    emu.control("/_emulator/faults", {"export_seconds": 10, "hidden_seconds": 5})
    quick = start_export(ddb, table)
    expect_error("ExportNotFoundException", ddb.describe_export, ExportArn=quick["ExportArn"])
    listed = ddb.list_exports(TableArn=table["arn"])["ExportSummaries"]
    assert quick["ExportArn"] not in [s["ExportArn"] for s in listed]
    emu.set_time(base + HOUR + EXPORT_SECONDS + 5)
    assert ddb.describe_export(ExportArn=quick["ExportArn"])["ExportDescription"]["ExportStatus"] == "IN_PROGRESS"
    emu.set_time(base + HOUR + EXPORT_SECONDS + 10)
    assert ddb.describe_export(ExportArn=quick["ExportArn"])["ExportDescription"]["ExportStatus"] == "COMPLETED"


def test_list_exports_filters_by_table(emu, ddb):
    base = emu.fresh_base()
    one, two = new_table(ddb), new_table(ddb)
    emu.set_time(base + HOUR)
    first = start_export(ddb, one)
    second = start_export(ddb, two, **incremental_spec(base, base + 30 * MIN))
    summaries = ddb.list_exports(TableArn=two["arn"])["ExportSummaries"]
    assert summaries == [{"ExportArn": second["ExportArn"], "ExportStatus": "IN_PROGRESS",
                          "ExportType": "INCREMENTAL_EXPORT"}]
    finish(emu, ddb, first)
    listed = {s["ExportArn"]: s for s in ddb.list_exports(TableArn=one["arn"])["ExportSummaries"]}
    assert listed[first["ExportArn"]]["ExportStatus"] == "COMPLETED"
    assert len(listed) == 1


def test_injected_failure_and_missing_bucket(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + HOUR)
    emu.control("/_emulator/faults", {"fail_next_export": "S3AccessDenied"})
    failing = start_export(ddb, table, prefix="failing")
    assert failing["ExportStatus"] == "IN_PROGRESS"
    failed = finish(emu, ddb, failing)
    assert failed["ExportStatus"] == "FAILED"
    assert failed["FailureCode"] == "S3AccessDenied" and failed["FailureMessage"]
    assert "ExportManifest" not in failed and "EndTime" in failed
    assert emu.control("/_emulator/state")["faults"]["fail_next_export"] is None  # used once

    late_bucket = f"late-{table['name']}"
    started = ddb.export_table_to_point_in_time(TableArn=table["arn"], S3Bucket=late_bucket)["ExportDescription"]
    assert started["ExportStatus"] == "IN_PROGRESS"
    s3.create_bucket(Bucket=late_bucket)  # too late: the bucket was missing at the start
    failed = finish(emu, ddb, started)
    assert (failed["ExportStatus"], failed["FailureCode"]) == ("FAILED", "S3NoSuchBucket")

    assert finish(emu, ddb, start_export(ddb, table))["ExportStatus"] == "COMPLETED"


def test_throttling_injection(emu, ddb):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + HOUR)
    emu.control("/_emulator/faults", {"throttle_next": 2})
    expect_error("ThrottlingException", ddb.list_exports)
    expect_error("ThrottlingException", start_export, ddb, table)
    assert start_export(ddb, table)["ExportStatus"] == "IN_PROGRESS"
    assert emu.control("/_emulator/state")["faults"]["throttle_next"] == 0


def test_reset_clears_faults(emu, ddb):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + HOUR)
    faults = emu.control("/_emulator/faults", {"fail_next_export": "S3NoSuchBucket", "throttle_next": 3,
                                               "export_seconds": 1})
    assert faults["throttle_next"] == 3
    assert emu.control("/_emulator/reset", {}) == {"fail_next_export": None, "throttle_next": 0,
                                                   "export_seconds": EXPORT_SECONDS, "hidden_seconds": 0,
                                                   "export_durations": None, "invalid_export_time_next": 0,
                                                   "lose_response_next": {}, "clock_skew_seconds": 0}
    assert finish(emu, ddb, start_export(ddb, table))["ExportStatus"] == "COMPLETED"
    state = emu.control("/_emulator/state")
    assert state["pitr"][table["arn"]]["enabled"] is True
    assert state["counts"]["exports"]["COMPLETED"] >= 1
