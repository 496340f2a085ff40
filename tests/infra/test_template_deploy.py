"""What the template deploys, for the parameter values an operator gives:
the template translated by SAM's own translator (as CloudFormation runs the
transform), its conditions and intrinsic functions evaluated
(tests/e2e/stack.py's Resolver), then read like a deployed stack.

- no reserved concurrency unless asked for;
- the exports' KMS key: the stack's own with the bucket it creates, the
  operator's with a reused bucket, and start-export may use exactly that key;
- the TLS-only bucket policy on a reused bucket too, and what the README says
  about access logging of a bucket the stack does not own;
- the environment variables the functions read beyond the shared ones;
- nothing the original sample leaves behind is created again;
- the scheduled audit's resources exist exactly when AuditSchedule is set.

Run: python3 -m pytest -q tests/infra/test_template_deploy.py
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import stack  # noqa: E402

README = (ROOT / "README.md").read_text(encoding="utf-8")
BASE = {
    "SourceDynamoDbTableName": "orders",
    "DeploymentAlias": "shop",
    "SuccessNotificationEmail": "ops@example.com",
    "FailureNotificationEmail": "ops-alerts@example.com",
}
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SAM = stack.load()


class Deployed:
    """The translated template with `parameters`, resolved: resources by
    logical id (conditions applied); a Ref to a bucket is its name and its
    Arn the bucket's ARN, any other Ref/GetAtt is left as "<Id>"/"<Id.Arn>"."""

    def __init__(self, parameters: dict[str, str], template: dict = SAM):
        self.params = stack.parameter_values(template, {**BASE, **parameters})
        self.cfn = stack.translate(stack.packaged(template, stack.TEMPLATE.parent), self.params)
        bare = stack.Resolver(self.cfn, self.params)

        def ref(lid: str) -> str:
            res = self.cfn["Resources"][lid]
            if res["Type"] == "AWS::S3::Bucket":
                return bare.value(res["Properties"]["BucketName"])
            return f"<{lid}>"

        def getatt(lid: str, att: str) -> str:
            if self.cfn["Resources"][lid]["Type"] == "AWS::S3::Bucket" and att == "Arn":
                return f"arn:aws:s3:::{ref(lid)}"
            return f"<{lid}.{att}>"

        self.r = stack.Resolver(self.cfn, self.params, ref=ref, getatt=getatt)

    def of_type(self, rtype: str) -> dict[str, dict]:
        return {lid: self.r.properties(lid) for lid in self.r.resources(rtype)}

    def function(self, binary: str) -> dict:
        (props,) = [self.r.properties(lid) for lid, res in self.r.resources("AWS::Lambda::Function").items()
                    if res["Metadata"]["BuildProperties"]["Binary"] == binary]
        return props

    def env(self, binary: str) -> dict:
        return self.function(binary)["Environment"]["Variables"]

    def statements(self, role: str) -> list[dict]:
        return [s for p in self.r.properties(role)["Policies"] for s in p["PolicyDocument"]["Statement"]]

    def grants(self, role: str, action: str) -> list:
        return [r for s in self.statements(role) if action in stack.as_list(s["Action"])
                for r in stack.as_list(s["Resource"])]


@pytest.fixture(scope="module")
def created():
    return Deployed({})


@pytest.fixture(scope="module")
def reused():
    return Deployed({"DataExportBucketName": "shop-data-export", "DataExportKmsKeyArn": KEY,
                     "DataExportBucketPrefix": "exports"})


@pytest.fixture(scope="module")
def reused_without_key():
    return Deployed({"DataExportBucketName": "their-bucket"})


# ------------------------------------------------------ reserved concurrency --


def test_no_reserved_concurrency_by_default(created):
    functions = created.of_type("AWS::Lambda::Function")
    assert len(functions) == 5
    for lid, props in functions.items():
        assert "ReservedConcurrentExecutions" not in props, lid


def test_reserved_concurrency_when_asked_for():
    for lid, props in Deployed({"ReservedConcurrency": "2"}).of_type("AWS::Lambda::Function").items():
        assert props.get("ReservedConcurrentExecutions") == "2", lid


# ------------------------------------------------------------ the export key --


def test_created_bucket_exports_under_the_stacks_key(created):
    bucket = created.r.properties("ExportBucket")
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "<ExportBucketKey.Arn>"}
    assert created.env("start-export")["EXPORT_KMS_KEY_ARN"] == "<ExportBucketKey.Arn>"
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert created.grants("StartExportRole", action) == ["<ExportBucketKey.Arn>"], action


def test_reused_bucket_exports_under_the_operators_key(reused):
    assert "ExportBucketKey" not in reused.r.resources()
    assert reused.env("start-export")["EXPORT_KMS_KEY_ARN"] == KEY
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert reused.grants("StartExportRole", action) == [KEY], action


def test_reused_bucket_without_a_key_names_none_and_grants_none(reused_without_key):
    d = reused_without_key
    assert d.env("start-export")["EXPORT_KMS_KEY_ARN"] == ""
    assert not any(a.startswith("kms:") for s in d.statements("StartExportRole") for a in stack.as_list(s["Action"]))


def test_the_key_parameter_is_ignored_when_the_stack_creates_the_bucket():
    d = Deployed({"DataExportKmsKeyArn": KEY})
    assert d.env("start-export")["EXPORT_KMS_KEY_ARN"] == "<ExportBucketKey.Arn>"
    assert d.grants("StartExportRole", "kms:GenerateDataKey") == ["<ExportBucketKey.Arn>"]


# -------------------------------------------------------------- the bucket --


def bucket_policies(d: Deployed) -> dict[str, dict]:
    return {p["Bucket"]: p["PolicyDocument"] for p in d.of_type("AWS::S3::BucketPolicy").values()}


def test_created_bucket_is_tls_only(created):
    policy = bucket_policies(created)["shop-data-export"]
    assert any(stack.denies_insecure_transport(s, "shop-data-export") for s in policy["Statement"])


def test_reused_bucket_is_tls_only_too(reused):
    policy = bucket_policies(reused)["shop-data-export"]
    assert any(stack.denies_insecure_transport(s, "shop-data-export") for s in policy["Statement"])
    # One resource for both cases, retained: a redeploy onto the same bucket
    # changes nothing, and deleting the stack leaves the bucket TLS-only.
    (lid,) = [lid for lid, p in reused.of_type("AWS::S3::BucketPolicy").items() if p["Bucket"] == "shop-data-export"]
    assert lid == "ExportBucketPolicy"
    assert reused.cfn["Resources"][lid].get("DeletionPolicy") == "Retain"


def section(title: str) -> str:
    m = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ |\Z)", README, re.S | re.M)
    assert m, f"README has no section {title!r}"
    return m.group(1)


def test_reused_bucket_logging_is_what_the_readme_says(created, reused):
    """The README: the stack cannot set access logging on a bucket it does
    not own; a retained bucket of this stack goes on logging (its setting,
    the log bucket and that bucket's policy are all retained); any other
    bucket needs `put-bucket-logging` from the operator; the bucket policy
    replaces the bucket's own."""
    text = section("Redeploy with an existing bucket and prefix")
    for needed in ("put-bucket-logging", "replaces", "DataExportKmsKeyArn", "retained"):
        assert needed in text, needed
    # Reused: no bucket of the stack, so nothing sets logging on any bucket.
    assert reused.of_type("AWS::S3::Bucket") == {}
    # Created: the export bucket logs to the log bucket, whose policy lets S3
    # deliver from the bucket's fixed name, and all of it is retained.
    bucket = created.r.properties("ExportBucket")
    log = bucket["LoggingConfiguration"]
    policies = bucket_policies(created)
    assert stack.log_delivery_problems(bucket["BucketName"], log, {"policy": policies[log["DestinationBucketName"]]}) == []
    for lid in ("ExportBucket", "AccessLogBucket", "AccessLogBucketPolicy", "ExportBucketPolicy", "ExportBucketKey"):
        assert created.cfn["Resources"][lid].get("DeletionPolicy") == "Retain", lid


# ----------------------------------------------------- the functions' wiring --


def test_notify_starts_executions_of_the_state_machine(created):
    (sm,) = created.of_type("AWS::StepFunctions::StateMachine").values()
    arn = f"arn:aws:states:{stack.REGION}:{stack.ACCOUNT}:stateMachine:{sm['StateMachineName']}"
    assert created.env("notify")["STATE_MACHINE_ARN"] == arn
    assert created.grants("NotifyRole", "states:StartExecution") == [arn]


def test_the_audit_is_made_only_with_an_audit_schedule(created):
    assert "AuditFunction" not in created.of_type("AWS::Lambda::Function")
    assert len(created.of_type("AWS::StepFunctions::StateMachine")) == 1
    assert len(created.of_type("AWS::Scheduler::Schedule")) == 1
    d = Deployed({"AuditSchedule": "cron(0 3 ? * SUN *)", "AuditParts": "8", "AuditMemorySize": "4096",
                  "DataExportBucketPrefix": "exports"})
    props = d.function("audit")
    assert props["Timeout"] == 900 and props["MemorySize"] == "4096"
    assert props["EphemeralStorage"] == {"Size": 10240}
    assert d.env("audit")["AUDIT_PARTS"] == "8"
    assert d.env("audit")["EXPORT_KMS_KEY_ARN"] == "<ExportBucketKey.Arn>"
    schedules = {p["Name"]: p for p in d.of_type("AWS::Scheduler::Schedule").values()}
    audit = schedules["shop-audit-schedule"]
    assert audit["ScheduleExpression"] == "cron(0 3 ? * SUN *)"
    assert audit["Target"]["Arn"] == "<AuditStateMachine>"
    # It writes only under the chain's prefix, reads the bucket, and asks for
    # exports of the source table only.
    bucket = "shop-data-export"
    assert d.grants("AuditRole", "s3:PutObject") == [f"arn:aws:s3:::{bucket}/exports*"]
    assert d.grants("AuditRole", "s3:ListBucket") == [f"arn:aws:s3:::{bucket}"]
    assert d.grants("AuditRole", "dynamodb:ExportTableToPointInTime") == [
        f"arn:aws:dynamodb:{stack.REGION}:{stack.ACCOUNT}:table/orders"]
    assert d.grants("SchedulerRole", "states:StartExecution") == [
        "<IncrementalExportStateMachine>", "<AuditStateMachine>"]


def test_decide_mode_gets_continue_original_chain(created):
    assert created.env("decide-mode")["CONTINUE_ORIGINAL_CHAIN"] == "false"
    assert created.grants("DecideModeRole", "s3:GetObject") == []
    d = Deployed({"ContinueOriginalChain": "true", "DataExportBucketName": "shop-data-export",
                  "DataExportBucketPrefix": "exports", "DataExportKmsKeyArn": KEY})
    assert d.env("decide-mode")["CONTINUE_ORIGINAL_CHAIN"] == "true"
    assert d.grants("DecideModeRole", "s3:GetObject") == ["arn:aws:s3:::shop-data-export/exports*"]
    assert d.grants("DecideModeRole", "s3:ListBucket") == ["arn:aws:s3:::shop-data-export"]
    assert d.grants("DecideModeRole", "kms:Decrypt") == [KEY]


def test_only_their_own_function_gets_the_new_variables(created):
    own = {"decide-mode": "CONTINUE_ORIGINAL_CHAIN", "start-export": "EXPORT_KMS_KEY_ARN",
           "notify": "STATE_MACHINE_ARN"}
    for binary in ("decide-mode", "start-export", "check-status", "advance-state", "notify"):
        env = created.env(binary)
        for fn, var in own.items():
            assert (var in env) == (fn == binary), (binary, var)


# ------------------------------------------- the original sample's leftovers --


def test_the_original_samples_leftovers_are_not_created(created, reused):
    alias = BASE["DeploymentAlias"]
    for d in (created, reused):
        for lid, p in d.of_type("AWS::SSM::Parameter").items():
            assert not p["Name"].startswith(f"/incremental-export/{alias}/"), (lid, p["Name"])
        names = [p["LogGroupName"] for p in d.of_type("AWS::Logs::LogGroup").values()]
        assert f"{alias}-incremental-export-log-group" not in names, names
    (sm_logs,) = [p["LogGroupName"] for lid, p in created.of_type("AWS::Logs::LogGroup").items()
                  if lid == "StateMachineLogGroup"]
    assert sm_logs == f"/aws/vendedlogs/states/{alias}-incremental-export"


def test_the_checks_read_the_template_they_are_given(tmp_path):
    text = stack.TEMPLATE.read_text()
    old = "    ReservedConcurrentExecutions: !If [HasReservedConcurrency, !Ref ReservedConcurrency, !Ref AWS::NoValue]\n"
    assert text.count(old) == 1
    p = tmp_path / "template.yaml"
    p.write_text(text.replace(old, "    ReservedConcurrentExecutions: 5\n"))
    (tmp_path / "statemachine").mkdir()
    mutated = Deployed({}, stack.load(p))
    with pytest.raises(AssertionError):
        test_no_reserved_concurrency_by_default(mutated)
