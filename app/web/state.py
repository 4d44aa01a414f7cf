"""AppState: the parts one app instance is wired from, reachable from every route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from jinja2 import Environment

from app.config import Settings
from app.content.loader import ChapterLibrary
from app.exercises.variant_ids import VariantIds
from app.instruments.chart_renderer import ChartRenderer
from app.lifecycle import Lifecycle
from app.web.instructor_auth import InstructorAuth
from app.web.learner import LearnerCookie
from app.web.static_files import AssetDigests

if TYPE_CHECKING:
    from app.fleet.code_runner import CodeRunner
    from app.storage import ProgressStore


@dataclass
class AppState:
    settings: Settings
    library: ChapterLibrary
    templates: Environment
    store: ProgressStore
    learners: LearnerCookie
    runner: CodeRunner
    charts: ChartRenderer
    version: str
    lifecycle: Lifecycle
    assets: AssetDigests
    missing_assets: list[str]
    variant_ids: VariantIds
    instructor: InstructorAuth | None = None  # None: no instructor token set, no instructor view


async def app_state(request: Request) -> AppState:
    # async: a plain def dependency would cost every request a trip to the thread pool
    return request.app.state.textbook
