"""The `textbook` command: serve, check (lint content and run its snippets), run-snippets."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from app.config import Settings


def serve(settings: Settings, reload: bool) -> int:
    import uvicorn

    from app.main import create_app

    logging_level = settings.log_level.lower()
    if reload:
        uvicorn.run("app.main:create_app", factory=True, host=settings.host, port=settings.port, reload=True, log_level=logging_level)
    else:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=logging_level)
    return 0


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
    args = parser.parse_args(argv)

    overrides = {k: v for k, v in vars(args).items() if k in ("host", "port", "content_dir") and v is not None}
    settings = Settings(**overrides)
    if args.command == "serve":
        return serve(settings, args.reload)
    return check(settings, run_snippets=not args.no_run)


if __name__ == "__main__":
    sys.exit(main())
