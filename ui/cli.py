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

from evals.baseline import compare, comparison_markdown, load_report
from evals.dataset import load_eval_set
from evals.gates import check_gates, load_gates, verdict_table
from evals.report import build_report, report_markdown, write_report
from evals.run import run_answers, run_retrieval
from evals.sample import DEFAULT_SEED, stratified_sample
from index.retriever import MODES, Mode
from ingest.errors import BadInput, IndexMismatch, NotFound, XinDaError
from ingest.pipeline import Skipped, chunk_files, collect_files
from ingest.tokens import e5_token_counter
from service.settings import Settings
from service.wiring import make_builder, make_pipeline, make_retriever, make_store

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
    """Adapts a rich progress bar to the builder's Progress protocol.

    Off a terminal (a CI log) rich draws the bar only when it ends, so a long stage (the
    local LLM answering 40 questions) would print nothing for many minutes; there a plain
    line is written at every tenth of the way instead.
    """

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.lines = not progress.console.is_terminal
        self.description, self.total, self.done = "", 0, 0

    def start(self, description: str, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.task = self.progress.add_task(description, total=total)
        self.description, self.total, self.done = description, total, 0

    def advance(self, steps: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, steps)
        before, self.done = self.done, self.done + steps
        if self.lines and self.total and self.done < self.total:
            if self.done * 10 // self.total > before * 10 // self.total:
                self.progress.console.print(
                    f"{self.description} {self.done}/{self.total}", highlight=False
                )


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


@app.command()
def stats(as_json: JsonOpt = False) -> None:
    """Show the current index version: counts, vector index type, memory and disk sizes."""
    import time

    from index.stats import index_stats

    settings = _settings()
    with _errors_to_exit():
        started = time.perf_counter()
        version = make_store(settings).current()
        retriever = make_retriever(settings)
        data = index_stats(version, retriever)
        data["load_seconds"] = round(time.perf_counter() - started, 2)
        if as_json:
            out.print(json.dumps(data, ensure_ascii=False), markup=False, highlight=False)
            return
        vectors = data["vectors"]
        params = ", ".join(
            f"{k} {vectors[k]}" for k in ("nlist", "nprobe", "collection") if k in vectors
        )
        rows = [
            ("version", data["version"]),
            ("documents / chunks", f"{data['documents']} / {data['chunks']}"),
            (
                "vector store",
                f"{vectors['store']} {vectors['index']}, {vectors['vectors']} × {vectors['dim']}"
                + (f" ({params})" if params else ""),
            ),
            ("vector index memory", _mib(vectors.get("memory_bytes"))),
            ("BM25 memory", _mib(data["bm25"]["memory_bytes"])),
            ("index on disk", _mib(data["disk_bytes"])),
            (
                "process RSS (peak)",
                f"{_mib(data['process'].get('rss_bytes'))} "
                f"({_mib(data['process'].get('peak_rss_bytes'))})",
            ),
            ("load time", f"{data['load_seconds']} s (checksums, embedder, indexes)"),
        ]
        table = Table("", "", show_header=False)
        for name, value in rows:
            table.add_row(name, str(value))
        out.print(table)


def _mib(value: int | None) -> str:
    return (
        "n/a (Milvus manages it; see the process RSS)"
        if value is None
        else f"{value / 2**20:.1f} MiB"
    )


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
    sample: Annotated[
        int | None,
        typer.Option(min=1, help="Only a fixed stratified sample of N items (by language × type)."),
    ] = None,
    gates_file: Annotated[
        Path | None,
        typer.Option("--gates", help="Check the gates in this TOML file; exit 1 if one fails."),
    ] = None,
    baseline_file: Annotated[
        Path | None,
        typer.Option("--baseline", help="A previous report.json: list the flipped questions."),
    ] = None,
) -> None:
    """Run an eval set: retrieval recall@1/5/10 and MRR; with --llm also answer accuracy,
    refusals, citation validity/support, language and latency per stage; writes
    report.json, report.md and report.png to --out."""
    settings = _settings()
    with _errors_to_exit():
        backends = [b.strip() for b in llm.split(",") if b.strip()]
        gates = load_gates(gates_file) if gates_file else None
        if gates is not None and not backends:
            raise BadInput("--gates checks answer metrics: name the backends with --llm")
        baseline = load_report(baseline_file) if baseline_file else None
        items = load_eval_set(eval_set)
        if split != "all":
            items = [i for i in items if i.split == split]
        if not items:
            raise BadInput(f"no items in split {split!r} of {eval_set}")
        if sample is not None:
            items = stratified_sample(items, sample)
        retriever = make_retriever(settings)
        pipeline = make_pipeline(settings, lambda: retriever)
        retrieval = []
        with _progress_bar() as bar:
            for mode in modes.split(","):
                report = run_retrieval(items, retriever, _mode(mode.strip()), _RichProgress(bar))
                retrieval.append(report.to_dict())
            if translate_with:
                translated = (pipeline, translate_with)
                report = run_retrieval(
                    items, retriever, "hybrid", _RichProgress(bar), translate_with=translated
                )
                retrieval.append(report.to_dict())
        records = {}
        for backend in backends:
            with _progress_bar() as bar:
                records[backend] = run_answers(
                    items, pipeline, backend, settings.corpus_dir, _RichProgress(bar)
                )
        meta = _eval_meta(eval_set, split, sample, len(items), settings)
        data = build_report(meta, retrieval, records)
        verdicts = check_gates(data["headline"], gates) if gates is not None else []
        gates_md = None
        if gates is not None:
            data["gates"] = [v.to_dict() for v in verdicts]
            gates_md = verdict_table(verdicts)
            for backend in backends:
                if backend not in gates:
                    gates_md += f"\n\nNo gates for {backend} in {gates_file}."
        baseline_md = None
        if baseline is not None:
            comparison = compare(baseline, data, str(baseline_file))
            data["baseline"] = comparison.to_dict()
            baseline_md = comparison_markdown(comparison, backends)
        markdown = report_markdown(data, gates_md, baseline_md)
        write_report(out_dir, data, markdown)
        out.print(markdown, markup=False, highlight=False)
        out.print(f"reports written to {out_dir}/", highlight=False)
        failed = [v for v in verdicts if not v.passed]
        if failed:
            names = ", ".join(f"{v.backend}.{v.gate.metric}" for v in failed)
            _fail(f"{len(failed)} gate(s) failed: {names}", 1)


def _eval_meta(
    eval_set: Path, split: str, sample: int | None, n: int, settings: Settings
) -> dict[str, Any]:
    """What a report needs to be compared with another: set, items, settings, commit."""
    import subprocess
    import time

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "set": str(eval_set),
        "split": split,
        "sample": sample,
        "sample_seed": DEFAULT_SEED if sample else None,
        "items": n,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "commit": commit or None,
        # Every setting but the secrets, so two reports show what differed between runs.
        "settings": {
            k: v
            for k, v in settings.model_dump(mode="json").items()
            if "key" not in k and "token" not in k
        },
    }


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
    """Serve the HTTP API and the web UI (at /ui) with uvicorn."""
    import uvicorn

    from service.log_format import configure_json_logging
    from ui.web import UI_PATH, create_server_app

    settings = _settings()
    with _errors_to_exit():
        app_ = create_server_app(settings)
        configure_json_logging()
        host, port = host or settings.host, port or settings.port
        shown = f"[{host}]" if ":" in host else host
        out.print(
            f"XinDa: chat at http://{shown}:{port}{UI_PATH}/ · API docs at http://{shown}:{port}/docs",
            highlight=False,
        )
        uvicorn.run(app_, host=host, port=port, log_level="info")


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


if __name__ == "__main__":
    main()
