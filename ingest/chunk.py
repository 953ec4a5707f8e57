"""Chinese-aware, heading-aware chunking of cleaned blocks into retrievable passages.

Why hand-written rather than a LangChain splitter: the splitters re-join pieces with
separators and lose where each character came from, so they cannot report the source
lines of a chunk, repeat a table's header row in every part, or carry a heading path.
LangChain's recursive splitter is still used for the one job it does well here: cutting
a single sentence that alone exceeds the limit (see `ingest.sentences`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ingest.clean import ends_sentence as _ends_sentence
from ingest.document import Block, BlockKind, Chunk, content_hash
from ingest.sentences import split_long_sentence, split_sentences

TokenCounter = Callable[[str], int]
SECTION_SEPARATOR = " > "


@dataclass(frozen=True, slots=True)
class ChunkSettings:
    """Size limits in the embedding model's tokens (special tokens and prefix included)."""

    target_tokens: int = 320
    max_tokens: int = 480
    min_tokens: int = 60
    overlap_sentences: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.min_tokens <= self.target_tokens <= self.max_tokens:
            raise ValueError("chunk sizes must satisfy 0 < min <= target <= max")
        if self.overlap_sentences < 0:
            raise ValueError("overlap_sentences must be >= 0")


@dataclass(frozen=True, slots=True)
class _Piece:
    """A contiguous span `[start, end)` of block `block`, with its token cost."""

    block: int
    start: int
    end: int
    tokens: int


@dataclass(slots=True)
class _Draft:
    section: str | None
    pieces: list[_Piece] = field(default_factory=list)
    overlap: int = 0  # leading pieces repeated from the previous chunk

    @property
    def tokens(self) -> int:
        return sum(p.tokens for p in self.pieces)

    @property
    def own_tokens(self) -> int:
        return sum(p.tokens for p in self.pieces[self.overlap :])


class _Chunker:
    def __init__(
        self, blocks: Sequence[Block], count: TokenCounter, settings: ChunkSettings
    ) -> None:
        self.blocks = blocks
        self.count = count
        self.settings = settings
        # The fixed cost of an encoding (prefix and special tokens) is paid once per chunk.
        self.base = count("")
        self.budget = settings.max_tokens - self.base
        self.drafts: list[_Draft] = []
        self.current = _Draft(section=None)
        self.path: list[tuple[int, str]] = []  # (level, heading text)
        self.pending_headings: list[_Piece] = []

    # -- building -----------------------------------------------------------------
    def cost(self, text: str) -> int:
        return max(self.count(text) - self.base, 1)

    def section(self) -> str | None:
        return SECTION_SEPARATOR.join(text for _, text in self.path) or None

    def flush(self, *, carry_overlap: bool = False) -> None:
        draft = self.current
        self.current = _Draft(section=self.section())
        if draft.own_tokens == 0:
            return
        self.drafts.append(draft)
        if carry_overlap and self.settings.overlap_sentences:
            tail = [p for p in draft.pieces if self.blocks[p.block].kind is not BlockKind.HEADING]
            tail = tail[-self.settings.overlap_sentences :]
            # Only whole sentences are worth repeating; a caption or title is not.
            whole = all(_ends_sentence(self.blocks[p.block].text[p.start : p.end]) for p in tail)
            if whole and sum(p.tokens for p in tail) * 3 <= self.settings.target_tokens:
                self.current.pieces.extend(tail)
                self.current.overlap = len(tail)

    def add(self, piece: _Piece) -> None:
        if self.pending_headings:
            heads = self.pending_headings
            self.pending_headings = []
            self.flush()
            for head in heads:
                self.add(head)
        if self.current.tokens + piece.tokens > self.settings.target_tokens:
            self.flush(carry_overlap=True)
            if self.current.tokens + piece.tokens > self.budget:
                self.current.pieces.clear()
                self.current.overlap = 0
        self.current.pieces.append(piece)

    def heading(self, index: int, block: Block) -> None:
        while self.path and self.path[-1][0] >= block.level:
            self.path.pop()
        self.path.append((block.level, block.text))
        self.pending_headings.append(_Piece(index, 0, len(block.text), self.cost(block.text)))

    def text_block(self, index: int, block: Block) -> None:
        for start, end in split_sentences(block.text):
            sentence = block.text[start:end]
            tokens = self.cost(sentence)
            if tokens <= self.budget:
                self.add(_Piece(index, start, end, tokens))
                continue
            for s, e in split_long_sentence(sentence, self.budget, self.cost):
                self.add(_Piece(index, start + s, start + e, self.cost(sentence[s:e])))

    def table(self, indices: Sequence[int]) -> None:
        rows = [
            _Piece(i, 0, len(self.blocks[i].text), self.cost(self.blocks[i].text) + 1)
            for i in indices
        ]
        heads, self.pending_headings = self.pending_headings, []
        if heads:
            self.flush()
            for head in heads:
                self.add(head)
        elif self.current.tokens + sum(r.tokens for r in rows) > self.settings.target_tokens:
            # A title line right above the table ("封装技术对比") belongs with the table.
            caption: list[_Piece] = []
            while len(self.current.pieces) > self.current.overlap + 1 and self._is_caption(
                self.current.pieces[-1]
            ):
                caption.insert(0, self.current.pieces.pop())
            self.flush()
            self.current.pieces.extend(caption)
        header = rows[0]
        for n, row in enumerate(rows):
            if row.tokens > self.budget:  # one row longer than a chunk: cut it like prose
                self.flush()
                self.text_block(row.block, self.blocks[row.block])
                continue
            if self.current.tokens + row.tokens > self.budget:
                self.flush()
                if n > 0 and header.tokens + row.tokens <= self.budget:
                    self.current.pieces.append(header)  # every part repeats the header row
            self.current.pieces.append(row)
        self.flush()

    def _is_caption(self, piece: _Piece) -> bool:
        block = self.blocks[piece.block]
        whole_block = piece.start == 0 and piece.end == len(block.text)
        text = block.text[piece.start : piece.end]
        return whole_block and not _ends_sentence(text) and piece.tokens <= 40

    def run(self) -> list[_Draft]:
        index = 0
        while index < len(self.blocks):
            block = self.blocks[index]
            if block.kind is BlockKind.HEADING:
                self.heading(index, block)
                index += 1
            elif block.kind is BlockKind.TABLE_ROW:
                end = index
                while end < len(self.blocks) and self.blocks[end].kind is BlockKind.TABLE_ROW:
                    end += 1
                self.table(range(index, end))
                index = end
            else:
                self.text_block(index, block)
                index += 1
        # Headings with nothing after them still belong to the text; keep them.
        heads, self.pending_headings = self.pending_headings, []
        for head in heads:
            self.add(head)
        self.flush()
        return self.drafts


def _merge_small(drafts: list[_Draft], settings: ChunkSettings) -> list[_Draft]:
    """Fold chunks under `min_tokens` into a neighbour when the result stays on target."""
    merged: list[_Draft] = []
    for draft in drafts:
        if merged:
            prev = merged[-1]
            small = prev.tokens < settings.min_tokens or draft.own_tokens < settings.min_tokens
            if small and prev.tokens + draft.own_tokens <= settings.target_tokens:
                own = draft.pieces[draft.overlap :]
                prev.pieces.extend(p for p in own if p not in prev.pieces)
                if draft.own_tokens > prev.tokens:
                    prev.section = draft.section
                continue
        merged.append(draft)
    return merged


def _render(draft: _Draft, blocks: Sequence[Block], doc_id: str, source: str, title: str) -> Chunk:
    # Consecutive pieces of one block become one span; blocks are separated by newlines.
    spans: list[list[int]] = []
    for piece in draft.pieces:
        if spans and spans[-1][0] == piece.block and spans[-1][2] == piece.start:
            spans[-1][2] = piece.end
        else:
            spans.append([piece.block, piece.start, piece.end])
    texts: list[str] = []
    lines: list[int] = []
    pages: list[int] = []
    for block_index, start, end in spans:
        block = blocks[block_index]
        texts.append(block.text[start:end].strip())
        first, last = block.line_span(start, end)
        lines.extend((first, last))
        if block.page is not None:
            pages.append(block.page)
    text = "\n".join(t for t in texts if t)
    line_start, line_end = min(lines), max(lines)
    return Chunk(
        # Identical text can recur in one document; its position keeps the id unique.
        chunk_id=content_hash(doc_id, f"{spans[0][0]}:{spans[0][1]}", text),
        doc_id=doc_id,
        source=source,
        title=title,
        section=draft.section,
        text=text,
        line_start=line_start,
        line_end=line_end,
        page=min(pages) if pages else None,
    )


def chunk_blocks(
    blocks: Sequence[Block],
    *,
    doc_id: str,
    source: str,
    title: str,
    count_tokens: TokenCounter,
    settings: ChunkSettings | None = None,
) -> list[Chunk]:
    """Cut a document's cleaned blocks into chunks.

    Sentences (。！？；… and English . ! ?) are never split unless one alone exceeds the
    limit; a heading starts a new chunk and is kept at its top, and the heading path
    becomes `section`; a table stays whole when it fits, else each part repeats the
    header row; a chunk cut for size starts with the previous chunk's last sentence;
    chunks under `min_tokens` merge into a neighbour. `count_tokens` counts the tokens the
    embedder will see for a passage (prefix and special tokens included).
    """
    settings = settings or ChunkSettings()
    drafts = _merge_small(_Chunker(blocks, count_tokens, settings).run(), settings)
    chunks = [_render(d, blocks, doc_id, source, title) for d in drafts]
    return [dataclasses.replace(c, tokens=count_tokens(c.text)) for c in chunks]
