"""The local stack, made from infra/template.yaml and nothing else.

`create()` does locally what `sam deploy` does in an account:

1. package: each function's CodeUri becomes an S3 location in the local
   account (holding a placeholder zip: the local runs serve the real binaries
   with `cargo lambda watch`), and the state machine's DefinitionUri becomes
   the definition itself (`sam package` uploads it to S3 instead; moto's
   CloudFormation reads only DefinitionString);
2. transform: SAM's own translator (`samtranslator`, the code CloudFormation
   runs as the AWS::Serverless transform) turns it into CloudFormation;
3. create: moto server's CloudFormation creates the stack;
4. complete: moto's CloudFormation ignores some resource types and drops some
   properties (listed in MOTO_SKIPS); each of those is created or applied here
   from the translated template's own properties, or, where moto would
   enforce what local plain-HTTP requests cannot meet (the TLS-only bucket
   policies), kept as written for the check; `notes` says which;
5. read back: the functions' environment (per function), the state machine
   definition with its DefinitionSubstitutions filled, the tables, the
   bucket, the topic and its subscriptions with their filter policies, the
   SSM parameters and the schedule;
6. check the wiring (`Stack.problems()`): every variable the functions read
   points at what the stack made, the definition calls the five functions
   in their places, the e-mail subscriptions filter on SUCCESS and FAILED;
   with an AuditSchedule, the audit's definition calls the audit function
   and its schedule starts it.
   `create()` refuses a stack with a problem.

The end-to-end tests and `make demo` provision only through this, so a
template change that breaks the wiring breaks them, and
tests/infra/test_stack.py shows the check refusing mutated templates.

  python3 tests/e2e/stack.py   # creates the local stack in a fresh moto server and prints it
"""
from __future__ import annotations

import copy
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.config import Config as BotoConfig

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
CONTRACTS = ROOT / "contracts"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
PARTITION = "aws"
ARTIFACTS_BUCKET = "incx-local-artifacts"

# What moto 5.2.5's CloudFormation does not do, and what create() does instead.
MOTO_SKIPS = {
    "AWS::SNS::Subscription": "not supported by moto's CloudFormation: subscribed here",
    "AWS::SNS::TopicPolicy": "not supported by moto's CloudFormation: set here as the topic's Policy",
    "AWS::S3::BucketPolicy": "not supported by moto's CloudFormation, and not put here either: moto "
                             "enforces bucket policies and every local request is plain HTTP, so the "
                             "TLS-only Deny would refuse them all; the check reads each policy as written",
    "AWS::Scheduler::Schedule": "not supported by moto's CloudFormation: created here in moto's Scheduler",
    "AWS::S3::Bucket": "moto applies only BucketEncryption and Tags: versioning, public access block and "
                       "ownership controls applied here; LoggingConfiguration not applied (moto's PutBucketLogging "
                       "fails on a log bucket policy with Principal \"*\"): the check reads the log bucket's "
                       "policy instead",
    "AWS::StepFunctions::StateMachine": "moto ignores DefinitionSubstitutions, LoggingConfiguration and "
                                        "TracingConfiguration: the substitutions are filled here",
}
# Properties left as moto has them: nothing local depends on them.
IGNORED_LOCALLY = [
    "AWS::Lambda::Function: LoggingConfig, Architectures and the code (a placeholder zip; "
    "the real binaries run under cargo lambda watch)",
    "AWS::StepFunctions::StateMachine: LoggingConfiguration and TracingConfiguration "
    "(the local engine neither logs to CloudWatch nor traces)",
    "AWS::KMS::Key: key policies and rotation are stored, not enforced; no IAM evaluation anywhere",
    "AWS::DynamoDB::Table: SSESpecification and PointInTimeRecoverySpecification of the ledger",
]


def log(msg: str) -> None:
    print(f"[stack] {msg}", file=sys.stderr, flush=True)


def contract_functions() -> list[dict]:
    return json.loads((CONTRACTS / "functions.schema.json").read_text())["functions"]


def config_variables(function: str | None = None) -> list[str]:
    """The variables the functions read (contracts/config.json); with
    `function`, those that one reads."""
    return [v["variable"] for v in json.loads((CONTRACTS / "config.json").read_text())["variables"]
            if function is None or function in v.get("functions", [function])]


# ------------------------------------------------------------ the template --


def load(path: Path = TEMPLATE) -> dict:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


def packaged(template: dict, base: Path) -> dict:
    """What `sam package` makes of the template, for the local account."""
    t = copy.deepcopy(template)
    t.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for lid, r in t["Resources"].items():
        props = r.setdefault("Properties", {})
        if r["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = {"Bucket": ARTIFACTS_BUCKET, "Key": f"{lid}.zip"}
        elif r["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            props["Definition"] = json.loads((base / props.pop("DefinitionUri")).read_text())
    return t


def translate(template: dict, parameters: dict[str, str]) -> dict:
    """The AWS::Serverless transform, as CloudFormation runs it."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # the template attaches no managed policy
        def load(self) -> dict:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # the translator reads the partition from it
    return transform(copy.deepcopy(template), dict(parameters), NoManagedPolicies())


def parameter_values(template: dict, given: dict[str, str]) -> dict[str, str]:
    """Every parameter's value: the given ones over the defaults, as strings."""
    values = {k: str(p["Default"]) for k, p in template.get("Parameters", {}).items() if "Default" in p}
    values.update({k: str(v) for k, v in given.items()})
    missing = set(template.get("Parameters", {})) - set(values)
    if missing:
        raise ValueError(f"no value for the parameters {sorted(missing)}")
    return values


class Resolver:
    """CloudFormation's intrinsic functions and conditions over a template,
    with `ref(logical_id)` and `getatt(logical_id, attribute)` for resources."""

    def __init__(self, template: dict, parameters: dict[str, str],
                 ref: Callable[[str], Any] | None = None,
                 getatt: Callable[[str, str], Any] | None = None,
                 stack_name: str = "local"):
        self.t = template
        self.params = parameters
        self.pseudo = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                       "AWS::StackName": stack_name, "AWS::URLSuffix": "amazonaws.com"}
        self._ref = ref or (lambda lid: f"<{lid}>")
        self._getatt = getatt or (lambda lid, att: f"<{lid}.{att}>")
        self._conditions: dict[str, bool] = {}

    NO_VALUE = object()

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.value(self.t["Conditions"][name]))
        return self._conditions[name]

    def active(self, resource: dict) -> bool:
        c = resource.get("Condition")
        return c is None or self.condition(c)

    def ref(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name == "AWS::NoValue":
            return self.NO_VALUE
        if name in self.t["Resources"]:
            return self._ref(name)
        raise KeyError(f"Ref to unknown {name}")

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(x) for x in node) if v is not self.NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Condition":
                return self.condition(arg)
            if fn == "Fn::GetAtt":
                lid, att = arg.split(".", 1) if isinstance(arg, str) else arg
                return self._getatt(lid, att)
            if fn == "Fn::If":
                name, yes, no = arg
                return self.value(yes if self.condition(name) else no)
            if fn == "Fn::Equals":
                a, b = (self.value(x) for x in arg)
                return str(a) == str(b)
            if fn == "Fn::Not":
                return not self.value(arg[0])
            if fn == "Fn::And":
                return all(self.value(x) for x in arg)
            if fn == "Fn::Or":
                return any(self.value(x) for x in arg)
            if fn == "Fn::Join":
                sep, items = arg
                return sep.join(str(x) for x in self.value(items))
            if fn == "Fn::Select":
                i, items = arg
                return self.value(items)[int(self.value(i))]
            if fn == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else arg
                extra = {k: self.value(v) for k, v in extra.items()}

                def one(m: re.Match) -> str:
                    name = m.group(1)
                    if name.startswith("!"):
                        return "${" + name[1:] + "}"
                    if name in extra:
                        return str(extra[name])
                    if "." in name:
                        lid, att = name.split(".", 1)
                        return str(self._getatt(lid, att))
                    return str(self.ref(name))

                return re.sub(r"\$\{([^}]+)\}", one, text)
        out = {}
        for k, v in node.items():
            v = self.value(v)
            if v is not self.NO_VALUE:
                out[k] = v
        return out

    def resources(self, rtype: str | None = None) -> dict[str, dict]:
        """The resources whose condition holds (of one type, if given)."""
        return {lid: r for lid, r in self.t["Resources"].items()
                if (rtype is None or r["Type"] == rtype) and self.active(r)}

    def properties(self, lid: str) -> dict:
        return self.value(self.t["Resources"][lid].get("Properties", {}))


# --------------------------------------------------------------- the stack --


@dataclass
class Function:
    binary: str  # the name `cargo lambda watch` serves it under
    name: str
    arn: str
    env: dict[str, str]


@dataclass
class Stack:
    """What the local account holds after create(), read back from it."""

    name: str
    parameters: dict[str, str]
    template: dict  # translated
    resources: dict[str, str]  # logical id -> physical id
    functions: dict[str, Function]  # by binary
    raw_definition: str  # as moto holds it (placeholders)
    definition: dict  # DefinitionSubstitutions filled
    state_machine_arn: str
    tables: dict[str, str]  # logical id -> name
    buckets: dict[str, dict]  # name -> what S3 says about it
    topics: dict[str, str]  # logical id -> ARN
    subscriptions: list[dict]  # TopicArn, Protocol, Endpoint, FilterPolicy (dict), FilterPolicyScope
    ssm_parameters: dict[str, str]
    schedule: dict
    kms_keys: dict[str, str]  # logical id -> ARN
    notes: list[str] = field(default_factory=list)
    # With an AuditSchedule: the audit's state machine, its filled
    # definition and its schedule.
    audit_state_machine_arn: str | None = None
    audit_definition: dict | None = None
    audit_schedule: dict | None = None

    # -- what the local runs use ----------------------------------------------

    @property
    def bucket(self) -> str:
        return self.functions["start-export"].env["DATA_EXPORT_BUCKET"]

    @property
    def ledger(self) -> str:
        return self.functions["decide-mode"].env["LEDGER_TABLE"]

    @property
    def topic_arn(self) -> str:
        return self.functions["notify"].env["TOPIC_ARN"]

    def function_by_arn(self) -> dict[str, str]:
        return {f.arn: f.binary for f in self.functions.values()}

    def env_union(self) -> dict[str, str]:
        """One environment for all five functions (`cargo lambda watch` takes
        one env file). Safe only because no variable has two values: checked."""
        out: dict[str, str] = {}
        for f in self.functions.values():
            for k, v in f.env.items():
                if out.setdefault(k, v) != v:
                    raise ValueError(f"{k} differs between the functions ({out[k]!r} and {v!r}): "
                                     "one env file cannot serve them")
        return out

    def status_subscriptions(self) -> dict[str, dict]:
        """The e-mail subscriptions by the status their filter policy lets through."""
        out = {}
        for s in self.subscriptions:
            statuses = (s.get("FilterPolicy") or {}).get("status") or []
            if s["TopicArn"] in self.topics.values() and s["Protocol"] == "email" and len(statuses) == 1:
                out[statuses[0]] = s
        return out

    # -- the wiring --------------------------------------------------------------

    def problems(self) -> list[str]:
        p = self.parameters
        out: list[str] = []
        contract = contract_functions()
        want_binaries = {f["name"] for f in contract}
        audited = bool(p.get("AuditSchedule"))
        want_functions = want_binaries | ({"audit"} if audited else set())
        if set(self.functions) != want_functions:
            out.append(f"functions: {sorted(self.functions)}, want {sorted(want_functions)}")
        ledger_tables = set(self.tables.values())
        topics = set(self.topics.values())
        export_bucket = p["DataExportBucketName"] or next(
            (n for n in self.buckets if n == f"{p['DeploymentAlias']}-data-export"), "")
        export_key = p.get("DataExportKmsKeyArn", "")
        if not p["DataExportBucketName"]:
            enc = self.buckets.get(export_bucket, {}).get("encryption") or {}
            export_key = enc.get("KMSMasterKeyID", "")
            if export_key not in self.kms_keys.values():
                out.append(f"export bucket {export_bucket!r}: not encrypted with a key of the stack ({enc})")
        shared = {
            "TABLE_NAME": p["SourceDynamoDbTableName"],
            "DEPLOYMENT_ALIAS": p["DeploymentAlias"],
            "DATA_EXPORT_BUCKET": export_bucket,
            "DATA_EXPORT_PREFIX": p["DataExportBucketPrefix"],
            "WINDOW_MINUTES": p["IncrementalExportWindowSizeInMinutes"],
            "POLL_WAIT_SECONDS": p["WaitTimeToCheckExportStatusInSeconds"],
            "EXPORT_FORMAT": p["ExportFormat"],
            "EXPORT_VIEW_TYPE": p["ExportViewType"],
            "MAX_CATCH_UP_MINUTES": p["MaxCatchUpWindowMinutes"],
            "TOPIC_ARN": (topics, "a topic of the stack"),
            "LEDGER_TABLE": (ledger_tables, "a table of the stack"),
        }
        own = {
            "decide-mode": {"CONTINUE_ORIGINAL_CHAIN": p["ContinueOriginalChain"]},
            "start-export": {"EXPORT_KMS_KEY_ARN": export_key},
            "notify": {"STATE_MACHINE_ARN": (
                {self.state_machine_arn}, "the state machine of the stack")},
            "audit": {"AUDIT_PARTS": str(p.get("AuditParts", "4")), "EXPORT_KMS_KEY_ARN": export_key},
        }
        for binary, fn in sorted(self.functions.items()):
            want = {**shared, **own.get(binary, {})}
            read = set(config_variables(binary))
            for var in sorted(read - set(want)):
                out.append(f"{binary}: the functions read {var} (contracts/config.json) but the check does not know it")
            for var, expected in want.items():
                got = fn.env.get(var)
                if got is None:
                    out.append(f"{binary}: {var} is not set")
                elif isinstance(expected, tuple):
                    allowed, what = expected
                    if got not in allowed:
                        out.append(f"{binary}: {var}={got!r} is not {what} ({sorted(allowed)})")
                elif got != expected:
                    out.append(f"{binary}: {var}={got!r}, want {expected!r}")
            for var in sorted(set(fn.env) - set(want) - {"RUST_LOG"}):
                out.append(f"{binary}: {var} is set but nothing reads it")
        # The definition: each Task calls the function its placeholder names.
        by_arn = self.function_by_arn()
        by_resource = {f["resource"]: f["name"] for f in contract}
        raw = json.loads(self.raw_definition)
        called = set()
        for name, placeholder, filled in tasks(raw, self.definition):
            fn = by_arn.get(filled)
            called.add(fn)
            if fn is None:
                out.append(f"definition: Task {name} calls {filled!r}, none of the stack's functions")
            elif by_resource.get(placeholder) != fn:
                out.append(f"definition: Task {name} ({placeholder}) calls {fn}, "
                           f"want {by_resource.get(placeholder)}")
        if "${" in json.dumps(self.definition):
            out.append("definition: a ${...} placeholder is left unfilled")
        if called != want_binaries:
            out.append(f"definition: calls {sorted(map(str, called))}, want {sorted(want_binaries)}")
        # The audit: its state machine calls the audit function only, and its
        # schedule starts it.
        if audited:
            audit_arn = self.functions.get("audit", Function("", "", "", {})).arn
            for name, _, filled in tasks(self.audit_definition or {}, self.audit_definition or {}):
                if filled != audit_arn:
                    out.append(f"audit definition: Task {name} calls {filled!r}, not the audit function")
            target = (self.audit_schedule or {}).get("Target", {}).get("Arn")
            if not self.audit_state_machine_arn or target != self.audit_state_machine_arn:
                out.append(f"audit schedule: targets {target!r}, want {self.audit_state_machine_arn}")
        elif self.audit_state_machine_arn or "audit" in self.functions:
            out.append("audit resources made without an AuditSchedule")
        # Notifications: the original's two e-mail subscriptions, on the body's status.
        subs = self.status_subscriptions()
        for status, email in (("SUCCESS", p["SuccessNotificationEmail"]), ("FAILED", p["FailureNotificationEmail"])):
            s = subs.get(status)
            if s is None:
                out.append(f"topic: no e-mail subscription whose filter policy lets status {status} through")
                continue
            if s.get("FilterPolicyScope") != "MessageBody":
                out.append(f"topic: the {status} subscription filters on {s.get('FilterPolicyScope')!r}, "
                           "want MessageBody (the original's)")
            if s["Endpoint"] != email:
                out.append(f"topic: the {status} subscription goes to {s['Endpoint']!r}, want {email!r}")
            if s["TopicArn"] != self.functions.get("notify", Function("", "", "", {})).env.get("TOPIC_ARN"):
                out.append(f"topic: the {status} subscription is on {s['TopicArn']}, not on notify's TOPIC_ARN")
        # Access logs: the destination's policy lets S3 deliver them from this bucket.
        for bucket, info in sorted(self.buckets.items()):
            cfg = info.get("logging")
            if cfg:
                out += log_delivery_problems(bucket, cfg, self.buckets.get(cfg["DestinationBucketName"], {}))
        # The export bucket is TLS-only, created or reused.
        if not any(denies_insecure_transport(s, export_bucket)
                   for s in (self.buckets.get(export_bucket, {}).get("policy") or {}).get("Statement", [])):
            out.append(f"export bucket {export_bucket!r}: no policy statement denies insecure transport")
        # The schedule starts the state machine.
        if self.schedule.get("Target", {}).get("Arn") != self.state_machine_arn:
            out.append(f"schedule: targets {self.schedule.get('Target', {}).get('Arn')!r}, "
                       f"want {self.state_machine_arn}")
        return out

    def describe(self) -> str:
        lines = [f"stack {self.name}: {len(self.resources)} resources"]
        for b, f in sorted(self.functions.items()):
            lines.append(f"  function {b}: {f.name}  env {json.dumps(f.env, sort_keys=True)}")
        lines.append(f"  state machine {self.state_machine_arn}")
        lines.append(f"  tables {sorted(self.tables.values())}, buckets {sorted(self.buckets)}")
        for s in self.subscriptions:
            lines.append(f"  subscription {s['Protocol']}:{s['Endpoint']} {s.get('FilterPolicyScope')} "
                         f"{json.dumps(s.get('FilterPolicy'))}")
        lines.append(f"  ssm {json.dumps(self.ssm_parameters, sort_keys=True)}")
        lines.append(f"  schedule {self.schedule.get('ScheduleExpression')} "
                     f"({self.schedule.get('ScheduleExpressionTimezone')}) -> {self.schedule.get('Target', {}).get('Arn')}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def denies_insecure_transport(s: dict, bucket: str) -> bool:
    arn = f"arn:{PARTITION}:s3:::{bucket}"
    return (s.get("Effect") == "Deny" and s.get("Principal") in ("*", {"AWS": "*"})
            and "s3:*" in as_list(s.get("Action"))
            and {arn, f"{arn}/*"} <= set(as_list(s.get("Resource")))
            and str(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false")


def log_delivery_problems(bucket: str, cfg: dict, destination: dict) -> list[str]:
    """Whether the destination bucket's policy lets S3 server access logging
    deliver `bucket`'s logs under the configured prefix (ACLs are disabled)."""
    dest, prefix = cfg["DestinationBucketName"], cfg.get("LogFilePrefix", "")
    for s in (destination.get("policy") or {}).get("Statement", []):
        cond = s.get("Condition", {})
        if (s.get("Effect") == "Allow" and s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
                and "s3:PutObject" in as_list(s.get("Action"))
                and f"arn:{PARTITION}:s3:::{dest}/{prefix}*" in as_list(s.get("Resource"))
                and cond.get("ArnLike", {}).get("aws:SourceArn") in (f"arn:{PARTITION}:s3:::{bucket}", None)):
            return []
    return [f"bucket {bucket!r} logs to {dest}/{prefix}, whose policy does not allow S3 log delivery from it"]


def tasks(raw: dict, filled: dict):
    """(state name, raw Resource, filled Resource) of every Task, nested ones too."""
    for name, state in raw.get("States", {}).items():
        other = filled["States"][name]
        if state.get("Type") == "Task":
            yield name, state.get("Resource"), other.get("Resource")
        for i, b in enumerate(state.get("Branches", [])):
            yield from tasks(b, other["Branches"][i])
        for k in ("Iterator", "ItemProcessor"):
            if k in state:
                yield from tasks(state[k], other[k])


class StackError(RuntimeError):
    pass


def clients(endpoint: str) -> Callable[[str], Any]:
    cfg = BotoConfig(retries={"max_attempts": 2}, s3={"addressing_style": "path"})

    def client(service: str):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test",
                            aws_secret_access_key="test", config=cfg)

    return client


def queue_name(physical_id: str) -> str:
    """A queue's name from its physical id (moto gives the queue URL)."""
    return physical_id.rstrip("/").rsplit("/", 1)[-1]


def placeholder_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\necho 'placeholder: the local runs serve the real binaries'\n")
    return buf.getvalue()


def create(endpoint: str, parameters: dict[str, str], stack_name: str | None = None,
           template_path: Path = TEMPLATE, check: bool = True) -> Stack:
    """Creates the template's stack in the moto server at `endpoint` (see
    the module's docstring) and returns what it holds. Raises StackError if
    CloudFormation refuses it or, with `check`, if the wiring is wrong."""
    client = clients(endpoint)
    sam = load(template_path)
    params = parameter_values(sam, parameters)
    name = stack_name or f"{params['DeploymentAlias']}-incremental-export-stack"
    cfn = translate(packaged(sam, template_path.parent), params)
    notes = []

    s3 = client("s3")
    s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    code = placeholder_zip()
    for lid, r in cfn["Resources"].items():
        if r["Type"] == "AWS::Lambda::Function":
            s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=r["Properties"]["Code"]["S3Key"], Body=code)
    notes.append(f"code: a placeholder zip per function in s3://{ARTIFACTS_BUCKET} (what sam package uploads)")

    cf = client("cloudformation")
    started = time.time()
    try:
        cf.create_stack(StackName=name, TemplateBody=json.dumps(cfn), Capabilities=["CAPABILITY_IAM"],
                        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
        status = cf.describe_stacks(StackName=name)["Stacks"][0]
    except Exception as e:  # moto answers a resource's failure on the CreateStack call itself
        raise StackError(f"CloudFormation refused the stack {name}: {e}") from e
    if status["StackStatus"] != "CREATE_COMPLETE":
        raise StackError(f"stack {name}: {status['StackStatus']} {status.get('StackStatusReason', '')}")
    notes.append(f"CloudFormation (moto): {name} CREATE_COMPLETE in {time.time() - started:.1f} s")

    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId")
                for r in cf.describe_stack_resources(StackName=name)["StackResources"]
                if r.get("LogicalResourceId")}
    res = Resolver(cfn, params, stack_name=name)
    types = {lid: r["Type"] for lid, r in res.resources().items()}

    def arn_of(lid: str) -> str:
        pid, rtype = physical[lid], types[lid]
        if rtype == "AWS::S3::Bucket":
            return f"arn:{PARTITION}:s3:::{pid}"
        if rtype == "AWS::IAM::Role":
            return client("iam").get_role(RoleName=pid)["Role"]["Arn"]
        if rtype == "AWS::KMS::Key":
            # DescribeKey fails on a key moto's CloudFormation made (it keeps the
            # KeyPolicy unparsed): ListKeys has the ARN.
            return next(k["KeyArn"] for k in client("kms").list_keys()["Keys"] if k["KeyId"] == pid)
        if rtype == "AWS::Lambda::Function":
            return client("lambda").get_function(FunctionName=pid)["Configuration"]["FunctionArn"]
        if rtype == "AWS::DynamoDB::Table":
            return client("dynamodb").describe_table(TableName=pid)["Table"]["TableArn"]
        if rtype == "AWS::Logs::LogGroup":
            return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{pid}:*"
        if rtype in ("AWS::StepFunctions::StateMachine", "AWS::SNS::Topic"):
            return pid
        if rtype == "AWS::SQS::Queue":
            return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{queue_name(pid)}"
        raise StackError(f"GetAtt {lid}.Arn: no local lookup for {rtype}")

    def getatt(lid: str, att: str) -> str:
        if att == "QueueName" and types[lid] == "AWS::SQS::Queue":
            return queue_name(physical[lid])
        if att != "Arn":
            raise StackError(f"GetAtt {lid}.{att}: only Arn is resolved locally")
        return arn_of(lid)

    res = Resolver(cfn, params, ref=lambda lid: physical[lid], getatt=getatt, stack_name=name)

    # -- complete what moto skipped, from the template's own properties --------
    sns, sched = client("sns"), client("scheduler")
    for rtype in MOTO_SKIPS:
        if res.resources(rtype):
            notes.append(f"{rtype}: {MOTO_SKIPS[rtype]}")
    policies = {}
    for lid in res.resources("AWS::S3::BucketPolicy"):
        props = res.properties(lid)
        policies[props["Bucket"]] = props["PolicyDocument"]
    for lid in res.resources("AWS::S3::Bucket"):
        props, bucket = res.properties(lid), physical[lid]
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={
                "Status": props["VersioningConfiguration"]["Status"]})
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=props[
                "PublicAccessBlockConfiguration"])
        if "OwnershipControls" in props:
            s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=props["OwnershipControls"])
    for lid in res.resources("AWS::SNS::TopicPolicy"):
        props = res.properties(lid)
        for topic in props["Topics"]:
            sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                                     AttributeValue=json.dumps(props["PolicyDocument"]))
    for lid in res.resources("AWS::SNS::Subscription"):
        props = res.properties(lid)
        attributes = {k: (json.dumps(v) if k == "FilterPolicy" else str(v)) for k, v in props.items()
                      if k in ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery")}
        physical[lid] = sns.subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"],
                                      Endpoint=props["Endpoint"], Attributes=attributes,
                                      ReturnSubscriptionArn=True)["SubscriptionArn"]
    for lid in res.resources("AWS::Scheduler::Schedule"):
        props = res.properties(lid)
        physical[lid] = sched.create_schedule(**props)["ScheduleArn"]
    sfn = client("stepfunctions")
    machines = res.resources("AWS::StepFunctions::StateMachine")

    def fill(lid: str) -> tuple[str, str, str]:
        """The state machine's ARN, raw definition and filled definition."""
        arn = physical[lid]
        raw = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
        subs = res.value(machines[lid]["Properties"].get("DefinitionSubstitutions", {}))
        filled = re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: str(subs.get(m.group(1), m.group(0))), raw)
        sfn.update_state_machine(stateMachineArn=arn, definition=filled)
        return arn, raw, filled

    sm_arn, raw_definition, filled = fill("IncrementalExportStateMachine")
    audit_arn, audit_filled = None, None
    if "AuditStateMachine" in machines:
        audit_arn, _, audit_filled = fill("AuditStateMachine")

    # -- read back -----------------------------------------------------------------
    lam = client("lambda")
    functions = {}
    for lid, r in res.resources("AWS::Lambda::Function").items():
        binary = r.get("Metadata", {}).get("BuildProperties", {}).get("Binary", lid)
        cfg = lam.get_function_configuration(FunctionName=physical[lid])
        # Lambda keeps every variable as a string; moto keeps a Number parameter's int.
        env = {k: str(v) for k, v in (cfg.get("Environment") or {}).get("Variables", {}).items()}
        functions[binary] = Function(binary, cfg["FunctionName"], cfg["FunctionArn"], env)
    buckets = {}
    for lid in res.resources("AWS::S3::Bucket"):
        b = physical[lid]
        rules = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"]
        buckets[b] = {"encryption": rules[0].get("ApplyServerSideEncryptionByDefault"),
                      "logging": res.properties(lid).get("LoggingConfiguration"),
                      "policy": policies.get(b)}
    if params["DataExportBucketName"]:
        b = params["DataExportBucketName"]
        buckets[b] = {"reused": True, "exists": _exists(s3, b), "policy": policies.get(b)}
    topics = {lid: physical[lid] for lid in res.resources("AWS::SNS::Topic")}
    subscriptions = []
    for topic in topics.values():
        for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
            attrs = sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])["Attributes"]
            subscriptions.append({"TopicArn": topic, "Protocol": s["Protocol"], "Endpoint": s["Endpoint"],
                                  "FilterPolicy": json.loads(attrs["FilterPolicy"]) if attrs.get("FilterPolicy") else None,
                                  "FilterPolicyScope": attrs.get("FilterPolicyScope")})
    ssm = client("ssm")
    ssm_parameters = {x["Name"]: x["Value"] for x in ssm.get_parameters_by_path(Path="/", Recursive=True)["Parameters"]}
    schedules = {}
    for lid in res.resources("AWS::Scheduler::Schedule"):
        schedules[lid] = sched.get_schedule(Name=res.properties(lid)["Name"])
        schedules[lid].pop("ResponseMetadata", None)
    schedule = schedules.get("IncrementalExportSchedule", {})
    stack = Stack(
        name=name, parameters=params, template=cfn, resources=physical, functions=functions,
        raw_definition=raw_definition, definition=json.loads(filled), state_machine_arn=sm_arn,
        tables={lid: physical[lid] for lid in res.resources("AWS::DynamoDB::Table")},
        buckets=buckets, topics=topics, subscriptions=subscriptions, ssm_parameters=ssm_parameters,
        schedule=schedule, kms_keys={lid: arn_of(lid) for lid in res.resources("AWS::KMS::Key")},
        notes=notes + [f"ignored locally: {x}" for x in IGNORED_LOCALLY],
        audit_state_machine_arn=audit_arn,
        audit_definition=json.loads(audit_filled) if audit_filled else None,
        audit_schedule=schedules.get("AuditScheduleEntry"),
    )
    if check:
        problems = stack.problems()
        if problems:
            raise StackError("the stack's wiring is wrong:\n  " + "\n  ".join(problems))
    return stack


def _exists(s3, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except s3.exceptions.ClientError:
        return False


# ----------------------------------------------------------- a moto server --


class MotoServer:
    """A moto server on a free loopback port, for the template tests and the
    rehearsal (the end-to-end runs start theirs in LocalAws)."""

    def __init__(self, log_path: Path | None = None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "MotoServer":
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=2)
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("moto server did not start")

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.url + "/moto-api/reset", data=b"", method="POST"))

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)


LOCAL_PARAMETERS = {
    "SourceDynamoDbTableName": "orders",
    "DeploymentAlias": "demo",
    "SuccessNotificationEmail": "ops@example.com",
    "FailureNotificationEmail": "ops-alerts@example.com",
    "DataExportBucketPrefix": "exports",
}


if __name__ == "__main__":
    with MotoServer() as moto:
        print(create(moto.url, LOCAL_PARAMETERS).describe())
