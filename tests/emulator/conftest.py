"""Fixtures of the emulator's tests: one moto server per session, one
emulator per test module (faults reset after every test), boto3 clients."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness import client, ensure_bucket, free_port, start_emulator, stop, wait_for_http


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    moto_server = Path(sys.executable).with_name("moto_server")
    command = [str(moto_server)] if moto_server.exists() else ["moto_server"]
    process = subprocess.Popen(command + ["-H", "127.0.0.1", "-p", str(port)],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/moto-api/")
        yield url
    finally:
        stop(process)
        log.close()



@pytest.fixture(scope="module")
def emu(moto_url, tmp_path_factory):
    emulator = start_emulator(moto_url, tmp_path_factory)
    yield emulator
    emulator.stop()


@pytest.fixture(autouse=True)
def _reset_faults(request):
    yield
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").control("/_emulator/reset", {})



@pytest.fixture(scope="module")
def ddb(emu):
    return client("dynamodb", emu.url)


@pytest.fixture(scope="module")
def s3(moto_url):
    s3 = client("s3", moto_url)
    ensure_bucket(s3)
    return s3

