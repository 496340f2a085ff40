"""Helpers shared by the emulator's tests: starting processes, boto3
clients, tables, exports and reading what an export wrote.

The fixtures built from them are in conftest.py.
"""
from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
EMULATOR = HERE / "export_emulator.py"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
EXPORT_SECONDS = 300
LAG = 300
BUCKET = "exports-bucket"
MIN = 60
HOUR = 3600


# --- processes -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Emulator:
    """One emulator process with its own clock file."""

    _bases = itertools.count(0)

    def __init__(self, moto: str, folder: Path, *extra: str):
        self.clock_file = folder / "clock"
        self.set_time(1_700_000_000)
        self.log_path = folder / "emulator.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, str(EMULATOR), "--port", "0", "--moto", moto,
             "--clock-file", str(self.clock_file), *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, start_new_session=True)
        self.url = self._read_listening_line()

    def _read_listening_line(self) -> str:
        ready, _, _ = select.select([self.process.stdout], [], [], 15)
        line = self.process.stdout.readline().decode() if ready else ""
        match = re.fullmatch(r"export-emulator listening on (http://\S+)\n", line)
        if not match:
            self.stop()
            raise RuntimeError(f"emulator did not start: {line!r}\n{self.log_path.read_text()}")
        return match.group(1)

    def stop(self) -> None:
        stop(self.process)
        self._log.close()

    def set_time(self, seconds: float) -> None:
        # Written atomically: the emulator reads the file on every request.
        scratch = self.clock_file.with_suffix(".tmp")
        scratch.write_text(repr(seconds))
        os.replace(scratch, self.clock_file)

    def fresh_base(self) -> int:
        """A new stretch of virtual time (ten days after the previous one)."""
        base = 1_700_000_000 + next(self._bases) * 10 * 86_400
        self.set_time(base)
        return base

    def journal(self) -> dict:
        return self.control("/_emulator/journal")

    def control(self, path: str, payload: dict | None = None) -> dict:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, data=data, method="GET" if data is None else "POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


def start_emulator(moto_url, tmp_path_factory, *extra):
    emulator = Emulator(moto_url, tmp_path_factory.mktemp("emulator"), *extra)
    return emulator


def client(service: str, url: str, access_key: str = CREDENTIALS["aws_access_key_id"]):
    # No retries: a test must see each error the emulator answers.
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=access_key,
                        aws_secret_access_key=CREDENTIALS["aws_secret_access_key"],
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                      s3={"addressing_style": "path"}))


def ensure_bucket(s3) -> None:
    try:
        s3.create_bucket(Bucket=BUCKET)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


_names = itertools.count(1)


def new_table(ddb, *, sort_key: str | None = None, pitr: bool = True) -> dict:
    """A fresh table (pk: S[, sort key: N]); PITR enabled at the current virtual time."""
    name = f"t{next(_names)}-{os.getpid()}"
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    if sort_key:
        schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
        attributes.append({"AttributeName": sort_key, "AttributeType": "N"})
    table = ddb.create_table(TableName=name, KeySchema=schema, AttributeDefinitions=attributes,
                             BillingMode="PAY_PER_REQUEST")["TableDescription"]
    if pitr:
        set_pitr(ddb, name, True)
    return {"name": name, "arn": table["TableArn"]}


def set_pitr(ddb, name: str, enabled: bool) -> dict:
    return ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled})


def pitr_description(ddb, name: str) -> dict:
    return ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]


def epoch(value) -> float:
    return value.timestamp()


def put(ddb, table, pk: str, **attrs) -> None:
    ddb.put_item(TableName=table["name"], Item={"pk": {"S": pk}, **attrs})


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


# --- exports -------------------------------------------------------------------


def start_export(ddb, table, prefix: str | None = "exports", **kwargs) -> dict:
    args = {"TableArn": table["arn"], "S3Bucket": BUCKET, **kwargs}
    if prefix:
        args["S3Prefix"] = prefix
    return ddb.export_table_to_point_in_time(**args)["ExportDescription"]


def incremental_spec(start: float, end: float, view: str = "NEW_AND_OLD_IMAGES") -> dict:
    return {"ExportType": "INCREMENTAL_EXPORT",
            "IncrementalExportSpecification": {"ExportFromTime": start, "ExportToTime": end,
                                               "ExportViewType": view}}


def finish(emu, ddb, description: dict) -> dict:
    """Advance virtual time past the export's duration and describe it."""
    emu.set_time(epoch(description["StartTime"]) + EXPORT_SECONDS)
    return ddb.describe_export(ExportArn=description["ExportArn"])["ExportDescription"]


def get_bytes(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def read_lines(s3, manifest_summary_key: str) -> tuple[dict, list[dict], list[dict]]:
    """(summary, manifest-files entries, data lines), found through the manifests only."""
    summary = json.loads(get_bytes(s3, manifest_summary_key))
    entries = [json.loads(line) for line in get_bytes(s3, summary["manifestFilesS3Key"]).splitlines()]
    lines = []
    for entry in entries:
        data = gzip.decompress(get_bytes(s3, entry["dataFileS3Key"]))
        lines += [json.loads(line) for line in data.splitlines()]
    return summary, entries, lines


def by_pk(lines: list[dict], image: str) -> dict:
    return {line[image]["pk"]["S"]: line for line in lines}

def expect_error(code: str, call, *args, match: str | None = None, **kwargs):
    with pytest.raises(ClientError) as excinfo:
        call(*args, **kwargs)
    assert error_code(excinfo) == code, excinfo.value.response
    if match:
        assert re.search(match, excinfo.value.response["Error"]["Message"]), excinfo.value.response
    return excinfo.value
