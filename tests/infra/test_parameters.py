"""Bad parameter values: every constrained parameter of infra/template.yaml
refuses values outside its constraint, and says what is allowed.

CloudFormation's checks are reimplemented here (Number parse, MinValue /
MaxValue, AllowedValues as an exact string match, AllowedPattern as a full
match), then fed values generated from each constraint. For the parameters
that become function environment variables, the generated values are kept
in contracts/parameter_cases.json (checked here; `INCX_BLESS=1` rewrites
it), and the Rust sweep (sim/tests/it/bad_input.rs) asserts the functions
refuse every one. The functions' own ranges come from contracts/config.json,
which the Rust types generate: nothing here reads Rust source.

Run: python3 -m pytest -q -s tests/infra/test_parameters.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
CONTRACTS = ROOT / "contracts"
CONFIG = json.loads((CONTRACTS / "config.json").read_text(encoding="utf-8"))["variables"]
CASES_FILE = CONTRACTS / "parameter_cases.json"

# Template parameter -> the environment variable the functions read and check
# (contracts/config.json; names of created resources and the free-form
# prefix and table name are left out: the template's pattern is their check).
ENV_OF = {
    v["parameter"]: v["variable"]
    for v in CONFIG
    if v["parameter"] and v["type"] in ("integer", "one_of", "pattern")
}

# Values outside each AllowedPattern, written by hand: a pattern does not say
# what its near misses are. Generated length cases are added to these.
PATTERN_BAD = {
    "SourceDynamoDbTableName": ["", "ab", "my table", "orders/1", "tábla", "orders\n"],
    "DeploymentAlias": [
        "",
        "Orders",
        "ORDERS",
        "my-alias",
        "my_alias",
        "orders 1",
        " orders",
        "orders\n",
        "ordérs",
    ],
    "SuccessNotificationEmail": [
        "",
        "name",
        "name@example",
        "@example.com",
        "a b@example.com",
        "a@b@example.com",
        "name@example.com, other@example.com",
    ],
    "FailureNotificationEmail": ["", "name", "name@example", "a b@example.com"],
    "DataExportBucketName": [
        "ab",
        "My-Bucket",
        "bucket_name",
        "-bucket",
        "bucket-",
        " bucket",
        "bucket/",
    ],
    "DataExportBucketPrefix": ["/exports", "exports orders", "exports\\x", "ésport", "a?b"],
    "DataExportKmsKeyArn": [
        "alias/aws/s3",
        "arn:aws:kms:us-east-1:111122223333:alias/exports",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:1111222233:key/1234abcd",
        "arn:aws:s3:::bucket",
        " arn:aws:kms:us-east-1:111122223333:key/1234abcd",
        "arn:aws:kms:us-east-1:111122223333:key/",
    ],
    "AuditSchedule": ["weekly", "cron 0 3 * * ?", "at(2026-12-06T03:00:00)", "rate()", " cron(0 3 ? * SUN *)",
                      "cron(0 3 ? * SUN *) "],
}

# Values each constrained parameter must accept, so the checker is not
# simply refusing everything.
GOOD = {
    "SourceDynamoDbTableName": ["orders", "Orders_2024.v-1"],
    "DeploymentAlias": ["orders", "a", "abcdefghijklmno"],
    "SuccessNotificationEmail": ["name@example.com"],
    "FailureNotificationEmail": ["ops+alerts@example.co.uk"],
    "DataExportBucketName": ["", "abc", "orders1-data-export"],
    "DataExportBucketPrefix": ["", "exports", "exports/orders/", "a" * 512],
    "IncrementalExportWindowSizeInMinutes": ["15", "60", "1440"],
    "WaitTimeToCheckExportStatusInSeconds": ["1", "10", "3600"],
    "MaxCatchUpWindowMinutes": ["15", "1440"],
    "ExportFormat": ["DYNAMODB_JSON", "ION"],
    "ExportViewType": ["NEW_AND_OLD_IMAGES", "NEW_IMAGE"],
    "LogRetentionInDays": ["1", "30", "3653"],
    "DataExportKmsKeyArn": ["", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                            "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"],
    "ReservedConcurrency": ["0", "1", "1000"],
    "ContinueOriginalChain": ["true", "false"],
    "LogLevel": ["INFO", "DEBUG", "FATAL"],
    "LagAlarmWindows": ["1", "3", "96"],
    "NoExportAlarmHours": ["1", "26", "168"],
    "AuditSchedule": ["", "cron(0 3 ? * SUN *)", "rate(7 days)"],
    "AuditParts": ["1", "4", "256"],
    "AuditMemorySize": ["512", "3008", "10240"],
}

CONSTRAINTS = ("AllowedPattern", "MinValue", "MaxValue", "AllowedValues", "MinLength", "MaxLength")


def load_parameters() -> dict:
    """The template's Parameters (CloudFormation short tags tolerated)."""
    from cfnlint.decode import cfn_yaml

    return dict(cfn_yaml.load(str(TEMPLATE))["Parameters"])


PARAMETERS = load_parameters()
CONSTRAINED = sorted(n for n, p in PARAMETERS.items() if any(c in p for c in CONSTRAINTS))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def refusal(spec: dict, value: str) -> str | None:
    """Why CloudFormation refuses `value` for a parameter (None: accepted)."""
    if spec.get("Type") == "Number":
        number = _number(value)
        if number is None:
            return "not a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"below MinValue {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"above MaxValue {spec['MaxValue']}"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"shorter than MinLength {spec['MinLength']}"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"longer than MaxLength {spec['MaxLength']}"
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        return "not one of AllowedValues"
    if "AllowedPattern" in spec and re.fullmatch(str(spec["AllowedPattern"]), value) is None:
        return "does not match AllowedPattern"
    return None


def _pattern_bounds(pattern: str) -> tuple[int, int] | None:
    """(min, max) length of a one-class pattern such as ^[a-z0-9]{1,15}$."""
    m = re.fullmatch(r"\^\[[^\]]+\]\{(\d+),(\d+)\}\$", pattern)
    return (int(m.group(1)), int(m.group(2))) if m else None


def bad_values(name: str, spec: dict) -> list[str]:
    """Values outside the parameter's constraints, generated from them."""
    out: list[str] = []
    if "MinValue" in spec or "MaxValue" in spec:
        lo, hi = int(spec["MinValue"]), int(spec["MaxValue"])
        out += [str(lo - 1), str(hi + 1), "-1", "abc", "99999999999999999999"]
    if "AllowedValues" in spec:
        allowed = [str(v) for v in spec["AllowedValues"]]
        if spec.get("Type") == "Number":
            numbers = [int(v) for v in allowed]
            out += [str(max(numbers) + 1), str(min(numbers) - 1), "2", "abc", f"{allowed[0]} "]
        else:
            # The value in the other case (exact match: `true` refuses `TRUE`).
            out += [v.lower() if v != v.lower() else v.upper() for v in allowed]
            out += [f"{v} " for v in allowed] + ["NONE"]
    if "AllowedPattern" in spec:
        out += PATTERN_BAD.get(name, [])
        bounds = _pattern_bounds(str(spec["AllowedPattern"]))
        if bounds:
            lo, hi = bounds
            if lo > 0:
                out.append("a" * (lo - 1))
            out.append("a" * (hi + 1))
        elif name == "DataExportBucketName":
            out.append("a" * 64)
        elif name == "DataExportBucketPrefix":
            out.append("a" * 513)
        elif name == "DataExportKmsKeyArn":
            out.append("arn:aws:kms:us-east-1:111122223333:key/" + "a" * 129)
    if "Default" not in spec or spec.get("Type") == "Number" or "AllowedValues" in spec:
        out.append("")  # CloudFormation refuses an explicit empty value here
    if "AllowedPattern" in spec and re.fullmatch(str(spec["AllowedPattern"]), "") is not None:
        out = [v for v in out if v != ""]
    return list(dict.fromkeys(out))


def test_every_constrained_parameter_is_swept():
    assert CONSTRAINED, "no constrained parameters found: the loader is broken"
    assert set(ENV_OF) <= set(CONSTRAINED), set(ENV_OF) - set(CONSTRAINED)
    missing_good = [n for n in CONSTRAINED if n not in GOOD]
    assert not missing_good, f"no good values listed for {missing_good}"


@pytest.mark.parametrize("name", CONSTRAINED)
def test_constraint_refuses_values_outside_it(name):
    spec = PARAMETERS[name]
    values = bad_values(name, spec)
    assert len(values) >= 3, f"{name}: only {len(values)} bad values generated"
    accepted = [v for v in values if refusal(spec, v) is None]
    assert not accepted, f"{name} accepts values outside its constraint: {accepted!r}"
    refused_good = [(v, refusal(spec, v)) for v in GOOD[name] if refusal(spec, v) is not None]
    assert not refused_good, f"{name} refuses good values: {refused_good!r}"
    if "Default" in spec:
        assert refusal(spec, str(spec["Default"])) is None, f"{name}: Default is refused"
    print(f"\nparameter {name}: {len(values)} tried, {len(values) - len(accepted)} refused")


@pytest.mark.parametrize("name", CONSTRAINED)
def test_constraint_is_described(name):
    spec = PARAMETERS[name]
    text = f"{spec.get('ConstraintDescription', '')} {spec.get('Description', '')}"
    assert str(spec.get("ConstraintDescription", "")).strip(), f"{name}: no ConstraintDescription"
    missing = []
    for bound in ("MinValue", "MaxValue"):
        if bound in spec and not re.search(rf"(?<![\w.]){spec[bound]}(?!\w|\.\d)", text):
            missing.append(str(spec[bound]))
    for v in spec.get("AllowedValues", []):
        if not re.search(rf"(?<![\w]){re.escape(str(v))}(?![\w])", text):
            missing.append(str(v))
    bounds = _pattern_bounds(str(spec.get("AllowedPattern", "")))
    if bounds and f"{bounds[0]} to {bounds[1]}" not in text:
        missing.append(f"{bounds[0]} to {bounds[1]}")
    assert not missing, f"{name}: description does not name {missing}: {text!r}"


def parameter_cases() -> dict:
    """What the template refuses for each parameter the functions also check."""
    cases = {}
    for name in sorted(ENV_OF):
        values = bad_values(name, PARAMETERS[name])
        cases[ENV_OF[name]] = [v for v in values if refusal(PARAMETERS[name], v) is not None]
    return {
        "_comment": "Values infra/template.yaml refuses, per environment variable; generated by "
        "tests/infra/test_parameters.py (INCX_BLESS=1 rewrites it). sim/tests/it/bad_input.rs "
        "asserts the functions refuse every one.",
        "cases": cases,
    }


def test_parameter_cases_file_is_current():
    """The Rust sweep reads the template's refusals from this file."""
    text = json.dumps(parameter_cases(), indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("INCX_BLESS"):
        CASES_FILE.write_text(text, encoding="utf-8")
    assert CASES_FILE.read_text(encoding="utf-8") == text, (
        "contracts/parameter_cases.json is stale: rerun with INCX_BLESS=1 and review the diff"
    )
    assert ENV_OF, "no parameter maps to a checked variable: is contracts/config.json empty?"


@pytest.mark.parametrize("name", sorted(ENV_OF))
def test_ranges_and_values_match_the_functions(name):
    """MinValue/MaxValue/Default/AllowedValues are what the functions accept
    (contracts/config.json, generated from the Rust configuration)."""
    spec = PARAMETERS[name]
    var = next(v for v in CONFIG if v["variable"] == ENV_OF[name])
    if var["type"] == "integer":
        assert (int(spec["MinValue"]), int(spec["MaxValue"])) == (var["min"], var["max"]), name
        assert int(spec["Default"]) == var["default"], name
    elif var["type"] == "one_of":
        assert [str(v) for v in spec["AllowedValues"]] == var["values"], name
        assert str(spec["Default"]) == var["default"], name
    else:
        assert str(spec["AllowedPattern"]) == var["pattern"], name


def test_checker_can_fail():
    """The checks themselves: a loosened constraint lets a value through."""
    loose = dict(PARAMETERS["IncrementalExportWindowSizeInMinutes"], MinValue=1)
    assert refusal(loose, "14") is None
    assert refusal({"Type": "String", "AllowedPattern": "[a-z]+"}, "abc1") is not None  # full match
    assert refusal({"Type": "String", "AllowedValues": ["ION"]}, "ion") is not None
    assert refusal({"Type": "Number"}, "1e2") is None and refusal({"Type": "Number"}, "x") is not None
