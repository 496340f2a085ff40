"""The local stack (tests/e2e/stack.py), made from the template in moto
server: it comes up with its wiring right, and a template whose wiring is
broken (a wrong environment variable, a missing filter policy, a wrong
substitution) is refused, so the end-to-end runs and the demo, which
provision only through it, cannot run against a broken template.

Run: python3 -m pytest -q -s tests/infra/test_stack.py
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import stack  # noqa: E402

PARAMETERS = stack.LOCAL_PARAMETERS


@pytest.fixture(scope="module")
def moto():
    with stack.MotoServer() as server:
        yield server


@pytest.fixture
def fresh(moto):
    moto.reset()
    return moto


def test_the_local_stack_comes_up_wired(fresh):
    made = stack.create(fresh.url, PARAMETERS)
    print("\n" + made.describe())
    assert made.problems() == []
    assert set(made.functions) == {f["name"] for f in stack.contract_functions()}
    # What the end-to-end runs take from it.
    assert made.bucket == "demo-data-export" and made.ledger == "demo-incremental-export-ledger"
    assert set(made.status_subscriptions()) == {"SUCCESS", "FAILED"}
    assert made.schedule["ScheduleExpression"] == "cron(6/15 * * * ? *)"
    assert made.env_union()["STATE_MACHINE_ARN"] == made.state_machine_arn
    assert made.ssm_parameters == {}  # the control is the functions' to create


def test_the_audit_comes_up_wired_with_every_variable_it_reads(fresh):
    """With an AuditSchedule: the audit function has every variable
    contracts/config.json says it reads, with the stack's values."""
    made = stack.create(fresh.url, {**PARAMETERS, "AuditSchedule": "cron(0 3 ? * SUN *)"})
    assert made.problems() == []
    reads = set(stack.config_variables("audit"))
    assert {"TABLE_NAME", "LEDGER_TABLE", "DATA_EXPORT_BUCKET", "AUDIT_PARTS", "EXPORT_KMS_KEY_ARN"} <= reads
    env = made.functions["audit"].env
    assert reads <= set(env), sorted(reads - set(env))
    assert env["AUDIT_PARTS"] == "4" and env["LEDGER_TABLE"] == made.ledger


def test_a_reused_bucket_stack_comes_up_wired(fresh):
    s3 = stack.clients(fresh.url)("s3")
    s3.create_bucket(Bucket="their-bucket")
    made = stack.create(fresh.url, {**PARAMETERS, "DataExportBucketName": "their-bucket",
                                    "DataExportKmsKeyArn": f"arn:aws:kms:us-east-1:{stack.ACCOUNT}:key/their-key"})
    assert made.bucket == "their-bucket"
    assert made.functions["start-export"].env["EXPORT_KMS_KEY_ARN"].endswith(":key/their-key")
    assert made.buckets["their-bucket"]["policy"], "the TLS-only policy on the reused bucket"


def mutated(tmp_path: Path, old: str, new: str) -> Path:
    text = stack.TEMPLATE.read_text()
    assert text.count(old) == 1, f"mutation anchor not unique: {old!r}"
    (tmp_path / "infra").mkdir()
    # Every definition the template names (the audit's too, made or not).
    shutil.copytree(ROOT / "statemachine", tmp_path / "statemachine")
    p = tmp_path / "infra" / "template.yaml"
    p.write_text(text.replace(old, new))
    return p


@pytest.mark.parametrize(
    "old,new,expect",
    [
        ("        LEDGER_TABLE: !Ref LedgerTable\n", "        LEDGER_TABLE: !Ref SourceDynamoDbTableName\n",
         "LEDGER_TABLE='orders' is not a table of the stack"),
        ("        TOPIC_ARN: !Ref NotificationTopic\n", "",
         "TOPIC_ARN is not set"),
        ("          STATE_MACHINE_ARN: !Sub arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${DeploymentAlias}-incremental-export\n",
         "          STATE_MACHINE_ARN: !Sub arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${DeploymentAlias}-export\n",
         "notify: STATE_MACHINE_ARN="),
        ("          # The key the export request names (S3SseAlgorithm KMS); empty: none.\n"
         "          EXPORT_KMS_KEY_ARN: !If [CreateBucket, !GetAtt ExportBucketKey.Arn, !Ref DataExportKmsKeyArn]\n",
         "          EXPORT_KMS_KEY_ARN: !GetAtt NotificationTopicKey.Arn\n",
         "start-export: EXPORT_KMS_KEY_ARN="),
        ("      FilterPolicy: {status: [FAILED]}\n", "",
         "no e-mail subscription whose filter policy lets status FAILED through"),
        ("        NotifyFunctionArn: !GetAtt NotifyFunction.Arn\n", "        NotifyFunctionArn: !GetAtt AdvanceStateFunction.Arn\n",
         "(${NotifyFunctionArn}) calls advance-state, want notify"),
    ],
    ids=["wrong-variable", "missing-variable", "wrong-state-machine", "wrong-key", "missing-filter-policy",
         "wrong-substitution"],
)
def test_a_template_with_broken_wiring_is_refused(fresh, tmp_path, old, new, expect):
    with pytest.raises(stack.StackError) as refused:
        stack.create(fresh.url, PARAMETERS, template_path=mutated(tmp_path, old, new))
    assert expect in str(refused.value), str(refused.value)
