"""The `xinda` command: a face over the same pipeline functions the HTTP API calls."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from evals.dataset import load_eval_set
from evals.run import (
    answer_summary,
    answer_table,
    retrieval_table,
    run_answers,
    run_retrieval,
    write_reports,
)
from index.retriever import MODES, Mode
from ingest.errors import BadInput, IndexMismatch, NotFound, XinDaError
from ingest.pipeline import Skipped, chunk_files, collect_files
from ingest.tokens import e5_token_counter
from service.settings import Settings
from service.wiring import make_builder, make_pipeline, make_retriever

app = typer.Typer(
    name="xinda",
    help="XinDa (芯答): cited answers from Chinese semiconductor-industry documents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
T = TypeVar("T")
out = Console(soft_wrap=True)
err = Console(stderr=True)

# Exit codes from CONTRACT.md: 2 for bad usage or input, 1 for a failed gate or answer error.
_EXIT_CODES: dict[type[XinDaError], int] = {BadInput: 2, NotFound: 2, IndexMismatch: 2}


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def _errors_to_exit() -> Iterator[None]:
    """Map XinDa's errors to a one-line message and an exit code, never a traceback."""
    try:
        yield
    except XinDaError as exc:
        code = next((c for kind, c in _EXIT_CODES.items() if isinstance(exc, kind)), 1)
        _fail(str(exc), code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"XINDA_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        _fail(f"bad setting: {problems}", 2)


class _RichProgress:
    """Adapts a rich progress bar to the builder's Progress protocol."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, description: str, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.task = self.progress.add_task(description, total=total)

    def advance(self, steps: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, steps)


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


PathsArg = Annotated[list[Path], typer.Argument(help="Files or folders.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]


@app.command()
def chunks(paths: PathsArg, as_json: JsonOpt = False) -> None:
    """Show how files are cut into chunks, without indexing them."""
    settings = _settings()
    with _errors_to_exit():
        files = collect_files(paths)
        count = e5_token_counter()
        table = Table("source", "lines", "tokens", "section", "text", show_lines=False)
        skipped: list[Skipped] = []
        for result in chunk_files(files, count, settings.chunk_settings):
            if isinstance(result, Skipped):
                skipped.append(result)
                continue
            for chunk in result.chunks:
                if as_json:
                    out.print(
                        json.dumps(chunk.to_dict(), ensure_ascii=False),
                        markup=False,
                        highlight=False,
                    )
                else:
                    preview = chunk.text.replace("\n", " ⏎ ")
                    table.add_row(
                        chunk.source,
                        f"{chunk.line_start}-{chunk.line_end}",
                        str(chunk.tokens),
                        chunk.section or "",
                        preview[:80] + ("…" if len(preview) > 80 else ""),
                    )
        if not as_json:
            out.print(table)
        for skip in skipped:
            err.print(f"skipped {skip.path}: {skip.reason}", highlight=False)
        if not files:
            _fail("no supported files (txt, md, html, pdf, docx) found", 2)


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders; default: the bundled corpus.", show_default=False),
    ] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start a fresh index.")] = False,
) -> None:
    """Read, clean and chunk documents into a new index version under XINDA_HOME."""
    settings = _settings()
    with _errors_to_exit():
        builder = make_builder(settings)
        with _progress_bar() as bar:
            summary = builder.ingest(
                paths or [settings.corpus_dir], rebuild=rebuild, progress=_RichProgress(bar)
            )
        out.print(summary.line(), highlight=False)


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="What to look for (Chinese or English).")],
    k: Annotated[int, typer.Option("-k", min=1, max=20, help="Number of passages.")] = 5,
    mode: Annotated[
        str, typer.Option(help="hybrid, dense or bm25 (default: XINDA_SEARCH_MODE).")
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Retrieve the passages that best match a question (no answer generation)."""
    settings = _settings()
    with _errors_to_exit():
        retriever = make_retriever(settings)
        chosen = _mode(mode or settings.search_mode)
        if chosen == "hybrid" and settings.llm != "extractive" and settings.translate_english:
            pipeline = make_pipeline(settings, lambda: retriever)
            result = pipeline.search(question, k=k).result
        else:
            result = retriever.search(question, k=k, mode=chosen)
        if as_json:
            out.print(
                json.dumps(result.to_dict(), ensure_ascii=False), markup=False, highlight=False
            )
            return
        for hit in result.hits:
            chunk = hit.chunk
            why = hit.why
            ranks = ""
            if why is not None:
                d = why.dense.rank if why.dense else "-"
                b = why.bm25.rank if why.bm25 else "-"
                ranks = f" (dense #{d}, bm25 #{b})"
            out.print(
                f"[bold][{hit.rank}][/bold] {chunk.source}:{chunk.line_start}-{chunk.line_end}"
                f" score {hit.score:.4f}{ranks}  [dim]{chunk.section or ''}[/dim]"
            )
            out.print("    " + chunk.text[:240].replace("\n", " ⏎ "), markup=False, highlight=False)
        out.print(f"[dim]{result.timings_ms.get('total', 0):.0f} ms[/dim]")


@app.command("eval")
def eval_command(
    eval_set: Annotated[Path, typer.Option("--set", help="Eval set (JSON lines).")] = Path(
        "evals/qa.jsonl"
    ),
    split: Annotated[str, typer.Option(help="dev, test or all.")] = "test",
    modes: Annotated[
        str, typer.Option("--modes", help="Comma-separated retrieval modes to compare.")
    ] = "hybrid",
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the reports.")] = Path(
        "eval-report"
    ),
    llm: Annotated[
        str, typer.Option("--llm", help="Also answer with these backends (comma-separated).")
    ] = "",
    translate_with: Annotated[
        str,
        typer.Option(help="Also measure retrieval with this LLM translating English questions."),
    ] = "",
) -> None:
    """Run an eval set: retrieval recall@1/5/10 and MRR; with --llm also answer accuracy,
    refusals, citation validity and language; writes report.json and report.md."""
    settings = _settings()
    with _errors_to_exit():
        items = load_eval_set(eval_set)
        if split != "all":
            items = [i for i in items if i.split == split]
        if not items:
            raise BadInput(f"no items in split {split!r} of {eval_set}")
        retriever = make_retriever(settings)
        reports = []
        pipeline = make_pipeline(settings, lambda: retriever)
        with _progress_bar() as bar:
            for mode in modes.split(","):
                reports.append(
                    run_retrieval(items, retriever, _mode(mode.strip()), _RichProgress(bar))
                )
            if translate_with:
                reports.append(
                    run_retrieval(
                        items,
                        retriever,
                        "hybrid",
                        _RichProgress(bar),
                        translate_with=(pipeline, translate_with),
                    )
                )
        summaries: dict[str, dict[str, Any]] = {}
        records = {}
        if llm:
            for backend in [b.strip() for b in llm.split(",") if b.strip()]:
                with _progress_bar() as bar:
                    rows = run_answers(
                        items, pipeline, backend, settings.corpus_dir, _RichProgress(bar)
                    )
                records[backend] = rows
                summaries[backend] = answer_summary(rows)
        header = f"set `{eval_set}`, split `{split}`, {len(items)} items"
        write_reports(out_dir, reports, header, summaries, records)
        out.print(retrieval_table(reports), markup=False, highlight=False)
        for backend, summary in summaries.items():
            out.print("")
            out.print(answer_table(backend, summary), markup=False, highlight=False)
        out.print(f"reports written to {out_dir}/", highlight=False)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question (Chinese or English).")],
    k: Annotated[int, typer.Option("-k", min=1, max=20, help="Passages to retrieve.")] = 5,
    llm: Annotated[
        str, typer.Option(help="local, openai or extractive (default: XINDA_LLM).")
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Answer a question with cited passages (the same pipeline as POST /v1/ask)."""
    settings = _settings()
    with _errors_to_exit():
        pipeline = make_pipeline(settings, _cached(lambda: make_retriever(settings)))
        answer = pipeline.answer(question, k=k, backend=llm or None)
        if as_json:
            out.print(
                json.dumps(answer.to_dict(), ensure_ascii=False), markup=False, highlight=False
            )
            return
        out.print(answer.answer, markup=False, highlight=False)
        for c in answer.citations:
            out.print(
                f"  [{c.n}] {c.hit.chunk.source}:{c.hit.chunk.line_start}-{c.hit.chunk.line_end}"
                f"  {c.hit.chunk.section or ''}",
                markup=False,
                highlight=False,
            )
        out.print(f"[dim]{answer.backend}, {answer.timings_ms.get('total', 0):.0f} ms[/dim]")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address (default: XINDA_HOST).")] = "",
    port: Annotated[int, typer.Option(help="Port (default: XINDA_PORT).")] = 0,
) -> None:
    """Serve the HTTP API (and the web UI at /ui) with uvicorn."""
    import uvicorn

    from service.api import create_app
    from service.log_format import configure_json_logging

    settings = _settings()
    with _errors_to_exit():
        app_ = create_app(settings)
        configure_json_logging()
        uvicorn.run(app_, host=host or settings.host, port=port or settings.port, log_level="info")


def _cached(factory: Callable[[], T]) -> Callable[[], T]:
    made: list[T] = []

    def get() -> T:
        if not made:
            made.append(factory())
        return made[0]

    return get


def _mode(value: str) -> Mode:
    if value not in MODES:
        raise BadInput(f"unknown search mode {value!r}; use one of {', '.join(MODES)}")
    return value


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit:
        raise
    except Exception as exc:  # the last guard: a bug still gets a line, not a traceback
        err.print(f"[red]internal error:[/red] {type(exc).__name__}: {exc}", highlight=False)
        err.print("this is a bug in XinDa; please report it", highlight=False)
        sys.exit(1)
