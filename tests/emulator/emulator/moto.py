"""Talking to moto: who is calling (their credential scope), a plain HTTP
client for forwarding, the table catalog read from moto, and S3 writes."""
from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import urllib.parse
import uuid
from dataclasses import dataclass

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from .protocol import JSON_CONTENT_TYPE, TARGET_PREFIX, ApiError, error_type, json_bytes

# Credential=AKID/date/region/service/aws4_request
_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/[^/]*/([^/]+)/([^/]+)/")


def credential_service(headers) -> str | None:
    """The service a SigV4 request was signed for (`sns`, `ssm`, ...)."""
    match = _CREDENTIAL_RE.search(headers.get("Authorization", "") or "")
    return match.group(3) if match else None


@dataclass(frozen=True)
class Caller:
    """Access key and region of a request.

    moto picks its account and region backend from the Authorization header,
    so the emulator's own calls to moto reuse the caller's scope.
    """

    access_key: str
    region: str

    @classmethod
    def from_headers(cls, headers, default_region: str) -> "Caller":
        match = _CREDENTIAL_RE.search(headers.get("Authorization", "") or "")
        if match:
            return cls(match.group(1), match.group(2))
        return cls("testing", default_region)

    def in_region(self, region: str) -> "Caller":
        return Caller(self.access_key, region)

    def authorization(self) -> str:
        return (f"AWS4-HMAC-SHA256 Credential={self.access_key}/20200101/{self.region}"
                "/dynamodb/aws4_request, SignedHeaders=host, Signature=0")


class MotoClient:
    """Plain HTTP to moto: forwarding must not reinterpret anything."""

    def __init__(self, base_url: str):
        parts = urllib.parse.urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host, self.port = parts.hostname, parts.port or 80
        self._local = threading.local()

    def request(self, method: str, path: str, body: bytes | None, headers: dict):
        # One kept-alive connection per handler thread: a new connection per
        # request costs more than moto's own work on small writes.
        local = self._local
        for attempt in (1, 2):
            connection = getattr(local, "connection", None)
            if connection is None:
                connection = local.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
                connection.connect()
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                local.connection = None
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")

    def dynamodb(self, caller: Caller, operation: str, payload: dict) -> tuple[int, dict]:
        headers = {"X-Amz-Target": TARGET_PREFIX + operation,
                   "Content-Type": JSON_CONTENT_TYPE,
                   "Authorization": caller.authorization()}
        status, _, body = self.request("POST", "/", json_bytes(payload), headers)
        return status, json.loads(body or b"{}")


def table_name_of(value: str) -> str:
    """TableName may be a table ARN in newer API versions."""
    if isinstance(value, str) and value.startswith("arn:") and ":table/" in value:
        return value.split(":table/", 1)[1].split("/", 1)[0]
    return value


@dataclass(frozen=True)
class TableInfo:
    name: str
    arn: str
    table_id: str
    key_names: tuple[str, ...]

    def key_of(self, item: dict) -> dict:
        return {name: item[name] for name in self.key_names if name in item}


class TableCatalog:
    """DescribeTable results from moto, cached per caller scope and name."""

    def __init__(self, moto: MotoClient):
        self.moto = moto
        self._cache: dict[tuple, TableInfo] = {}
        self._ids: dict[str, str] = {}  # moto's DescribeTable has no TableId
        self._lock = threading.Lock()

    def lookup(self, caller: Caller, name: str) -> TableInfo | None:
        cache_key = (caller.access_key, caller.region, name)
        with self._lock:
            if cache_key in self._cache:
                return self._cache[cache_key]
        status, body = self.moto.dynamodb(caller, "DescribeTable", {"TableName": name})
        if status != 200:
            if error_type(body) == "ResourceNotFoundException":
                return None
            raise ApiError("InternalServerError", f"moto DescribeTable failed: {body}", 500)
        table = body["Table"]
        schema = sorted(table["KeySchema"], key=lambda k: k["KeyType"] != "HASH")
        with self._lock:
            table_id = table.get("TableId") or self._ids.setdefault(table["TableArn"], str(uuid.uuid4()))
            info = TableInfo(name, table["TableArn"], table_id, tuple(k["AttributeName"] for k in schema))
            self._cache[cache_key] = info
        return info

    def forget(self, caller: Caller, name: str, arn: str | None = None) -> None:
        with self._lock:
            self._cache.pop((caller.access_key, caller.region, name), None)
            if arn:
                self._ids.pop(arn, None)  # a re-created table gets a new id


class BucketMissing(Exception):
    pass


class S3Writer:
    """boto3 S3 clients pointed at moto, one per caller scope."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self._clients: dict[Caller, object] = {}
        self._lock = threading.Lock()

    def _client(self, caller: Caller):
        with self._lock:
            if caller not in self._clients:
                # A session per client: boto3's default session is not thread-safe.
                self._clients[caller] = boto3.session.Session().client(
                    "s3", endpoint_url=self.endpoint, region_name=caller.region,
                    aws_access_key_id=caller.access_key, aws_secret_access_key="emulator",
                    config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))
            return self._clients[caller]

    def put(self, caller: Caller, bucket: str, key: str, body: bytes) -> None:
        try:
            self._client(caller).put_object(Bucket=bucket, Key=key, Body=body)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                raise BucketMissing(bucket) from exc
            raise
