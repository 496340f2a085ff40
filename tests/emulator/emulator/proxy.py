"""Forwarded requests: which service and operation a request is (JSON
protocols name it in X-Amz-Target, query protocols in a form's Action, S3 in
nothing but its signature), what the journal keeps of the state-changing
ones, and the answer a client gets when its response is "lost"."""
from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from dataclasses import dataclass, field

from .moto import credential_service
from .protocol import ERROR_PREFIX, JSON_CONTENT_TYPE, TARGET_PREFIX, json_bytes

# X-Amz-Target prefixes of JSON-protocol services whose requests may be unsigned.
_TARGET_SERVICES = {"AmazonSSM": "ssm", "AmazonSQS": "sqs"}
SSM_WRITES = ("PutParameter", "DeleteParameter", "DeleteParameters")
LOST_MESSAGE = "We encountered an internal error. Please try again. (injected: the call took effect, its response was lost)"


@dataclass(frozen=True)
class Call:
    service: str | None  # as in the signature's scope: dynamodb, ssm, sns, sqs, s3, ...
    operation: str | None
    form: dict[str, str] = field(default_factory=dict, compare=False)  # query-protocol parameters


def classify(headers, body: bytes, path: str) -> Call:
    target = headers.get("X-Amz-Target", "") or ""
    signed_for = credential_service(headers)
    if target.startswith(TARGET_PREFIX):
        return Call("dynamodb", target[len(TARGET_PREFIX):])
    if "." in target:
        prefix, _, operation = target.rpartition(".")
        return Call(signed_for or _TARGET_SERVICES.get(prefix), operation)
    form: dict[str, str] = {}
    if (headers.get("Content-Type", "") or "").startswith("application/x-www-form-urlencoded"):
        form = _form(body.decode("utf-8", "replace"))
    if "Action" not in form:
        form = _form(urllib.parse.urlsplit(path).query) or form
    return Call(signed_for, form.get("Action"), form)


def rest_operation(service: str | None, method: str, path: str) -> str | None:
    """The operation of a REST call (S3, Scheduler), from its method and
    path: enough to name what a client did, not a full router."""
    split = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    parts = [p for p in split.path.split("/") if p]
    if service == "s3":
        if method == "GET" and "list-type" in query:
            return "ListObjectsV2"
        if len(parts) == 1:
            return {"GET": "ListObjects", "PUT": "CreateBucket", "HEAD": "HeadBucket",
                    "DELETE": "DeleteBucket"}.get(method)
        verbs = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}
        return verbs.get(method) if len(parts) > 1 else None
    if service == "scheduler" and parts[:1] == ["schedules"]:
        return {"GET": "GetSchedule" if len(parts) > 1 else "ListSchedules", "POST": "CreateSchedule",
                "PUT": "UpdateSchedule", "DELETE": "DeleteSchedule"}.get(method)
    return None


def _form(text: str) -> dict[str, str]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}


def journal_entry(call: Call, body: bytes, status: int, answer: bytes) -> tuple[str, dict] | None:
    """(journal kind, entry) for a call that changes state outside DynamoDB."""
    if call.service == "sns" and call.operation == "Publish":
        return "sns_publish", _publish_entry(call.form, status, answer)
    if call.service == "ssm" and call.operation in SSM_WRITES:
        return "ssm", _ssm_entry(call.operation, _json(body), status, _json(answer))
    return None


def _json(data: bytes) -> dict:
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _xml_text(tag: str, data: bytes) -> str | None:
    match = re.search(rb"<%s>([^<]*)</%s>" % (tag.encode(), tag.encode()), data)
    return match.group(1).decode() if match else None


def _publish_entry(form: dict[str, str], status: int, answer: bytes) -> dict:
    attributes = {}
    for name_key, name in form.items():
        match = re.fullmatch(r"MessageAttributes\.entry\.(\d+)\.Name", name_key)
        if match:
            prefix = f"MessageAttributes.entry.{match.group(1)}.Value."
            attributes[name] = {part: form[prefix + part] for part in ("DataType", "StringValue", "BinaryValue")
                                if prefix + part in form}
    return {"TopicArn": form.get("TopicArn") or form.get("TargetArn"), "Subject": form.get("Subject"),
            "Message": form.get("Message"), "MessageAttributes": attributes, "Status": status,
            "MessageId": _xml_text("MessageId", answer) if status == 200 else None,
            "ErrorCode": None if status == 200 else _xml_text("Code", answer)}


def _ssm_entry(operation: str, request: dict, status: int, answer: dict) -> dict:
    entry: dict = {"Operation": operation}
    if operation == "PutParameter":
        entry.update(Name=request.get("Name"), Value=request.get("Value"), Type=request.get("Type"),
                     Overwrite=bool(request.get("Overwrite", False)), Version=answer.get("Version"))
    elif operation == "DeleteParameter":
        entry["Name"] = request.get("Name")
    else:
        entry.update(Names=request.get("Names"), DeletedParameters=answer.get("DeletedParameters"),
                     InvalidParameters=answer.get("InvalidParameters"))
    error = None if status == 200 else str(answer.get("__type", "")).rsplit("#", 1)[-1] or None
    return dict(entry, Status=status, ErrorCode=error)


def lost_response(service: str) -> tuple[list[tuple[str, str]], bytes]:
    """Headers and body of an HTTP 500 in the service's protocol."""
    request_id = str(uuid.uuid4())
    if service == "sns":
        body = ('<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Receiver</Type>'
                f"<Code>InternalError</Code><Message>{LOST_MESSAGE}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        return [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
    body = json_bytes({"__type": ERROR_PREFIX + "InternalServerError", "message": LOST_MESSAGE})
    return [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-RequestId", request_id)], body
