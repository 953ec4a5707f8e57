"""The served app: the HTTP API with the Gradio chat page mounted at /ui (`xinda serve`).

The edge for the web face: settings are read here and passed in. Gradio is imported only
after its environment is set, so uploads land in a private folder under XINDA_HOME and no
telemetry is attempted (the server may have no internet at all).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from service.api import ServiceState, create_app
from service.settings import Settings

UI_PATH = "/ui"


def gradio_temp_dir(home: Path) -> Path:
    """Gradio's upload folder under XINDA_HOME, readable by this user only."""
    folder = home / "gradio"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)  # also when it existed with looser rights
    return folder.resolve()


def configure_gradio(home: Path) -> None:
    """Gradio's process-wide settings, from environment variables it reads on use."""
    os.environ["GRADIO_TEMP_DIR"] = str(gradio_temp_dir(home))
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def create_server_app(settings: Settings | None = None) -> FastAPI:
    """The API app (service.api.create_app) with the chat page at /ui and / redirecting there."""
    settings = settings or Settings()
    configure_gradio(settings.home)
    import gradio as gr

    from ui.page import PageOptions, available_backends, build_page
    from ui.page_style import CSS, FONTS, JS

    app = create_app(settings)
    state: ServiceState = app.state.xinda
    options = PageOptions(
        backends=available_backends(
            settings.llm,
            settings.llm_model_file,
            openai_configured=settings.llm == "openai"
            or "openai_base_url" in settings.model_fields_set,
        ),
        k=settings.retrieval_k,
        uploads_enabled=bool(settings.api_key),
        max_upload_mb=settings.max_upload_mb,
    )
    page = build_page(state, options)
    theme = gr.themes.Soft(
        primary_hue="indigo",
        font=(gr.themes.LocalFont("IBM Plex Sans"), *FONTS),
    )
    gr.mount_gradio_app(
        app,
        page,
        path=UI_PATH,
        max_file_size=f"{settings.max_upload_mb}mb",
        ssr_mode=False,  # no Node server: one process, nothing else listening
        mcp_server=False,
        run_history=False,
        footer_links=["settings"],
        show_error=False,  # XinDa's errors are shown by the page; others stay in the log
        theme=theme,
        css=CSS,
        js=JS,
    )
    # Gradio receives files before a handler sees them: let its upload route take bodies
    # as large as an upload (the API's middleware caps every other body at 256 KiB).
    app.state.upload_paths = (*app.state.upload_paths, f"{UI_PATH}/gradio_api/upload")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        """The chat page is the front door."""
        return RedirectResponse(f"{UI_PATH}/")

    return app
