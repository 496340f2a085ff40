"""Least privilege: each function's role allows exactly the AWS actions its
code calls, on named resources.

The truth is CALLS below, read off the Rust code: which use case each function
runs (shared/src/usecases/*.rs), which port methods that use case reaches, and
which SDK operation each adapter method sends (shared/src/adapters/*.rs).
The checks are functions returning a list of problems, so the same checks run
on mutated copies of the template to show that they can fail.

Run: python3 -m pytest -q tests/infra
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
ASL = ROOT / "statemachine" / "export.asl.json"


# --------------------------------------------------------------- loading --


def load_template(path: Path = TEMPLATE) -> dict:
    """The template with CloudFormation short tags (!Sub, !Ref, !GetAtt, !If,
    ...) turned into their long forms; nodes keep their line (start_mark)."""
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(path))


# ------------------------------------------------------------ the table --

# IAM actions each function's code calls, and nothing else. One entry per
# action, saying which call of the code needs it. DynamoDB authorizes
# TransactWriteItems per item (the Service Authorization Reference maps it to
# ConditionCheckItem, DeleteItem, PutItem and UpdateItem): there is no
# dynamodb:TransactWriteItems action, so a transaction of Puts and Updates is
# covered by dynamodb:PutItem and dynamodb:UpdateItem.
# (A later change generates this table from the code.)
CALLS: dict[str, dict[str, str]] = {
    "decide-mode": {
        "dynamodb:GetItem": "ledger: read the head",
        "dynamodb:PutItem": "ledger: put the head (and TransactWriteItems of Puts)",
        "dynamodb:UpdateItem": "ledger: update the head (and TransactWriteItems of Updates)",
        "dynamodb:Query": "ledger: recent entries (first wait, resume)",
        "dynamodb:DescribeContinuousBackups": "source table: the PITR window",
        "dynamodb:DescribeTable": "source table: its ARN and state",
        "ssm:GetParameter": "control: read workflow-action",
        "ssm:GetParameters": "control and mirrors: read several at once",
        "ssm:PutParameter": "control: create it with RUN when missing, acknowledge a reset; mirrors: write",
        "ssm:DeleteParameter": "mirrors: clear",
        "ssm:GetParameterHistory": "control: tell one setting from the next",
        # Only with ContinueOriginalChain=true: the original sample's exports.
        "s3:ListBucket": "migration: list the original's exports under the prefix",
        "s3:GetObject": "migration: read the original's manifests",
        "kms:Decrypt": "migration: read them from an SSE-KMS bucket",
    },
    "start-export": {
        "dynamodb:GetItem": "ledger: read the head",
        "dynamodb:PutItem": "ledger: record the intent (and TransactWriteItems of Puts)",
        "dynamodb:Query": "ledger: recent entries (first wait after the start)",
        "dynamodb:DescribeTable": "source table: its ARN before the start",
        "dynamodb:ExportTableToPointInTime": "source table: start the export",
        "dynamodb:DescribeContinuousBackups": "source table: the PITR window on InvalidExportTime",
        "dynamodb:DescribeExport": "the started export: confirm it",
        "dynamodb:ListExports": "the table's exports: find one started before a crash",
        # ExportTableToPointInTime writes the files with the caller's permissions.
        "s3:PutObject": "export files",
        "s3:AbortMultipartUpload": "export files",
        "s3:PutObjectAcl": "export files",
        # ... under the bucket's KMS key, named in the request (EXPORT_KMS_KEY_ARN).
        "kms:GenerateDataKey": "export files: SSE-KMS data keys",
        "kms:Decrypt": "export files: multipart uploads under SSE-KMS",
        "ssm:PutParameter": "mirrors: write",
        "ssm:DeleteParameter": "mirrors: clear",
    },
    "check-status": {
        "dynamodb:DescribeExport": "the export: its status",
        "dynamodb:GetItem": "ledger: read the head",
        "dynamodb:PutItem": "ledger: record what it saw",
    },
    "advance-state": {
        "dynamodb:GetItem": "ledger: read the head",
        "dynamodb:PutItem": "ledger: record the export (TransactWriteItems of Puts)",
        "dynamodb:UpdateItem": "ledger: move the head (and TransactWriteItems of Updates)",
        "dynamodb:Query": "ledger: recent entries",
        "ssm:GetParameter": "control: read it to finish a reset",
        "ssm:PutParameter": "control: back to RUN after a reset; mirrors: write",
        "ssm:DeleteParameter": "mirrors: clear",
        "ssm:GetParameterHistory": "control: tell one setting from the next",
    },
    "notify": {
        "sns:Publish": "the notification",
        # Publishing to a topic encrypted with a customer managed key.
        "kms:GenerateDataKey": "the KMS-encrypted topic",
        "kms:Decrypt": "the KMS-encrypted topic",
        "dynamodb:UpdateItem": "ledger: mark the notification sent",
        "states:StartExecution": "the next execution when more is exportable",
    },
    # With an AuditSchedule only.
    "audit": {
        "dynamodb:Query": "ledger: the catalog (the chain and its end)",
        "dynamodb:DescribeTable": "source table: its ARN and size (the export's cost)",
        "dynamodb:ExportTableToPointInTime": "source table: the full export at the chain's end",
        "dynamodb:DescribeExport": "the audit's export: its status",
        "s3:GetObject": "the chain's and the audit export's manifests and data files",
        "s3:ListBucket": "exports under the prefix that the ledger does not name",
        "s3:PutObject": "the audit export's files",
        "s3:AbortMultipartUpload": "the audit export's files",
        "s3:PutObjectAcl": "the audit export's files",
        "kms:GenerateDataKey": "the audit export's files (SSE-KMS); the KMS-encrypted topic",
        "kms:Decrypt": "reading SSE-KMS export files; the KMS-encrypted topic",
        "sns:Publish": "the audit's result",
    },
}

# Each function's own logging, checked separately (on its own log group).
OWN_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}

# Statements allowed Resource "*": AWS offers nothing narrower for them.
# (role logical id, Sid) -> why. Each also needs a YAML comment saying so.
STAR_ALLOWED = {
    ("StateMachineRole", "LogDelivery"):
        "CloudWatch Logs delivery actions have no resource-level permissions",
    ("StateMachineRole", "XRay"):
        "X-Ray trace actions have no resource-level permissions",
    ("AuditStateMachineRole", "LogDelivery"):
        "CloudWatch Logs delivery actions have no resource-level permissions",
    ("AuditStateMachineRole", "XRay"):
        "X-Ray trace actions have no resource-level permissions",
}
# Conditions a "*" statement must carry (a StringEquals key).
STAR_CONDITIONS: dict[tuple[str, str], str] = {}

STATE_MACHINE_ACTIONS = {
    "lambda:InvokeFunction",
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    "xray:GetSamplingRules", "xray:GetSamplingTargets",
}

PSEUDO = {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix"}


# ---------------------------------------------------------------- helpers --


def as_list(v):
    return v if isinstance(v, list) else [v]


def resources(t: dict, rtype: str) -> dict:
    return {k: v for k, v in t["Resources"].items() if v.get("Type") == rtype}


def functions(t: dict) -> dict[str, str]:
    """Binary name (the CALLS key) -> function logical id."""
    out = {}
    for lid, r in resources(t, "AWS::Serverless::Function").items():
        binary = r.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        out[binary or lid] = lid
    return out


def getatt_target(v) -> str | None:
    """`X` for {"Fn::GetAtt": [X, "Arn"]} (or "X.Arn")."""
    if isinstance(v, dict) and "Fn::GetAtt" in v:
        g = v["Fn::GetAtt"]
        parts = g.split(".", 1) if isinstance(g, str) else g
        if len(parts) == 2 and parts[1] == "Arn":
            return parts[0]
    return None


def statements(t: dict, role_id: str):
    """(statement, line) for every statement of the role's inline policies and
    of AWS::IAM::Policy resources attached to it; both branches of a
    statement-level Fn::If."""
    role = t["Resources"][role_id]
    docs = [p["PolicyDocument"] for p in role["Properties"].get("Policies", [])]
    for r in resources(t, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in as_list(r["Properties"].get("Roles", [])):
            docs.append(r["Properties"]["PolicyDocument"])
    out = []

    def add(s):
        if isinstance(s, dict) and "Fn::If" in s:
            for branch in s["Fn::If"][1:]:
                add(branch)
        elif isinstance(s, dict) and s.get("Ref") == "AWS::NoValue":
            return
        else:
            mark = getattr(s, "start_mark", None)
            out.append((s, mark.line if mark else None))

    for d in docs:
        for s in as_list(d["Statement"]):
            add(s)
    return out


def named(resource) -> bool:
    """A specific resource: a Ref or GetAtt of one, a Sub naming one (a
    substitution other than partition/region/account, and not a bare "*"
    after the service prefix), or an If whose branches all are."""
    if isinstance(resource, str):
        return False
    if not isinstance(resource, dict) or len(resource) != 1:
        return False
    (fn, arg), = resource.items()
    if fn == "Ref":
        return arg not in PSEUDO and arg != "AWS::NoValue"
    if fn == "Fn::GetAtt":
        return True
    if fn == "Fn::If":
        return all(named(b) for b in arg[1:])
    if fn == "Fn::Sub":
        text = arg[0] if isinstance(arg, list) else arg
        subs = set(re.findall(r"\$\{([^}!]+)\}", text))
        if not subs - PSEUDO:
            return False
        tail = text.split(":", 5)[-1] if text.startswith("arn:") else text
        return tail.strip() not in {"*", "", "/*"}
    return False


def comment_above(lines: list[str], line: int | None, within: int = 3) -> str | None:
    """The YAML comment within `within` lines above 0-based `line`."""
    if line is None:
        return None
    for i in range(line - 1, max(line - within, 0) - 1, -1):
        s = lines[i].strip()
        if s.startswith("#"):
            return s
    return None


# ----------------------------------------------------------------- checks --


def check_function_role(t: dict, lines: list[str], binary: str) -> list[str]:
    problems = []
    fns = functions(t)
    if binary not in fns:
        return [f"{binary}: no function with BuildProperties.Binary {binary}"]
    fid = fns[binary]
    props = t["Resources"][fid]["Properties"]
    if "Policies" in props:
        problems.append(f"{binary}: SAM Policies on the function add to its role")
    role_id = getatt_target(props.get("Role"))
    if role_id is None or role_id not in t["Resources"]:
        return problems + [f"{binary}: Role is not a GetAtt of a role in the template"]
    role = t["Resources"][role_id]["Properties"]
    if role.get("ManagedPolicyArns"):
        problems.append(f"{binary}: {role_id} has managed policies {role['ManagedPolicyArns']}")
    log_group = props.get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")

    allowed: set[str] = set()
    logs_ok = False
    for s, line in statements(t, role_id):
        sid = s.get("Sid", f"(line {line})")
        where = f"{binary}: {role_id} {sid}"
        if s.get("Effect") != "Allow" or "NotAction" in s or "NotResource" in s:
            problems.append(f"{where}: only Allow with Action and Resource")
            continue
        acts = set(as_list(s["Action"]))
        res = as_list(s["Resource"])
        if acts <= OWN_LOGS:
            if res == [{"Fn::GetAtt": [log_group, "Arn"]}]:
                logs_ok = True
                continue
            problems.append(f"{where}: logs actions on {res}, not its own log group {log_group}")
        allowed |= acts
        problems += check_resources(lines, role_id, s, line)
    if not logs_ok:
        problems.append(f"{binary}: no logs statement on its own log group {log_group}")
    want = set(CALLS[binary])
    if allowed - want:
        problems.append(f"{binary}: {role_id} allows actions the code never calls: {sorted(allowed - want)}")
    if want - allowed:
        problems.append(f"{binary}: {role_id} lacks actions the code calls: {sorted(want - allowed)}")
    return problems


def check_resources(lines: list[str], role_id: str, s: dict, line) -> list[str]:
    problems = []
    sid = s.get("Sid")
    where = f"{role_id} {sid or f'(line {line})'}"
    for r in as_list(s["Resource"]):
        if named(r):
            continue
        if r == "*" and (role_id, sid) in STAR_ALLOWED:
            if comment_above(lines, line) is None:
                problems.append(f"{where}: Resource \"*\" without a comment saying why within 3 lines above")
            key = STAR_CONDITIONS.get((role_id, sid))
            if key and key not in s.get("Condition", {}).get("StringEquals", {}):
                problems.append(f"{where}: Resource \"*\" without its {key} condition")
            continue
        problems.append(f"{where}: Resource {json.dumps(r)} is not a named resource")
    return problems


def invoked_functions(sm: dict) -> set[str]:
    """The function logical ids a state machine's definition calls (its
    DefinitionSubstitutions' GetAtts)."""
    return {getatt_target(v) for v in sm["Properties"].get("DefinitionSubstitutions", {}).values()}


def check_state_machine_role(t: dict, lines: list[str]) -> list[str]:
    """Each state machine's role invokes exactly the functions its
    definition calls (the export workflow's five; the audit's one), plus
    log delivery and X-Ray; together they call every function."""
    problems = []
    sms = resources(t, "AWS::Serverless::StateMachine")
    if "IncrementalExportStateMachine" not in sms:
        return [f"no IncrementalExportStateMachine among {sorted(sms)}"]
    called = set()
    for sm_id, sm in sorted(sms.items()):
        role_id = getatt_target(sm["Properties"].get("Role"))
        if role_id is None:
            problems.append(f"{sm_id}: Role is not a GetAtt of a role")
            continue
        if "Policies" in sm["Properties"]:
            problems.append(f"{sm_id}: SAM Policies add to its role")
        want_fns = invoked_functions(sm)
        called |= want_fns
        invoked = set()
        allowed = set()
        for s, line in statements(t, role_id):
            if s.get("Effect") != "Allow" or "NotAction" in s or "NotResource" in s:
                problems.append(f"{role_id}: only Allow with Action and Resource")
                continue
            acts = set(as_list(s["Action"]))
            allowed |= acts
            if "lambda:InvokeFunction" in acts:
                if acts != {"lambda:InvokeFunction"}:
                    problems.append(f"{role_id}: InvokeFunction shares a statement with {sorted(acts)}")
                invoked |= {getatt_target(r) or json.dumps(r) for r in as_list(s["Resource"])}
            problems += check_resources(lines, role_id, s, line)
        if invoked != want_fns:
            problems.append(f"{role_id}: invokes {sorted(invoked)}, want exactly {sorted(want_fns)}")
        if allowed != STATE_MACHINE_ACTIONS:
            problems.append(
                f"{role_id}: extra {sorted(allowed - STATE_MACHINE_ACTIONS)}, "
                f"missing {sorted(STATE_MACHINE_ACTIONS - allowed)}")
    if called != set(functions(t).values()):
        problems.append(f"the state machines call {sorted(called)}, the template has {sorted(functions(t).values())}")
    export_fns = invoked_functions(sms["IncrementalExportStateMachine"])
    if len(export_fns) != 5:
        problems.append(f"IncrementalExportStateMachine calls {sorted(export_fns)}, want the five functions")
    return problems


def check_scheduler_role(t: dict) -> list[str]:
    """Every schedule starts a state machine of the stack through one role,
    which may only start those state machines and send to their
    dead-letter queue."""
    problems = []
    schedules = resources(t, "AWS::Scheduler::Schedule")
    sms = resources(t, "AWS::Serverless::StateMachine")
    if not schedules:
        return ["no schedule"]
    roles = set()
    want = []
    for sched_id, sched in sorted(schedules.items()):
        target = sched["Properties"]["Target"]
        role_id = getatt_target(target["RoleArn"])
        if role_id is None:
            problems.append(f"{sched_id}: RoleArn is not a GetAtt of a role")
            continue
        roles.add(role_id)
        if not (isinstance(target["Arn"], dict) and target["Arn"].get("Ref") in sms):
            problems.append(f"{sched_id}: does not target a state machine of the stack")
        entry = ("Allow", ["states:StartExecution"], [target["Arn"]])
        if entry not in want:
            want.append(entry)
        dlq = target.get("DeadLetterConfig", {}).get("Arn")
        if dlq is not None and ("Allow", ["sqs:SendMessage"], [dlq]) not in want:
            want.append(("Allow", ["sqs:SendMessage"], [dlq]))
    if "IncrementalExportSchedule" in schedules and schedules["IncrementalExportSchedule"]["Properties"]["Target"]["Arn"] != {"Ref": "IncrementalExportStateMachine"}:
        problems.append("the schedule does not target the state machine")
    for role_id in sorted(roles):
        if t["Resources"][role_id]["Properties"].get("ManagedPolicyArns"):
            problems.append(f"{role_id}: has managed policies")
        got = [(s.get("Effect"), as_list(s.get("Action")), as_list(s.get("Resource")))
               for s, _ in statements(t, role_id)]
        key = lambda x: json.dumps(x, sort_keys=True, default=str)  # noqa: E731
        if sorted(map(key, got)) != sorted(map(key, want)):
            problems.append(f"{role_id}: want only states:StartExecution on the schedules' state machines "
                            f"(and sqs:SendMessage on their dead-letter queue), got {got}")
    return problems


def all_problems(path: Path) -> list[str]:
    t = load_template(path)
    lines = path.read_text().splitlines()
    problems = []
    for binary in CALLS:
        problems += check_function_role(t, lines, binary)
    problems += check_state_machine_role(t, lines)
    problems += check_scheduler_role(t)
    return problems


# ------------------------------------------------------------------ tests --


@pytest.fixture(scope="module")
def template():
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def lines():
    return TEMPLATE.read_text().splitlines()


def test_the_table_covers_every_function(template):
    assert set(functions(template)) == set(CALLS)


@pytest.mark.parametrize("binary", sorted(CALLS))
def test_function_role_allows_exactly_what_the_code_calls(template, lines, binary):
    assert check_function_role(template, lines, binary) == []


def test_state_machine_role_invokes_exactly_the_five_functions(template, lines):
    assert check_state_machine_role(template, lines) == []


def test_state_machine_definition_calls_only_those_functions(template):
    """Each definition file calls exactly the functions its substitutions
    name, and together the state machines call every function."""
    def tasks(states):
        for s in states.values():
            if s["Type"] == "Task":
                yield s
            for b in s.get("Branches", []):
                yield from tasks(b["States"])
            for k in ("Iterator", "ItemProcessor"):
                if k in s:
                    yield from tasks(s[k]["States"])

    called = set()
    for sm in resources(template, "AWS::Serverless::StateMachine").values():
        subs = sm["Properties"]["DefinitionSubstitutions"]
        called |= {getatt_target(v) for v in subs.values()}
        asl = json.loads((TEMPLATE.parent / sm["Properties"]["DefinitionUri"]).read_text())
        used = {t["Resource"] for t in tasks(asl["States"])}
        assert used == {"${%s}" % k for k in subs}
    assert called == set(functions(template).values())


def test_scheduler_role_only_starts_the_state_machine(template):
    assert check_scheduler_role(template) == []


def test_every_star_is_allow_listed_and_explained(template, lines):
    roles = resources(template, "AWS::IAM::Role")
    stars = set()
    for role_id in roles:
        for s, line in statements(template, role_id):
            if "*" in as_list(s.get("Resource")):
                stars.add((role_id, s.get("Sid")))
                assert comment_above(lines, line), (role_id, s.get("Sid"))
    # Every allow-list entry is still needed (no stale exemptions).
    assert stars == set(STAR_ALLOWED)


# --------------------------------------------------- the checks can fail --


def mutate(tmp_path: Path, old: str, new: str) -> Path:
    text = TEMPLATE.read_text()
    assert text.count(old) == 1, f"mutation anchor not unique: {old!r}"
    p = tmp_path / "template.yaml"
    p.write_text(text.replace(old, new))
    return p


def test_unmodified_template_passes():
    assert all_problems(TEMPLATE) == []


@pytest.mark.parametrize(
    "old,new,expect",
    [
        # an extra action on a function's role
        ("Action: [dynamodb:GetItem, dynamodb:PutItem]\n",
         "Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:Scan]\n",
         "check-status: CheckStatusRole allows actions the code never calls: ['dynamodb:Scan']"),
        # a missing action
        ("Effect: Allow\n                Action: sns:Publish\n",
         "Effect: Allow\n                Action: sns:ListTopics\n",
         "lacks actions the code calls: ['sns:Publish']"),
        # a named resource widened to "*"
        ("Resource: !Sub arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${DeploymentAlias}-incremental-export\n\n",
         "Resource: \"*\"\n\n",
         "NotifyRole StartNextExecution: Resource \"*\" is not a named resource"),
        # an allow-listed "*" that lost its comment
        ("              # X-Ray tracing: these actions accept only Resource \"*\".\n", "",
         "StateMachineRole XRay: Resource \"*\" without a comment"),
        # the state machine may invoke something else
        ("                  - !GetAtt NotifyFunction.Arn\n              # Log delivery",
         "                  - !GetAtt NotifyFunction.Arn\n                  - !Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:other\n              # Log delivery",
         "StateMachineRole: invokes"),
        # the scheduler may do more
        ("Action: states:StartExecution\n                Resource: !Ref IncrementalExportStateMachine\n",
         "Action: [states:StartExecution, states:StopExecution]\n                Resource: !Ref IncrementalExportStateMachine\n",
         "SchedulerRole: want only states:StartExecution"),
    ],
    ids=["extra-action", "missing-action", "star-resource", "uncommented-star",
         "extra-invoke", "scheduler-extra"],
)
def test_a_mutated_template_fails(tmp_path, old, new, expect):
    problems = all_problems(mutate(tmp_path, old, new))
    assert any(expect in p for p in problems), problems
