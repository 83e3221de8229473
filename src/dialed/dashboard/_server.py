"""The dashboard's web app on Starlette: pages, the JSON API and the static files.

Pages (HTML, rendered on the server): ``/`` (studies), ``/studies/{name}`` and
``/studies/{name}/trials/{number}``. The JSON API, read-only like everything here:

- ``GET /api/studies``: every study with its state, trials by state, best value, last activity;
- ``GET /api/studies/{name}``: the overview (metrics, space, counts, best, notes, workflow);
- ``GET /api/studies/{name}/plots``: the plots, aggregated and downsampled on the server;
- ``GET /api/studies/{name}/trials?sort=&order=&state=&filter=&page=&per_page=``: one page of
  the trial table;
- ``GET /api/studies/{name}/trials/{number}``: one trial;
- ``GET /api/studies/{name}/since?version=N``: what changed after version ``N`` (the pages
  poll this every two seconds).

Routes are plain functions, so Starlette runs them in its thread pool and a slow storage read
never blocks the event loop.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dialed._version import __version__
from dialed.dashboard._model import Dashboard, NotFound
from dialed.dashboard._render import environment, json_text
from dialed.dashboard._security import Guard
from dialed.dashboard._source import open_read_only
from dialed.errors import ConfigError, StorageError
from dialed.storage import Storage

__all__ = ["check_token", "create_app"]

_TOKEN = re.compile(r"^[A-Za-z0-9._~\-]{16,512}$")


def check_token(token: str | None) -> str | None:
    """``token`` if it can be used as one (16+ URL-safe characters); ConfigError if not."""
    if token is not None and not _TOKEN.match(token):
        raise ConfigError(
            "the access token must be at least 16 characters from A-Z a-z 0-9 . _ ~ - "
            "(leave --token out and one is generated)"
        )
    return token


class _JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json_text(content).encode("utf-8")


def create_app(storage: str | Storage, *, token: str | None = None,
               min_interval: float = 0.5, importance: bool = True) -> Any:
    """The dashboard as an ASGI app reading ``storage`` (a URL or a storage object).

    With ``token`` every request must carry it (see :mod:`dialed.dashboard._security`);
    without one, only requests addressed to a loopback host are answered.
    """
    check_token(token)
    source = open_read_only(storage)
    model = Dashboard(source, min_interval=min_interval, importance=importance)
    templates = environment()

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = templates.get_template(name).render(
            storage=source.shown_url, version=__version__, **context)
        return HTMLResponse(html, status_code=status)

    def not_found(exc: NotFound) -> HTMLResponse:
        return page("error.html", 404, title="not found", message=str(exc))

    # -- pages ---------------------------------------------------------------------------------
    def studies_page(request: Request) -> Response:
        return page("studies.html")

    def study_page(request: Request) -> Response:
        try:
            o = model.overview(request.path_params["name"])
        except NotFound as exc:
            return not_found(exc)
        return page("study.html", o=o)

    def trial_page(request: Request) -> Response:
        name, number = request.path_params["name"], request.path_params["number"]
        try:
            t = model.trial(name, number)
        except NotFound as exc:
            return not_found(exc)
        return page("trial.html", t=t)

    # -- the API -------------------------------------------------------------------------------
    def api(fn: Any) -> Any:
        def endpoint(request: Request) -> Response:
            try:
                return _JSON(fn(request))
            except NotFound as exc:
                return _JSON({"error": str(exc)}, status_code=404)
            except ConfigError as exc:
                return _JSON({"error": str(exc)}, status_code=400)
            except StorageError as exc:
                return _JSON({"error": str(exc)}, status_code=503)

        return endpoint

    def api_studies(request: Request) -> Any:
        return model.studies()

    def api_study(request: Request) -> Any:
        return model.overview(request.path_params["name"])

    def api_plots(request: Request) -> Any:
        return model.plots(request.path_params["name"])

    def api_trials(request: Request) -> Any:
        q = request.query_params
        return model.table(
            request.path_params["name"],
            sort=q.get("sort", "number"), order=q.get("order", "desc"),
            state=q.get("state") or None, query=q.get("filter", ""),
            page=_int(q.get("page"), "page", 0), per_page=_int(q.get("per_page"), "per_page", 50),
        )

    def api_trial(request: Request) -> Any:
        return model.trial(request.path_params["name"], request.path_params["number"])

    def api_since(request: Request) -> Any:
        version = _int(request.query_params.get("version"), "version", -1)
        return model.since(request.path_params["name"], version)

    static = StaticFiles(packages=[("dialed.dashboard", "static")])
    routes = [
        Route("/", studies_page),
        Route("/studies/{name}", study_page),
        Route("/studies/{name}/trials/{number:int}", trial_page),
        Route("/api/studies", api(api_studies)),
        Route("/api/studies/{name}", api(api_study)),
        Route("/api/studies/{name}/plots", api(api_plots)),
        Route("/api/studies/{name}/trials", api(api_trials)),
        Route("/api/studies/{name}/trials/{number:int}", api(api_trial)),
        Route("/api/studies/{name}/since", api(api_since)),
        Mount("/static", app=static, name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.dashboard = model
    return Guard(app, token=token)


def _int(text: str | None, name: str, default: int) -> int:
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {text!r}") from None
