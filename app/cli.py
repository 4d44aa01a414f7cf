"""The `textbook` command: serve, check (lint content and run its snippets), db (migrations), runner (serve, health)."""

from __future__ import annotations

import argparse
import copy
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import ValidationError

from app.config import Settings

log = logging.getLogger("textbook")


def logging_config(level: str) -> dict[str, Any]:
    """uvicorn's own logging, plus the app's loggers, and the access log as bare JSON lines on stdout."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["json_line"] = {"format": "%(message)s"}
    config["handlers"]["access_json"] = {
        "class": "logging.StreamHandler",
        "formatter": "json_line",
        "stream": "ext://sys.stdout",
    }
    for name in ("app", "textbook"):
        config["loggers"][name] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    config["loggers"]["textbook.access"] = {"handlers": ["access_json"], "level": level.upper(), "propagate": False}
    return config


def draining_server(config: Any, lifecycle: Any, drain_s: float) -> Any:
    """A uvicorn server whose SIGTERM drains: /readyz turns 503 at once, the listener closes
    after `drain_s` (time for the balancer to notice), requests in flight get the graceful
    shutdown's time to finish, the lifespan closes the runner pool and database pool, and the
    process exits 0. SIGINT (Ctrl-C) stops as uvicorn always does."""
    import uvicorn

    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if sig != signal.SIGTERM:
                super().handle_exit(sig, frame)
                return
            if lifecycle.draining:
                return
            lifecycle.draining = True
            log.info("SIGTERM: draining (not ready), closing the listener in %.1f s", drain_s)
            if drain_s <= 0:
                self.should_exit = True
            else:
                timer = threading.Timer(drain_s, lambda: setattr(self, "should_exit", True))
                timer.daemon = True
                timer.start()

    return DrainingServer(config)


def serve(settings: Settings, reload: bool) -> int:
    import uvicorn

    from app.main import SecretKeyMissing, create_app
    from app.schema import SchemaBehind

    level = settings.log_level.lower()
    if reload:
        uvicorn.run(
            "app.main:create_app", factory=True, host=settings.host, port=settings.port, reload=True, log_level=level
        )
        return 0
    try:
        app = create_app(settings)
    except (SchemaBehind, SecretKeyMissing) as error:
        print(f"textbook: {error}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=level,
        log_config=logging_config(level),
        access_log=False,  # app.web.request_log writes one JSON line per request instead
        timeout_graceful_shutdown=settings.shutdown_grace_s,  # type: ignore[arg-type]  # seconds; a float works
    )
    server = draining_server(config, app.state.textbook.lifecycle, settings.drain_s)
    server.run()
    return 0 if server.started else 3


RUNNER_PORT = 8200


def runner_serve(settings: Settings, host: str, port: int) -> int:
    """The runner service: this host's sandboxed pool behind POST /v1/run and GET /v1/health."""
    import uvicorn

    from app.fleet.access import AccessConfigError
    from app.fleet.service import create_runner_service
    from app.main import build_local_runner

    try:
        app = create_runner_service(settings, build_local_runner(settings), host=host)
    except AccessConfigError as refused:
        print(f"textbook runner serve: {refused}", file=sys.stderr)
        return 2
    # Keep-alive longer than the web app's idle expiry (2 s), so it always closes an idle connection first.
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), timeout_keep_alive=30)
    return 0


def runner_health(settings: Settings, url: str) -> int:
    """Exit 0 when the runner service at `url` answers and can run code (container and Kubernetes probes)."""
    import urllib.error
    import urllib.request

    headers = {"Authorization": f"Bearer {settings.runner_token}"} if settings.runner_token else {}
    request = urllib.request.Request(f"{url.rstrip('/')}/v1/health", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            health = json.loads(response.read())
    except urllib.error.HTTPError as refused:
        print(f"runner at {url}: HTTP {refused.code}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as failed:
        print(f"runner at {url}: {failed}", file=sys.stderr)
        return 1
    if not isinstance(health, dict):
        print(f"runner at {url}: the health answer is not an object", file=sys.stderr)
        return 1
    level, devices, in_flight = health.get("level"), health.get("devices"), health.get("in_flight")
    print(f"runner at {url}: isolation {level}, devices {devices}, in flight {in_flight}")
    return 0 if health.get("level") in ("full", "unsafe") else 1


def check(settings: Settings, run_snippets: bool) -> int:
    from app.content.check import check_content

    # Problems are printed below as path:line: message; the loader's log lines would repeat them.
    logging.getLogger("app.content.loader").setLevel(logging.ERROR)
    problems = check_content(settings, run_snippets=run_snippets)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", file=sys.stderr)
        return 1
    print("content ok", file=sys.stderr)
    return 0


def database(settings: Settings, action: str, revision: str) -> int:
    """`db upgrade`: apply the migrations. `db current`: where the schema stands (exit 1 if behind)."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.database import make_engine
    from app.schema import schema_state, upgrade

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    engine = make_engine(settings.resolved_database_url())
    shown = engine.url.render_as_string(hide_password=True)
    try:
        if action == "upgrade":
            state = upgrade(engine, revision)
            print(f"{shown}: schema at {state.current} (head {state.head})")
            return 0
        state = schema_state(engine)
    except SQLAlchemyError as error:
        print(
            f"textbook: the database {shown} cannot be used: {getattr(error, 'orig', None) or error}", file=sys.stderr
        )
        return 2
    finally:
        engine.dispose()
    if state.is_current:
        print(f"{state.current} (head): up to date")
        return 0
    if state.is_ahead:
        print(f"{state.current}: newer than this code's head {state.head}")
        return 0
    print(f"{state.current or 'empty'}: behind head {state.head}; run `textbook db upgrade`")
    return 1


def settings_problems(error: ValidationError) -> str:
    """What is wrong with the settings, one line per variable, in the names an operator sets."""
    lines = ["textbook: nothing started, a setting is not valid:"]
    for problem in error.errors():
        name = "TEXTBOOK_" + "_".join(str(part) for part in problem["loc"]).upper()
        given = problem.get("input")
        lines.append(f"  {name}={given!r}: {problem['msg']}" if problem["loc"] else f"  {problem['msg']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="textbook", description="AI // Encyclopedia")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the textbook (http://127.0.0.1:8000 by default)")
    serve_cmd.add_argument("--host")
    serve_cmd.add_argument("--port", type=int)
    serve_cmd.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    check_cmd = commands.add_parser("check", help="validate every chapter and run its snippets")
    check_cmd.add_argument("--content-dir", type=Path, help="check this content directory instead")
    check_cmd.add_argument("--no-run", action="store_true", help="skip running the snippets")
    db_cmd = commands.add_parser("db", help="the progress database's schema (TEXTBOOK_DATABASE_URL)")
    db_actions = db_cmd.add_subparsers(dest="action", required=True)
    upgrade_cmd = db_actions.add_parser("upgrade", help="apply the migrations (to the newest revision by default)")
    upgrade_cmd.add_argument("revision", nargs="?", default="head")
    db_actions.add_parser("current", help="print the schema's revision; exit 1 if it is behind the code")
    runner_cmd = commands.add_parser("runner", help="the runner service: student code on hosts of its own")
    runner_commands = runner_cmd.add_subparsers(dest="runner_command", required=True)
    runner_serve_cmd = runner_commands.add_parser(
        "serve", help="serve this host's sandboxed pool to the web app (POST /v1/run)"
    )
    runner_serve_cmd.add_argument(
        "--host", dest="runner_host", default="127.0.0.1", help="default 127.0.0.1; others need TEXTBOOK_RUNNER_TOKEN"
    )
    runner_serve_cmd.add_argument(
        "--port", dest="runner_port", type=int, default=RUNNER_PORT, help=f"default {RUNNER_PORT}"
    )
    runner_health_cmd = runner_commands.add_parser(
        "health", help="exit 0 when a runner service answers and can run code"
    )
    runner_health_cmd.add_argument("--url", default=f"http://127.0.0.1:{RUNNER_PORT}")
    args = parser.parse_args(argv)

    overrides = {k: v for k, v in vars(args).items() if k in ("host", "port", "content_dir") and v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        print(settings_problems(exc), file=sys.stderr)
        return 2
    if args.command == "serve":
        return serve(settings, args.reload)
    if args.command == "db":
        return database(settings, args.action, getattr(args, "revision", "head"))
    if args.command == "runner":
        if args.runner_command == "serve":
            return runner_serve(settings, args.runner_host, args.runner_port)
        return runner_health(settings, args.url)
    return check(settings, run_snippets=not args.no_run)


if __name__ == "__main__":
    sys.exit(main())
