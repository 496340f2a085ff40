"""The journal (what the service really did) and the emulator as a proxy for
every service: exports with their calls, SSM, SNS, SQS and S3 through the
emulator, and full exports started by hand under another prefix.
"""
from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request

from harness import (BUCKET, EXPORT_SECONDS, HOUR, LAG, REGION, client, epoch, expect_error, finish,
                     get_bytes, incremental_spec, new_table, put, read_lines, start_export)


def entries_for(journal: dict, kind: str, **match) -> list[dict]:
    return [e for e in journal[kind] if all(e.get(k) == v for k, v in match.items())]


# --- exports and export calls ---------------------------------------------------


def test_journal_records_exports_and_every_export_call(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + HOUR)
    token = f"journal-{table['name']}"
    first = start_export(ddb, table, prefix="journal", ClientToken=token, ExportTime=base + 60)
    again = start_export(ddb, table, prefix="journal", ClientToken=token, ExportTime=base + 60)
    assert again["ExportArn"] == first["ExportArn"]
    expect_error("InvalidExportTimeException", start_export, ddb, table, ExportTime=base + HOUR)
    emu.control("/_emulator/faults", {"throttle_next": 1})
    expect_error("ThrottlingException", start_export, ddb, table)
    incremental = start_export(ddb, table, prefix="journal", **incremental_spec(base, base + 30 * 60, "NEW_IMAGE"))
    emu.control("/_emulator/faults", {"fail_next_export": "S3AccessDenied"})
    failing = start_export(ddb, table, prefix="journal")
    finish(emu, ddb, failing)  # the last one started: all three are over

    journal = emu.journal()
    exports = {e["ExportArn"]: e for e in entries_for(journal, "exports", TableArn=table["arn"])}
    assert list(exports) == [first["ExportArn"], incremental["ExportArn"], failing["ExportArn"]]
    assert exports[first["ExportArn"]] == {
        "ExportArn": first["ExportArn"], "ClientToken": token, "TableArn": table["arn"],
        "ExportType": "FULL_EXPORT", "ExportTime": base + 60, "ExportFromTime": None, "ExportToTime": None,
        "ExportViewType": None, "S3Bucket": BUCKET, "S3Prefix": "journal", "ExportStatus": "COMPLETED",
        "StartTime": base + HOUR, "EndTime": base + HOUR + EXPORT_SECONDS, "FailureCode": None,
        "DurationSeconds": EXPORT_SECONDS, "VisibleFrom": base + HOUR, "AccessKeyId": "testing",
        "RepeatCalls": 1}
    inc = exports[incremental["ExportArn"]]
    assert (inc["ExportType"], inc["ExportTime"], inc["ExportFromTime"], inc["ExportToTime"],
            inc["ExportViewType"], inc["RepeatCalls"]) == (
        "INCREMENTAL_EXPORT", None, base, base + 30 * 60, "NEW_IMAGE", 0)
    assert inc["ClientToken"] == incremental["ClientToken"]  # made up by the SDK
    failed = exports[failing["ExportArn"]]
    assert (failed["ExportStatus"], failed["FailureCode"]) == ("FAILED", "S3AccessDenied")

    calls = entries_for(journal, "export_calls", TableArn=table["arn"])
    assert [(c["Outcome"], c["ExportArn"], c["ErrorCode"], c["Injected"]) for c in calls] == [
        ("started", first["ExportArn"], None, False),
        ("repeat", first["ExportArn"], None, False),
        ("refused", None, "InvalidExportTimeException", False),
        ("refused", None, "ThrottlingException", True),
        ("started", incremental["ExportArn"], None, False),
        ("started", failing["ExportArn"], None, False)]
    assert [c["ClientToken"] for c in calls[:2]] == [token, token]
    assert all(c["Time"] == base + HOUR and c["AccessKeyId"] == "testing" and not c["ResponseLost"]
               for c in calls)
    counts = journal["counts"]
    assert counts["refused_calls"] >= 2 and counts["injected_refusals"] >= 1 and counts["repeat_calls"] >= 1
    assert journal["now"] == journal["service_now"] == base + HOUR + EXPORT_SECONDS


def test_full_export_by_hand_lands_under_its_own_prefix(emu, ddb, s3):
    base = emu.fresh_base()
    table = new_table(ddb)
    for offset, pk in ((10, "a"), (20, "b"), (30, "c")):
        emu.set_time(base + offset)
        put(ddb, table, pk, v={"N": str(offset)})
    emu.set_time(base + HOUR)
    product = start_export(ddb, table, prefix="exports", ExportTime=base + 30)
    operator = client("dynamodb", emu.url, access_key="operator")
    by_hand = start_export(operator, table, prefix="migration/by-hand", ExportTime=base + 30)
    product, by_hand = finish(emu, ddb, product), finish(emu, operator, by_hand)

    hand_id = by_hand["ExportArn"].rsplit("/", 1)[1]
    assert by_hand["ExportManifest"] == f"migration/by-hand/AWSDynamoDB/{hand_id}/manifest-summary.json"
    summary, entries, lines = read_lines(s3, by_hand["ExportManifest"])
    assert summary["s3Prefix"] == "migration/by-hand" and summary["exportArn"] == by_hand["ExportArn"]
    assert all(e["dataFileS3Key"].startswith(f"migration/by-hand/AWSDynamoDB/{hand_id}/data/") for e in entries)
    _, _, product_lines = read_lines(s3, product["ExportManifest"])
    key = lambda line: line["Item"]["pk"]["S"]  # noqa: E731
    assert sorted(lines, key=key) == sorted(product_lines, key=key) and len(lines) == 3
    under_product = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="exports/")["Contents"]]
    assert not any(hand_id in k for k in under_product)
    assert json.loads(get_bytes(s3, by_hand["ExportManifest"]))["itemCount"] == 3

    journal = {e["ExportArn"]: e for e in emu.journal()["exports"]}
    assert journal[by_hand["ExportArn"]]["AccessKeyId"] == "operator"
    assert journal[by_hand["ExportArn"]]["S3Prefix"] == "migration/by-hand"
    assert journal[product["ExportArn"]]["S3Prefix"] == "exports"


# --- every service through the emulator -------------------------------------------


def query_call(url: str, service: str, access_key: str, params: dict) -> bytes:
    """A query-protocol request (form-encoded Action), as older SDKs send SQS."""
    request = urllib.request.Request(url + "/", data=urllib.parse.urlencode(params).encode(), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/20240101/{REGION}/{service}/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def test_every_service_works_through_the_emulator_and_changes_are_journaled(emu):
    base = emu.fresh_base()
    key = f"proxy-{base}"
    ssm, sns, sqs, s3 = (client(name, emu.url, access_key=key) for name in ("ssm", "sns", "sqs", "s3"))
    name = f"/incx/{base}/action"

    emu.set_time(base + 1)
    assert ssm.put_parameter(Name=name, Value="run", Type="String")["Version"] == 1
    emu.set_time(base + 2)
    assert ssm.put_parameter(Name=name, Value="pause", Type="String", Overwrite=True)["Version"] == 2
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "pause"
    expect_error("ParameterAlreadyExists", ssm.put_parameter, Name=name, Value="x", Type="String")
    ssm.delete_parameter(Name=name)
    ssm.put_parameter(Name=name + "2", Value="v", Type="String")
    ssm.delete_parameters(Names=[name + "2", name + "-missing"])

    topic = sns.create_topic(Name=f"notify-{base}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"notified-{base}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    emu.set_time(base + 3)
    published = sns.publish(TopicArn=topic, Message='{"status": "done", "text": "a+b & c"}', Subject="export",
                            MessageAttributes={"kind": {"DataType": "String", "StringValue": "export-done"}})
    delivered = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"]
    assert delivered[0]["Body"] == '{"status": "done", "text": "a+b & c"}'
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=delivered[0]["ReceiptHandle"])

    sqs.send_message(QueueUrl=queue, MessageBody="json protocol")
    answer = query_call(emu.url, "sqs", key, {"Action": "SendMessage", "QueueUrl": queue,
                                              "MessageBody": "query protocol", "Version": "2012-11-05"})
    assert re.search(rb"<MessageId>[^<]+</MessageId>", answer)
    bodies = set()
    for _ in range(5):
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            bodies.add(message["Body"])
        if len(bodies) == 2:
            break
    assert bodies == {"json protocol", "query protocol"}

    bucket = f"proxied-{base}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir/object.bin", Body=b"\x00payload" * 1000)
    assert s3.get_object(Bucket=bucket, Key="dir/object.bin")["Body"].read() == b"\x00payload" * 1000
    assert s3.head_object(Bucket=bucket, Key="dir/object.bin")["ContentLength"] == 8000
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="dir/")["Contents"]] == ["dir/object.bin"]

    journal = emu.journal()
    assert entries_for(journal, "sns_publish", AccessKeyId=key) == [{
        "TopicArn": topic, "Subject": "export", "Message": '{"status": "done", "text": "a+b & c"}',
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "export-done"}},
        "Status": 200, "MessageId": published["MessageId"], "ErrorCode": None, "ResponseLost": False,
        "AccessKeyId": key, "Time": base + 3}]
    ssm_calls = entries_for(journal, "ssm", AccessKeyId=key)
    assert [(c["Operation"], c.get("Name"), c.get("Value"), c.get("Overwrite"), c.get("Version"), c["Status"],
             c["ErrorCode"]) for c in ssm_calls] == [
        ("PutParameter", name, "run", False, 1, 200, None),
        ("PutParameter", name, "pause", True, 2, 200, None),
        ("PutParameter", name, "x", False, None, 400, "ParameterAlreadyExists"),
        ("DeleteParameter", name, None, None, None, 200, None),
        ("PutParameter", name + "2", "v", False, 1, 200, None),
        ("DeleteParameters", None, None, None, None, 200, None)]
    assert [c["Time"] for c in ssm_calls[:2]] == [base + 1, base + 2]
    assert ssm_calls[0]["Type"] == "String"
    assert (ssm_calls[-1]["Names"], ssm_calls[-1]["DeletedParameters"], ssm_calls[-1]["InvalidParameters"]) == (
        [name + "2", name + "-missing"], [name + "2"], [name + "-missing"])


def test_product_style_clients_with_one_endpoint(emu, ddb, s3):
    """The functions get AWS_ENDPOINT_URL = the emulator for every service."""
    base = emu.fresh_base()
    table = new_table(ddb)
    emu.set_time(base + 10)
    put(ddb, table, "a", v={"N": "1"})
    emu.set_time(base + HOUR)
    pitr = ddb.describe_continuous_backups(TableName=table["name"])["ContinuousBackupsDescription"]
    assert epoch(pitr["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"]) == base + HOUR - LAG
    through_emulator = client("s3", emu.url)
    done = finish(emu, ddb, start_export(ddb, table, prefix="one-endpoint"))
    summary, _, lines = read_lines(through_emulator, done["ExportManifest"])
    assert summary["itemCount"] == 1 and lines == [{"Item": {"pk": {"S": "a"}, "v": {"N": "1"}}}]


def test_every_call_is_counted_by_access_key_service_and_operation(emu, ddb):
    """What a client really asked of AWS, REST services included: the
    record an IAM policy is held to."""
    base = emu.fresh_base()
    key = f"counted-{base}"
    ssm, s3, dynamodb = (client(name, emu.url, access_key=key) for name in ("ssm", "s3", "dynamodb"))
    scheduler = client("scheduler", emu.url, access_key=key)
    table = new_table(ddb)
    ssm.put_parameter(Name=f"/incx/{base}/counted", Value="RUN", Type="String")
    ssm.get_parameter(Name=f"/incx/{base}/counted")
    ssm.get_parameter(Name=f"/incx/{base}/counted")
    bucket = f"counted-{base}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/b.json", Body=b"{}")
    s3.get_object(Bucket=bucket, Key="a/b.json")["Body"].read()
    s3.list_objects_v2(Bucket=bucket, Prefix="a/")
    dynamodb.describe_continuous_backups(TableName=table["name"])  # answered by the emulator itself
    expect_error("ResourceNotFoundException", scheduler.get_schedule, Name=f"none-{base}")

    counted = {(c["Service"], c["Operation"]): c["Count"] for c in emu.journal()["calls"] if c["AccessKeyId"] == key}
    assert counted == {
        ("ssm", "PutParameter"): 1, ("ssm", "GetParameter"): 2,
        ("s3", "CreateBucket"): 1, ("s3", "PutObject"): 1, ("s3", "GetObject"): 1, ("s3", "ListObjectsV2"): 1,
        ("dynamodb", "DescribeContinuousBackups"): 1, ("scheduler", "GetSchedule"): 1,
    }, counted
