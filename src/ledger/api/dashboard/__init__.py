"""The built-in dashboard (issue 16): server-rendered pages under ``/dashboard``."""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from ledger.api.dashboard.controller import DashboardController

HERE = Path(__file__).parent


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine)


def dashboard_routes() -> list[object]:
    """The pages and their stylesheet (no key needed for the stylesheet)."""
    static: Router = create_static_files_router(
        path="/dashboard/static", directories=[HERE / "static"], include_in_schema=False,
        name="dashboard-static")
    return [static, DashboardController]
