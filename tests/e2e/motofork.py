"""moto servers forked from one process that has imported moto once.

Half of what a fresh `moto_server` spends in a scenario is starting: Python
importing Flask and moto, then, at the stack's creation, moto's
CloudFormation, which imports the EC2 and Auto Scaling models and parses
their service descriptions. This process pays that once; each server it
forks is a new process with moto's empty state (nothing here makes a
backend; the caches it fills hold service descriptions, not state), so the
scenarios stay as isolated as with one `moto_server` each.

Protocol (one line each way): `<port> <log file>` in, the child's pid out.
A child runs `moto.server.main` in its own session, so the caller stops it
and anything it started with one `killpg`.
"""
from __future__ import annotations

import importlib
import os
import random
import signal
import sys

import moto.server
from moto.core.base_backend import AccountSpecificBackend
from moto.core.utils import get_service_model
from moto.moto_api._internal import mock_random

# The services the stack and the scenarios use (CloudFormation imports most
# of the rest), by moto's module name and by botocore's service name. A name
# that either of them lacks fails here, at start, loudly.
SERVICES = {"cloudformation": "cloudformation", "dynamodb": "dynamodb", "s3": "s3", "sns": "sns",
            "sqs": "sqs", "ssm": "ssm", "iam": "iam", "logs": "logs", "events": "events",
            "scheduler": "scheduler", "stepfunctions": "stepfunctions", "awslambda": "lambda",
            "kms": "kms", "cloudwatch": "cloudwatch", "sts": "sts"}


def preload() -> None:
    """Imports the services' models and reads the service descriptions
    every moto process reads on its first requests (cached by moto and
    botocore), without making any backend: no state to inherit."""
    session = AccountSpecificBackend.get_session()
    partitions = session.get_available_partitions()
    for module, service in SERVICES.items():
        importlib.import_module(f"moto.{module}.models")
        get_service_model(service)
        for partition in partitions:
            session.get_available_regions(service, partition_name=partition)


def serve(port: int, log_path: str) -> None:
    """The child: a moto server on `port`, its output in `log_path`."""
    os.setsid()
    # Forked children would otherwise share the parent's random sequence
    # (moto draws ids from it).
    random.seed()
    mock_random.seed()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        moto.server.main(["-H", "127.0.0.1", "-p", str(port)])
    finally:
        os._exit(0)


def reap(*_) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> None:
    preload()
    # Reaped as they exit, so that their owners see them gone (kill(pid, 0)
    # fails) and their CPU time is counted in this process's children's, as a
    # `moto_server` started by the tests was in theirs.
    signal.signal(signal.SIGCHLD, reap)
    print("ready", flush=True)
    for line in sys.stdin:
        port, log_path = line.split(maxsplit=1)
        pid = os.fork()
        if pid == 0:
            serve(int(port), log_path.strip())
        print(pid, flush=True)
    reap()


if __name__ == "__main__":
    main()
