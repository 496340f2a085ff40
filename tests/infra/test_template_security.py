"""Security settings of the SAM template and the state machine definition:
encryption, TLS-only access, public access blocks, access logging, retention,
timeouts and concurrency. (What they come to for given parameter values, a
reused bucket among them: test_template_deploy.py.)

Run: python3 -m pytest -q tests/infra
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
ASL = ROOT / "statemachine" / "export.asl.json"
ASLS = [ASL, ROOT / "statemachine" / "audit.asl.json"]

def load_template(path: Path = TEMPLATE) -> dict:
    """The template with CloudFormation short tags in their long forms."""
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(path))


@pytest.fixture(scope="module")
def t():
    return load_template()


def of_type(t, rtype):
    return {k: v for k, v in t["Resources"].items() if v.get("Type") == rtype}


def bucket_ref(v) -> str | None:
    """The bucket a Bucket property names: a Ref, or the created bucket's Ref
    of an `If [CreateBucket, Ref created, Ref DataExportBucketName]`."""
    if isinstance(v, dict) and "Fn::If" in v:
        v = v["Fn::If"][1]
    return v.get("Ref") if isinstance(v, dict) else None


def export_bucket_id(t) -> str:
    """The bucket the functions export to: DATA_EXPORT_BUCKET's Ref when the
    stack creates it."""
    v = t["Globals"]["Function"]["Environment"]["Variables"]["DATA_EXPORT_BUCKET"]
    _, created, _ = v["Fn::If"]
    return created["Ref"]


def log_bucket_id(t) -> str:
    return t["Resources"][export_bucket_id(t)]["Properties"]["LoggingConfiguration"][
        "DestinationBucketName"]["Ref"]


def bucket_policy_statements(t, bucket_id):
    out = []
    for p in of_type(t, "AWS::S3::BucketPolicy").values():
        if bucket_ref(p["Properties"]["Bucket"]) == bucket_id:
            out += p["Properties"]["PolicyDocument"]["Statement"]
    return out


def assert_public_access_blocked(bucket):
    pab = bucket["Properties"].get("PublicAccessBlockConfiguration", {})
    for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        assert pab.get(k) is True, k


def assert_retained(resource):
    assert resource.get("DeletionPolicy") == "Retain"
    assert resource.get("UpdateReplacePolicy") == "Retain"


# ---------------------------------------------------------- export bucket --


def test_export_bucket_is_sse_kms_with_a_stack_key(t):
    b = t["Resources"][export_bucket_id(t)]
    rules = b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules, "no encryption rule"
    for r in rules:
        d = r["ServerSideEncryptionByDefault"]
        assert d["SSEAlgorithm"] == "aws:kms"
        key = d.get("KMSMasterKeyID")
        assert key, "SSE-KMS with the AWS managed key; want a KMS key of the stack"
        key_id = key.get("Fn::GetAtt", [None])[0] or key.get("Ref")
        assert t["Resources"][key_id]["Type"] == "AWS::KMS::Key"


def test_export_bucket_denies_insecure_transport(t):
    bucket = export_bucket_id(t)
    denies = [
        s for s in bucket_policy_statements(t, bucket)
        if s["Effect"] == "Deny"
        and s.get("Principal") in ("*", {"AWS": "*"})
        and s["Action"] in ("s3:*", ["s3:*"])
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
    ]
    assert denies, "no Deny of aws:SecureTransport false"
    res = denies[0]["Resource"]
    res = res if isinstance(res, list) else [res]
    # ARNs built from the bucket's name: the stack's bucket, or the reused one.
    subs = {r["Fn::Sub"][0]: bucket_ref(r["Fn::Sub"][1]["Bucket"]) for r in res}
    assert subs.get("arn:${AWS::Partition}:s3:::${Bucket}") == bucket, "the bucket itself"
    assert subs.get("arn:${AWS::Partition}:s3:::${Bucket}/*") == bucket, "its objects"


def test_export_bucket_blocks_public_access(t):
    assert_public_access_blocked(t["Resources"][export_bucket_id(t)])


def test_export_bucket_logs_to_the_log_bucket(t):
    b = t["Resources"][export_bucket_id(t)]
    log = b["Properties"]["LoggingConfiguration"]
    assert t["Resources"][log["DestinationBucketName"]["Ref"]]["Type"] == "AWS::S3::Bucket"
    assert log["DestinationBucketName"]["Ref"] != export_bucket_id(t)


def test_export_bucket_is_retained(t):
    assert_retained(t["Resources"][export_bucket_id(t)])


def test_log_bucket_blocks_public_access_and_is_retained(t):
    b = t["Resources"][log_bucket_id(t)]
    assert_public_access_blocked(b)
    assert_retained(b)


# ------------------------------------------------------------ the rest --


def test_topic_is_encrypted_with_a_kms_key(t):
    topics = of_type(t, "AWS::SNS::Topic")
    assert topics
    for name, topic in topics.items():
        key = topic["Properties"].get("KmsMasterKeyId")
        assert key, name
        if isinstance(key, dict) and "Ref" in key:
            assert t["Resources"][key["Ref"]]["Type"] == "AWS::KMS::Key"


def test_every_log_group_has_a_retention(t):
    groups = of_type(t, "AWS::Logs::LogGroup")
    assert len(groups) >= 6  # five functions and the state machine
    for name, g in groups.items():
        assert g["Properties"].get("RetentionInDays"), name


def test_every_function_logs_to_a_log_group_of_the_stack(t):
    for name, f in of_type(t, "AWS::Serverless::Function").items():
        ref = f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert t["Resources"][ref]["Type"] == "AWS::Logs::LogGroup", name


def tasks_of(states):
    for n, s in states.items():
        if s["Type"] == "Task":
            yield n, s
        for b in s.get("Branches", []):
            yield from tasks_of(b["States"])
        for k in ("Iterator", "ItemProcessor"):
            if k in s:
                yield from tasks_of(s[k]["States"])


@pytest.mark.parametrize("asl_path", ASLS, ids=lambda p: p.name)
def test_state_machine_and_every_task_have_a_timeout(asl_path):
    asl = json.loads(asl_path.read_text())
    assert isinstance(asl.get("TimeoutSeconds"), int) and asl["TimeoutSeconds"] > 0

    found = list(tasks_of(asl["States"]))
    assert found
    for n, s in found:
        assert isinstance(s.get("TimeoutSeconds"), int) and s["TimeoutSeconds"] > 0, n
        assert s["TimeoutSeconds"] <= asl["TimeoutSeconds"], n


def function_setting(t, f, key):
    return f["Properties"].get(key, t.get("Globals", {}).get("Function", {}).get(key))


def test_every_function_has_a_timeout(t):
    functions = of_type(t, "AWS::Serverless::Function")
    assert len(functions) == 6  # the five, and the audit's (made with an AuditSchedule)
    for name, f in functions.items():
        timeout = function_setting(t, f, "Timeout")
        assert isinstance(timeout, int) and 0 < timeout <= 900, name


def test_reserved_concurrency_only_when_the_operator_asks(t):
    """No reservation by default: five would take from the account's
    unreserved concurrency (as low as 10 in a new account) and fail the
    deploy. The ReservedConcurrency parameter sets one when wanted."""
    for name, f in of_type(t, "AWS::Serverless::Function").items():
        reserved = function_setting(t, f, "ReservedConcurrentExecutions")
        assert reserved == {"Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"},
                                       {"Ref": "AWS::NoValue"}]}, name
    assert t["Parameters"]["ReservedConcurrency"]["Default"] == 0
    assert t["Conditions"]["HasReservedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, 0]}]}


def test_lambda_timeout_fits_the_task_timeout(t):
    """A function's timeout is within the Task timeout of every state that
    invokes it, so a Task never times out while its function still runs."""
    for sm in of_type(t, "AWS::Serverless::StateMachine").values():
        asl = json.loads((TEMPLATE.parent / sm["Properties"]["DefinitionUri"]).read_text())
        subs = sm["Properties"]["DefinitionSubstitutions"]
        for name, task in tasks_of(asl["States"]):
            placeholder = task["Resource"].strip("${}")
            target = subs[placeholder]["Fn::GetAtt"]
            fn_id = (target.split(".")[0] if isinstance(target, str) else target[0])
            f = t["Resources"][fn_id]
            assert function_setting(t, f, "Timeout") <= task["TimeoutSeconds"], (name, fn_id)


def test_kms_keys_rotate(t):
    keys = of_type(t, "AWS::KMS::Key")
    assert len(keys) >= 2
    for name, k in keys.items():
        assert k["Properties"].get("EnableKeyRotation") is True, name


def test_a_mutated_template_fails(tmp_path):
    """The checks read the template they are given."""
    text = TEMPLATE.read_text()
    old = "      EnableKeyRotation: true\n      PendingWindowInDays: 7\n"
    assert text.count(old) == 1
    p = tmp_path / "template.yaml"
    p.write_text(text.replace(old, "      EnableKeyRotation: false\n      PendingWindowInDays: 7\n"))
    with pytest.raises(AssertionError):
        test_kms_keys_rotate(load_template(p))
