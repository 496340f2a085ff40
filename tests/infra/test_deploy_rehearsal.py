"""A deploy rehearsal (`make rehearsal`): the migration the README describes,
in moto server's CloudFormation. The original sample's leftovers are there
first, as `cdk destroy` leaves them: its control parameter (paused, as the
README's first step asks), its four mirrors, its state machine log group
and its retained buckets. The stack, translated by SAM's translator from
infra/template.yaml (tests/e2e/stack.py), must come up CREATE_COMPLETE with
every leftover untouched; the template as it was (creating the control and
that log group itself) is refused with "already exists", as CloudFormation
refused it.

What moto cannot rehearse is printed (run with -s).

Run: python3 -m pytest -q -s tests/infra/test_deploy_rehearsal.py
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import stack  # noqa: E402

ALIAS = "shop"
PREFIX = "exports"
ORIGINAL_BUCKET = f"{ALIAS}-data-export"
# What the original sample leaves after `cdk destroy` (see its README).
LEFTOVER_PARAMETERS = {
    f"/incremental-export/{ALIAS}/workflow-action": "PAUSE",
    f"/incremental-export/{ALIAS}/full-export-time": "2024-05-01T00:00:00.000Z",
    f"/incremental-export/{ALIAS}/last-incremental-export-time": "2024-05-09T11:45:00.000Z",
    f"/incremental-export/{ALIAS}/workflow-initiated": "true",
    f"/incremental-export/{ALIAS}/workflow-state": "NORMAL",
}
LEFTOVER_LOG_GROUP = f"{ALIAS}-incremental-export-log-group"
LEFTOVER_BUCKETS = [ORIGINAL_BUCKET, f"{ALIAS}-data-export-server-access-logs"]
# The README's migration step 3: the same alias, bucket, prefix and window.
MIGRATION = {
    "SourceDynamoDbTableName": "shop_orders",
    "DeploymentAlias": ALIAS,
    "SuccessNotificationEmail": "ops@example.com",
    "FailureNotificationEmail": "ops-alerts@example.com",
    "DataExportBucketName": ORIGINAL_BUCKET,
    "DataExportBucketPrefix": PREFIX,
    "IncrementalExportWindowSizeInMinutes": "15",
    "ContinueOriginalChain": "true",
}

NOT_REHEARSED = [
    "account quotas: unreserved concurrency (no reservation by default; ReservedConcurrency takes from it), "
    "300 exports at once, IAM and CloudFormation limits",
    "the AWS::Serverless transform as CloudFormation runs it: rehearsed with the samtranslator of the "
    "local SAM CLI, which may differ from the service's version",
    "IAM: moto evaluates no identity policy, key policy or trust policy; least privilege is checked "
    "statically (tests/infra/test_least_privilege.py), not by calls being denied",
    "the reused bucket's policy: S3 replaces a bucket's whole policy with the stack's (README, Redeploy); "
    "moto's CloudFormation does not create bucket policies",
    "S3 server access log delivery and the state machine's CloudWatch Logs delivery",
    "the e-mail subscriptions' confirmation, and the schedule firing (moto's Scheduler stores it only)",
    "the function code: a placeholder zip here; `make check-build` checks the real artifacts",
]


def leave_the_originals_leftovers(client) -> None:
    ssm = client("ssm")
    for name, value in LEFTOVER_PARAMETERS.items():
        ssm.put_parameter(Name=name, Value=value, Type="String")
    client("logs").create_log_group(logGroupName=LEFTOVER_LOG_GROUP)
    client("logs").put_retention_policy(logGroupName=LEFTOVER_LOG_GROUP, retentionInDays=5)
    s3 = client("s3")
    for b in LEFTOVER_BUCKETS:
        s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=ORIGINAL_BUCKET, Key=f"{PREFIX}/AWSDynamoDB/01714521600000-0a1b2c3d/manifest-summary.json",
                  Body=b'{"exportType": "FULL_EXPORT"}')


def leftovers(client) -> dict:
    ssm, logs = client("ssm"), client("logs")
    params = {p["Name"]: (p["Value"], p["Version"]) for p in
              ssm.get_parameters(Names=list(LEFTOVER_PARAMETERS))["Parameters"]}
    groups = {g["logGroupName"]: g.get("retentionInDays") for g in
              logs.describe_log_groups(logGroupNamePrefix=LEFTOVER_LOG_GROUP)["logGroups"]}
    objects = [o["Key"] for o in client("s3").list_objects_v2(Bucket=ORIGINAL_BUCKET).get("Contents", [])]
    return {"parameters": params, "log_groups": groups, "objects": objects}


@pytest.fixture
def moto():
    with stack.MotoServer() as server:
        yield server


def test_the_migration_deploys_over_the_originals_leftovers(moto):
    started = time.time()
    client = stack.clients(moto.url)
    leave_the_originals_leftovers(client)
    before = leftovers(client)
    made = stack.create(moto.url, MIGRATION)
    after = leftovers(client)
    status = client("cloudformation").describe_stacks(StackName=made.name)["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE"
    assert after == before, "a leftover of the original changed"
    assert after["parameters"][f"/incremental-export/{ALIAS}/workflow-action"] == ("PAUSE", 1)
    assert made.bucket == ORIGINAL_BUCKET
    assert made.functions["decide-mode"].env["CONTINUE_ORIGINAL_CHAIN"] == "true"
    print(f"\nrehearsal: {made.name} {status} over the original's leftovers "
          f"({len(LEFTOVER_PARAMETERS)} parameters, log group {LEFTOVER_LOG_GROUP}, buckets {LEFTOVER_BUCKETS}), "
          f"all untouched; {time.time() - started:.1f} s")
    for note in made.notes:
        print(f"rehearsal: moto: {note}")
    for gap in NOT_REHEARSED:
        print(f"rehearsal: NOT rehearsed here: {gap}")


def why(refusal: str) -> str:
    """The service's words in a refusal (moto's log-group error reaches boto3
    as an unparsed body, so find them in the text)."""
    at = refusal.find("AlreadyExist")
    return refusal[max(at - 20, 0):at + 120] if at >= 0 else refusal[:160]


def template_as(tmp_path: Path, changes: list[tuple[str, str]]) -> Path:
    text = stack.TEMPLATE.read_text()
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (tmp_path / "infra").mkdir()
    # Every definition the template names (the audit's too, made or not).
    shutil.copytree(ROOT / "statemachine", tmp_path / "statemachine")
    (tmp_path / "infra" / "template.yaml").write_text(text)
    return tmp_path / "infra" / "template.yaml"


@pytest.mark.parametrize(
    "changes,refusal",
    [
        ([("      LogGroupName: !Sub /aws/vendedlogs/states/${DeploymentAlias}-incremental-export\n",
           "      LogGroupName: !Sub ${DeploymentAlias}-incremental-export-log-group\n")],
         "already exists"),
        ([("  # --------------------------------------------------------- notifications --\n",
           "  WorkflowActionParameter:\n    Type: AWS::SSM::Parameter\n    Properties:\n"
           "      Name: !Sub /incremental-export/${DeploymentAlias}/workflow-action\n"
           "      Type: String\n      Value: RUN\n\n"
           "  # --------------------------------------------------------- notifications --\n")],
         "ParameterAlreadyExists"),
    ],
    ids=["original-log-group-name", "control-parameter-in-the-template"],
)
def test_the_template_as_it_was_is_refused(moto, tmp_path, changes, refusal):
    """The rehearsal can fail: what made the real deploy fail fails here."""
    leave_the_originals_leftovers(stack.clients(moto.url))
    with pytest.raises(stack.StackError) as refused:
        stack.create(moto.url, MIGRATION, template_path=template_as(tmp_path, changes))
    assert refusal in str(refused.value), str(refused.value)
    print(f"\nrehearsal: the old template is refused: {why(str(refused.value))}")


def test_a_new_bucket_over_the_originals_retained_buckets_is_refused(moto):
    """Why the README's migration passes the original's bucket: its buckets
    survive `cdk destroy`, and the stack cannot create them again."""
    leave_the_originals_leftovers(stack.clients(moto.url))
    with pytest.raises(stack.StackError) as refused:
        stack.create(moto.url, {**MIGRATION, "DataExportBucketName": ""})
    print(f"\nrehearsal: without DataExportBucketName: {why(str(refused.value))}")
