"""create_app(settings): the only place that wires the parts together."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette_compress import CompressMiddleware

from app import __version__
from app.config import Settings
from app.content.loader import ChapterLibrary
from app.content.markdown import build_markdown
from app.database import PoolSettings
from app.exercises.variant_ids import VariantIds
from app.fleet.code_runner import CodeRunner, LocalRunner
from app.fleet.endpoints import parse_runner_urls
from app.fleet.gpu import find_cuda
from app.fleet.remote import RemoteRunners
from app.instruments.catalog import CATALOG, INSTRUMENT_CATALOG
from app.instruments.chart_renderer import ChartRenderer
from app.lifecycle import Lifecycle
from app.runner.pool import RunnerPool
from app.schema import check_schema
from app.storage import ProgressStore
from app.web.conditional import HtmlValidators
from app.web.dependencies import public_origin
from app.web.errors import install_error_handlers
from app.web.instructor_auth import InstructorAuth
from app.web.instrument_views import drawn, initial_view
from app.web.learner import LearnerCookie
from app.web.request_log import RequestLog
from app.web.routes import (
    api,
    docs,
    exercises,
    instructor,
    instruments,
    instruments_api,
    notebook,
    pages,
    sitemap,
    snippets,
)
from app.web.routes.pages import PYGMENTS_CSS_URL
from app.web.security import BodySizeLimit, SecurityHeaders
from app.web.state import AppState
from app.web.static_files import REQUIRED_ASSETS, AssetDigests, HashedStaticFiles
from app.web.templating import build_templates

log = logging.getLogger("textbook")


class SecretKeyMissing(RuntimeError):
    """Replicas sharing a database must share the key that signs the learner cookie."""


def pool_settings(settings: Settings) -> PoolSettings:
    return PoolSettings(
        size=settings.database_pool_size,
        overflow=settings.database_max_overflow,
        timeout_s=settings.database_pool_timeout_s,
        connect_timeout_s=settings.database_connect_timeout_s,
        busy_timeout_s=settings.database_busy_timeout_s,
    )


def open_store(settings: Settings) -> ProgressStore:
    """The progress store, its schema checked: the embedded SQLite upgrades itself, any other
    database behind the code refuses to start (`SchemaBehind` names the command). A database
    that cannot be reached now is left to /readyz, which answers 503 until it can."""
    store = ProgressStore(settings.resolved_database_url(), pool=pool_settings(settings))
    if store.healthy_connection():
        check_schema(store.engine, upgrade_if_behind=settings.uses_embedded_database)
    else:
        log.warning("the database cannot be reached now; /readyz answers 503 until it can")
    return store


def build_local_runner(settings: Settings) -> LocalRunner:
    """This process's own sandboxed pool (the web app's default, and what a runner service serves)."""

    def pool(cuda: dict[str, list[str]] | None = None) -> RunnerPool:
        return RunnerPool(
            settings.runner_limits(),
            concurrency=settings.runner_workers,
            queue_size=settings.runner_queue,
            allow_unsafe=settings.runner_allow_unsafe,
            cuda=cuda,
            renew_template_s=settings.runner_template_renewal_s,
        )

    gpu = find_cuda()
    if settings.runner_gpu == "auto" and gpu.usable:
        log.info("runner: %s", gpu.describe())
        cuda = {"device_nodes": gpu.device_nodes, "driver_libraries": gpu.driver_libraries}
        return LocalRunner(pool(), pool(cuda), gpu=gpu.describe())
    return LocalRunner(pool(), gpu="off (TEXTBOOK_RUNNER_GPU=off)" if settings.runner_gpu == "off" else gpu.describe())


def build_code_runner(settings: Settings) -> CodeRunner:
    """Runner services when TEXTBOOK_RUNNER_URLS is set, else the in-process pool."""
    if settings.runner_urls:
        urls = parse_runner_urls(settings.runner_urls)
        interval = settings.runner_health_interval_s
        return RemoteRunners(urls, settings.runner_token, settings.runner_limits(), health_interval_s=interval)
    return build_local_runner(settings)


def canonical_url(settings: Settings, request: Request) -> str:
    """This page's URL without its query (shared instrument settings are the same page)."""
    return public_origin(settings, request) + request.url.path


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if not settings.uses_embedded_database and not settings.secret_key:
        # Replicas must sign and read the same learner cookie: a key generated into one
        # replica's data_dir would log every learner out on every other replica.
        raise SecretKeyMissing(
            "TEXTBOOK_SECRET_KEY must be set (the same on every replica) when TEXTBOOK_DATABASE_URL is set"
        )
    library = ChapterLibrary(settings.content_dir, build_markdown(INSTRUMENT_CATALOG))
    store = open_store(settings)
    code_runner = build_code_runner(settings)
    charts = ChartRenderer()
    assets = AssetDigests(settings.static_dir)
    missing_assets = assets.missing(REQUIRED_ASSETS)
    templates = build_templates(settings.templates_dir, code_runner.limits)
    templates.globals.update(
        static_url=assets.url,
        pygments_css_url=PYGMENTS_CSS_URL,
        canonical_url=lambda request: canonical_url(settings, request),
    )
    state = AppState(
        settings=settings,
        library=library,
        templates=templates,
        store=store,
        learners=LearnerCookie(settings.resolved_secret_key(), settings.cookie_secure),
        runner=code_runner,
        charts=charts,
        version=__version__,
        lifecycle=Lifecycle(),
        assets=assets,
        missing_assets=missing_assets,
        variant_ids=VariantIds(settings.resolved_secret_key()),
        instructor=(
            InstructorAuth(settings.instructor_token, settings.resolved_secret_key(), settings.cookie_secure)
            if settings.instructor_token
            else None
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        charts.start()
        await code_runner.start()
        log.info("runner: %s", code_runner.health())
        if missing_assets:
            log.error(
                "front-end assets missing from %s: %s; pages will load without them "
                "(run ./dev setup, e.g. ./dev check, to fetch them)",
                settings.static_dir / "vendor",
                ", ".join(missing_assets),
            )
        # Render every chapter and draw (and keep) its instruments' first charts before the
        # first request, so a class opening the chapter at once finds them ready.
        for chapter in library.chapters():
            for instrument in chapter.instruments:
                await drawn(initial_view(instrument, charts), charts, keep=True)
        for name in state.templates.list_templates(extensions=["html"]):
            state.templates.get_template(name)  # compiled now, not by the first visitor
        # What startup built lives as long as the app. Frozen, it is skipped by every later
        # collection: a full collection of it took 25-125 ms, a pause in every open request.
        gc.collect()
        gc.freeze()
        state.lifecycle.started = True
        try:
            yield
        finally:
            state.lifecycle.draining = True
            gc.unfreeze()
            await code_runner.close()
            charts.close()
            store.close()

    app = FastAPI(
        title="AI // Encyclopedia",
        version=__version__,
        description="An interactive machine-learning textbook that runs its own numbers.",
        lifespan=lifespan,
        docs_url=None,  # /docs is routes/docs.py: self-hosted Swagger UI under the site's CSP
        redoc_url=None,
    )
    app.state.textbook = state
    install_error_handlers(app)
    # Outermost last: security headers on everything, then compression of what the
    # validators (ETag / 304 on HTML) and the body cap let through.
    app.add_middleware(BodySizeLimit)
    app.add_middleware(HtmlValidators)
    app.add_middleware(CompressMiddleware, zstd=False, brotli_quality=5, gzip_level=6)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog, enabled=settings.access_log)  # outermost: logs every answer, errors included
    app.mount("/static", HashedStaticFiles(assets), name="static")
    for module in (pages, exercises, instruments):
        app.include_router(module.router)
    app.include_router(instruments_api.router_for(CATALOG))
    for module in (snippets, notebook, api, docs, sitemap):
        app.include_router(module.router)
    if state.instructor is not None:  # without a token the instructor view does not exist
        app.include_router(instructor.router)
    return app
