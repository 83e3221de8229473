"""The dashboard's HTTP side without a browser: the JSON API, the pages, and the guard."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient

from dialed.dashboard import create_app
from dialed.dashboard._security import CSP
from dialed.errors import StorageError
from dialed.storage import MemoryStorage

from .conftest import HOSTILE, SCRIPTY

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def client(demo_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(demo_url), base_url="http://127.0.0.1:8080") as c:
        yield c


def _json(client: TestClient, path: str, status: int = 200) -> Any:
    r = client.get(path)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


# -- the JSON API ----------------------------------------------------------------------------------
def test_studies_lists_state_counts_best_and_activity(client: TestClient) -> None:
    data = _json(client, "/api/studies")
    rows = {s["name"]: s for s in data["studies"]}
    assert set(rows) == {"demo", "pareto"}
    demo = rows["demo"]
    assert demo["state"] == "idle"
    assert demo["n_trials"] == 36
    assert demo["counts"]["failed"] == 3 and sum(demo["counts"].values()) == 36
    assert demo["best"] is not None and demo["last_activity"] is not None
    assert demo["primary"] == "loss" and demo["direction"] == "minimize"


def test_overview_has_space_notes_settings_and_best(client: TestClient) -> None:
    o = _json(client, "/api/studies/demo")
    assert o["name"] == "demo"
    assert [p["name"] for p in o["space"]] == ["lr", "momentum", "layers", "act"]
    assert {p["family"] for p in o["space"]} == {"optimizer", "architecture"}
    assert {"key": "note", "value": HOSTILE} in o["notes"]
    assert any(r["key"].startswith("sampler") for r in o["settings"])
    # the default sampler is auto: its choice (the demo prunes trials: TPE with BOHB's random
    # fraction) and the reason are shown with the settings
    chosen = {r["key"]: r["value"] for r in o["settings"]}
    assert chosen["sampler_decision.sampler"] == "tpe+random"
    assert len(chosen["sampler_decision.reason"]) > 20
    assert o["best"]["number"] >= 0 and "loss" in o["best"]["metrics"]
    assert o["counts"]["complete"] + o["counts"]["pruned"] + o["counts"]["failed"] == 36
    assert o["version"] >= 1


def test_plots_are_built_and_downsampled_on_the_server(client: TestClient) -> None:
    p = _json(client, "/api/studies/demo/plots")
    assert p["order"] == ["history", "importance", "contour", "intermediate", "parallel",
                          "slices", "timeline"]
    for key in p["order"]:
        fig = p["figures"][key]
        assert fig["data"], key
        assert isinstance(fig["layout"], dict)
    history = p["figures"]["history"]["data"]
    best = next(t for t in history if t["name"] == "best so far")
    assert best["line"]["shape"] == "hv"
    assert all(b >= a for a, b in zip(best["x"], best["x"][1:], strict=False))
    inter = p["figures"]["intermediate"]["data"]
    assert any(t["name"] == "pruned here" for t in inter)  # pruned runs are marked
    pareto = _json(client, "/api/studies/pareto/plots")
    assert "pareto" in pareto["order"]


def test_plots_escape_user_strings_for_plotly(client: TestClient) -> None:
    p = _json(client, "/api/studies/demo/plots")
    text = json.dumps(p)
    assert "&lt;img src=x onerror=alert(1)&gt;" in text  # plotly shows entities as text
    slices = p["figures"]["slices"]["layout"]
    cats = [ax.get("categoryarray") for ax in slices.values()
            if isinstance(ax, dict) and ax.get("type") == "category"]
    assert ["relu", "tanh", "&lt;img src=x onerror=alert(1)&gt;"] in cats
    # parcoords writes its tick labels as plain text: those stay raw (no entities shown)
    dims = p["figures"]["parallel"]["data"][0]["dimensions"]
    act = next(d for d in dims if d["label"] == "act")
    assert act["ticktext"] == ["relu", "tanh", HOSTILE]


def test_trial_table_sorts_filters_and_pages(client: TestClient) -> None:
    t = _json(client, "/api/studies/demo/trials?per_page=10")
    assert t["total"] == 36 and t["pages"] == 4 and len(t["rows"]) == 10
    keys = [c["key"] for c in t["columns"]]
    assert keys[:4] == ["number", "state", "m:loss", "m:acc"]
    assert [r[0] for r in t["rows"]] == list(range(35, 25, -1))  # newest first
    loss = keys.index("m:loss")
    asc = _json(client, "/api/studies/demo/trials?sort=m:loss&order=asc&per_page=500")
    values = [r[loss] for r in asc["rows"]]
    present = [v for v in values if v is not None]
    assert present == sorted(present) and values[len(present):] == [None] * (36 - len(present))
    desc = _json(client, "/api/studies/demo/trials?sort=m:loss&order=desc&per_page=500")
    dvalues = [r[loss] for r in desc["rows"]]
    assert [v for v in dvalues if v is not None] == sorted(present, reverse=True)
    assert dvalues[-1] is None  # missing values last either way
    failed = _json(client, "/api/studies/demo/trials?state=failed")
    assert failed["total"] == 3 and {r[1] for r in failed["rows"]} == {"failed"}
    lr = keys.index("p:lr")
    small = _json(client, "/api/studies/demo/trials?filter=lr%20%3C%200.01,%20state%3Dcomplete"
                          "&per_page=500")
    assert small["rows"] and all(r[lr] < 0.01 and r[1] == "complete" for r in small["rows"])
    hostile = _json(client, "/api/studies/demo/trials?filter=act%20~%20onerror&per_page=500")
    act = keys.index("p:act")
    assert hostile["rows"] and all(r[act] == HOSTILE for r in hostile["rows"])
    page3 = _json(client, "/api/studies/demo/trials?per_page=10&page=3")
    assert [r[0] for r in page3["rows"]] == [5, 4, 3, 2, 1, 0]


@pytest.mark.parametrize(("query", "message"), [
    ("sort=nope", "cannot sort by 'nope'"),
    ("filter=nosuch%3C1", "no column named 'nosuch'"),
    ("filter=lr", "cannot read the filter"),
    ("state=done", "state must be one of"),
    ("page=x", "page must be a whole number"),
    ("per_page=0", "per_page must be between"),
    ("order=up", "order must be asc or desc"),
])
def test_bad_table_queries_are_one_clear_error(client: TestClient, query: str,
                                               message: str) -> None:
    body = _json(client, f"/api/studies/demo/trials?{query}", status=400)
    assert message in body["error"]


def test_trial_detail_has_everything(client: TestClient) -> None:
    failed = _json(client, "/api/studies/demo/trials?state=failed")["rows"][0][0]
    t = _json(client, f"/api/studies/demo/trials/{failed}")
    assert t["state"] == "failed" and SCRIPTY in t["error"] and HOSTILE in t["error"]
    assert {p["name"] for p in t["params"]} == {"lr", "momentum", "layers", "act"}
    assert t["seed"] > 0 and t["worker"]
    assert any(r["key"] == "python" for r in t["environment"])
    pruned = _json(client, "/api/studies/demo/trials?state=pruned")["rows"][0][0]
    p = _json(client, f"/api/studies/demo/trials/{pruned}")
    assert p["pruned"]["step"] is not None and p["pruned"]["reason"]
    assert p["curve"]["data"][-1]["name"] == "pruned here"


def test_unknown_study_or_trial_is_404(client: TestClient) -> None:
    assert "no study named 'nope'" in _json(client, "/api/studies/nope", status=404)["error"]
    assert "no trial number 999" in _json(client, "/api/studies/demo/trials/999",
                                          status=404)["error"]
    r = client.get("/studies/nope")
    assert r.status_code == 404 and "no study named" in r.text


# -- live updates ----------------------------------------------------------------------------------
def test_since_reports_what_changed(fresh_url: str) -> None:
    import dialed

    study = dialed.create_study("live", storage=fresh_url, metrics={"loss": "minimize"}, seed=1)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    app = create_app(fresh_url, min_interval=0.0)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        v0 = _json(c, "/api/studies/live/since?version=-1")
        assert v0["n_trials"] == 3 and v0["changed"] is None  # too old to tell: reload
        same = _json(c, f"/api/studies/live/since?version={v0['version']}")
        assert same["version"] == v0["version"] and same["changed"] == []
        trial = study.ask()
        running = _json(c, f"/api/studies/live/since?version={v0['version']}")
        assert running["version"] > v0["version"] and running["counts"]["running"] == 1
        assert [r[0] for r in running["changed"]] == [3] and running["changed"][0][1] == "running"
        study.tell(trial, 0.01)
        done = _json(c, f"/api/studies/live/since?version={running['version']}")
        assert [r[0] for r in done["changed"]] == [3] and done["changed"][0][1] == "complete"
        assert done["best"]["number"] == 3 and done["counts"]["running"] == 0


# -- never writes ----------------------------------------------------------------------------------
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_reading_never_changes_the_database(demo_db: Path, client: TestClient) -> None:
    before = _digest(demo_db)
    for path in ("/", "/studies/demo", "/studies/demo/trials/3", "/api/studies",
                 "/api/studies/demo", "/api/studies/demo/plots", "/api/studies/demo/trials",
                 "/api/studies/demo/trials/3", "/api/studies/demo/since?version=0"):
        assert client.get(path).status_code == 200, path
    assert _digest(demo_db) == before


def test_missing_or_foreign_database_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    with pytest.raises(StorageError, match="no study database"):
        create_app(f"sqlite:///{missing}")
    assert not missing.exists()
    import sqlite3

    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = _digest(other)
    with pytest.raises(StorageError, match="not a dialed database"):
        create_app(f"sqlite:///{other}")
    assert _digest(other) == before
    with pytest.raises(StorageError, match="give --storage"):
        create_app("memory")


def test_storage_password_is_never_shown() -> None:
    store = MemoryStorage()
    store.url = "postgresql+psycopg://alice:s3cret-pw@db.example:5432/tuning"
    store.create_study("s", metrics={"loss": "minimize"}, seed=0)
    with TestClient(create_app(store), base_url="http://127.0.0.1") as c:
        for path in ("/", "/studies/s", "/api/studies", "/api/studies/s"):
            r = c.get(path)
            assert r.status_code == 200
            assert "s3cret-pw" not in r.text
        assert "alice:***@db.example" in c.get("/").text


# -- the guard -------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_only_get_and_head_are_allowed(client: TestClient, method: str) -> None:
    for path in ("/api/studies", "/api/studies/demo", "/studies/demo", "/static/dialed.js"):
        r = client.request(method, path)
        assert r.status_code == 405, (method, path)
        assert r.headers["allow"] == "GET, HEAD"
    assert client.head("/api/studies").status_code == 200


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/", "/api/studies", "/static/dialed.js", "/api/studies/nope"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert csp == CSP
        assert "unsafe-eval" not in csp
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert script_src.split() == ["script-src", "'self'"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
    assert client.get("/api/studies").headers["cache-control"] == "no-store"


def test_pages_escape_hostile_strings(client: TestClient) -> None:
    page = client.get("/studies/demo").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert HOSTILE not in page
    failed = _json(client, "/api/studies/demo/trials?state=failed")["rows"][0][0]
    trial = client.get(f"/studies/demo/trials/{failed}").text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in trial
    assert SCRIPTY not in trial and HOSTILE not in trial
    assert "<script>" not in trial.replace('<script src="/static/', "")


def test_without_a_token_only_loopback_hosts_are_answered(demo_url: str) -> None:
    with TestClient(create_app(demo_url), base_url="http://evil.example") as c:
        assert c.get("/api/studies").status_code == 403
    for host in ("http://localhost:8080", "http://127.0.0.1", "http://[::1]:9000"):
        with TestClient(create_app(demo_url), base_url=host) as c:
            assert c.get("/api/studies").status_code == 200, host


def test_token_is_checked_on_every_request(demo_url: str) -> None:
    app = create_app(demo_url, token=TOKEN)
    with TestClient(app, base_url="http://dashboard.example") as c:
        for path in ("/", "/api/studies", "/studies/demo", "/static/dialed.js"):
            r = c.get(path)
            assert r.status_code == 401, path
            assert "studies" not in r.text or "token" in r.text
        assert c.get("/api/studies", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.get("/api/studies?token=nope").status_code == 401
        ok = c.get("/api/studies", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["studies"]
        r = c.get(f"/studies/demo?token={TOKEN}&x=1", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/studies/demo?x=1"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert c.get("/studies/demo").status_code == 200  # the cookie from now on
        assert c.post("/api/studies").status_code == 405


def test_the_token_redirect_never_leaves_the_server() -> None:
    import asyncio

    from dialed.dashboard._security import Guard

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the redirect answers before the app")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "//evil.example/x",
             "query_string": f"token={TOKEN}".encode(), "headers": [(b"host", b"h:1")]}
    asyncio.run(Guard(app, token=TOKEN)(scope, receive, send))
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 303 and headers[b"location"] == b"/evil.example/x"


def test_a_bad_token_is_refused_up_front(demo_url: str) -> None:
    from dialed.errors import ConfigError

    with pytest.raises(ConfigError, match="at least 16 characters"):
        create_app(demo_url, token="short")
    with pytest.raises(ConfigError, match="at least 16 characters"):
        create_app(demo_url, token="has spaces and ; semicolons!")
