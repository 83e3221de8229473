"""``dialed report`` (one self-contained file) and ``dialed dashboard`` from the command line."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dialed
from dialed.cli import app
from dialed.errors import StudyNotFoundError
from dialed.report import render_report, write_report

from .conftest import HOSTILE

SRC = Path(__file__).resolve().parents[2] / "src"


# -- the report ------------------------------------------------------------------------------------
def test_report_is_self_contained_and_its_csp_allows_only_its_own_scripts(demo_url: str) -> None:
    html = render_report(demo_url, "demo")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert csp is not None
    policy = csp.group(1).replace("&#39;", "'")
    assert "unsafe-eval" not in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert "default-src 'none'" in policy
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 3  # plotly, the shared helpers, the report's own
    for code in scripts:
        digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "plotly.js (strict" in scripts[0]
    assert not re.search(r"<script[^>]+src=", html)  # nothing to fetch
    assert not re.search(r"<link[^>]+stylesheet", html)
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html,
                     flags=re.S)
    assert data is not None and "<" not in data.group(1)
    payload = json.loads(data.group(1))
    assert payload["overview"]["name"] == "demo"
    assert payload["plots"]["order"][0] == "history"
    assert len(payload["table"]["rows"]) == 36 and len(payload["table"]["details"]) == 36
    assert HOSTILE not in html.replace(data.group(1), "")  # escaped wherever it is HTML
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_report_of_a_big_study_lists_the_best_and_the_latest(demo_url: str) -> None:
    html = render_report(demo_url, "demo", max_rows=10)
    data = re.search(r'id="report-data">(.*?)</script>', html, flags=re.S)
    assert data is not None
    table = json.loads(data.group(1))["table"]
    assert len(table["rows"]) == 10 and table["total"] == 36
    assert "10 of 36 trials" in table["note"]
    numbers = [r[0] for r in table["rows"]]
    assert 35 in numbers  # the latest


def test_report_of_an_unknown_study_names_the_ones_there(demo_url: str, tmp_path: Path) -> None:
    with pytest.raises(StudyNotFoundError, match=r"no study named 'nope'.*demo"):
        write_report(demo_url, "nope", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


# -- the command line ------------------------------------------------------------------------------
def test_dialed_report_writes_the_file(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "demo.html"
    result = CliRunner().invoke(app, ["report", "demo", "-o", str(out), "--storage", demo_url],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "wrote the report of 'demo'" in result.stderr
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


@pytest.mark.parametrize(("args", "needle"), [
    (["report", "nope"], "no study named 'nope'"),
    (["dashboard", "--token", "short"], "at least 16 characters"),
])
def test_command_errors_are_one_line(demo_url: str, tmp_path: Path, args: list[str],
                                     needle: str) -> None:
    result = CliRunner().invoke(app, [*args, "--storage", demo_url], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines


def test_dialed_report_on_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    result = CliRunner().invoke(app, ["report", "x", "--storage", f"sqlite:///{missing}"],
                                catch_exceptions=False)
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert not missing.exists()


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC),
                                                         os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "dialed.cli", "dashboard", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    return proc, url


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_dialed_dashboard_serves_on_loopback(demo_url: str) -> None:
    proc, url = _start(["--storage", demo_url, "--port", "0"])
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url), url
        with urllib.request.urlopen(url + "api/studies", timeout=20) as r:
            names = {s["name"] for s in json.load(r)["studies"]}
        assert names == {"demo", "pareto"}
    finally:
        err = _stop(proc)
    assert "read-only" in err and "Traceback" not in err


def test_dialed_dashboard_off_loopback_needs_the_printed_token(demo_url: str) -> None:
    proc, url = _start(["--storage", demo_url, "--port", "0", "--host", "0.0.0.0"])
    try:
        match = re.fullmatch(r"http://[^/]+:(\d+)/\?token=([A-Za-z0-9_\-]{16,})", url)
        assert match is not None, url
        port, token = match.groups()
        local = f"http://127.0.0.1:{port}/api/studies"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(local, timeout=20)
        assert refused.value.code == 401
        request = urllib.request.Request(local, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=20) as r:
            assert r.status == 200
    finally:
        err = _stop(proc)
    assert "access token generated" in err


def test_a_study_without_trials_has_a_report_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    dialed.create_study("only", storage=url, metrics={"loss": "minimize"}, seed=0)
    html = render_report(url, "only")
    assert 'study</span> <span id="study-name">only</span>' in html
    data = re.search(r'id="report-data">(.*?)</script>', html, flags=re.S)
    assert data is not None
    payload = json.loads(data.group(1))
    assert payload["plots"]["order"] == [] and payload["table"]["rows"] == []


@pytest.mark.parametrize("command", [["report", "demo", "-o", "out.html"], ["dashboard"]])
def test_without_the_dashboard_extra_one_line_names_it(tmp_path: Path, command: list[str]) -> None:
    """With the dashboard extra missing (its modules made unimportable), ``dialed report`` and
    ``dialed dashboard`` end with one line naming the extra, exit 2 (report: a traceback)."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    study = dialed.create_study("demo", storage=url, seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    blocked = ["jinja2", "markupsafe", "starlette", "uvicorn"]
    code = (f"import sys\nfor m in {blocked!r}: sys.modules[m] = None\n"
            f"sys.argv = ['dialed', '--storage', {url!r}, *{command!r}]\n"
            "from dialed.cli import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("error: ") and "pip install -e '.[dashboard]'" in lines[0]
    assert not (tmp_path / "out.html").exists()
