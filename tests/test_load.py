"""Loaders on tiny real files: encodings, line numbers, formats, and bad input."""

from __future__ import annotations

import io
import random
import subprocess
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from ingest.errors import SkippedFile
from ingest.load import SUPPORTED_EXTENSIONS, load_bytes, load_document, safe_name

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
ZH = (
    "中国半导体先进封装行业研究\n后摩尔时代，先进封装引领半导体创新趋势。\n"
    "2024年市场规模约1000亿元。\n"
)
ZH_TRAD = "中國半導體先進封裝行業研究\n後摩爾時代，先進封裝引領半導體創新趨勢。\n臺灣積體電路製造\n"


def sed_line(path: Path, number: int) -> str:
    """Line `number` as `sed -n Np` prints it (the reference for line numbers)."""
    out = subprocess.run(["sed", "-n", f"{number}p", str(path)], capture_output=True, check=True)
    return out.stdout.decode("utf-8").removesuffix("\n")


def noise(seed: int, size: int, low: int = 0) -> bytes:
    """Reproducible random bytes in [low, 256)."""
    rng = random.Random(seed)
    return bytes(rng.randrange(low, 256) for _ in range(size))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- plain text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8", ZH),
        ("utf-8-sig", ZH),
        ("gb18030", ZH),
        ("gbk", ZH),
        ("utf-16", ZH),  # Python writes a BOM (LE on this platform)
        ("utf-16-le", ZH),  # no BOM
        ("big5", ZH_TRAD),
        # too short for detection to be sure: ties go to GB18030
        ("gbk", "晶圆\n"),
        ("gbk", "半导体产业\n"),
    ],
)
def test_txt_encodings_decode_exactly(tmp_path: Path, encoding: str, text: str) -> None:
    doc = load_document(write(tmp_path, "doc.txt", text.encode(encoding)))
    assert [line.text for line in doc.lines] == text.splitlines()
    assert [line.line for line in doc.lines] == list(range(1, len(text.splitlines()) + 1))
    assert all(line.page is None for line in doc.lines)
    assert doc.title == text.splitlines()[0]


def test_txt_line_numbers_match_sed(tmp_path: Path) -> None:
    text = "\n\n  标题一  \n正文\x0b第一行\u2028同一行\n\n第\x1c三段\nlast line without newline"
    path = write(tmp_path, "doc.txt", text.encode("utf-8"))
    doc = load_document(path)
    assert len(doc.lines) == 7
    for line in doc.lines:
        assert line.text == sed_line(path, line.line)
    assert doc.title == "标题一"
    assert doc.source == "doc.txt"
    assert doc.path == str(path)


def test_crlf_and_lone_cr_line_numbers(tmp_path: Path) -> None:
    doc = load_bytes("一\r\n二\r\n\r\n三\r四\n".encode(), "crlf.txt")
    assert [(line.line, line.text) for line in doc.lines] == [
        (1, "一"),
        (2, "二"),
        (3, ""),
        (4, "三"),
        (5, "四"),
    ]


def test_doc_id_is_content_hash_and_name_is_sanitised() -> None:
    first = load_bytes("内容".encode(), "../../etc/a\x00b.txt")
    second = load_bytes("内容".encode(), "C:\\Users\\x\\other.txt")
    assert first.doc_id == second.doc_id and len(first.doc_id) == 16
    assert first.source == "ab.txt"
    assert second.source == "other.txt"
    assert safe_name("..") == "upload"


def test_markdown_title_from_heading() -> None:
    doc = load_bytes("前言文字\n\n# 先进封装 概览 #\n\n正文\n".encode(), "notes.md")
    assert doc.title == "先进封装 概览"
    assert doc.lines[2].text == "# 先进封装 概览 #" and doc.lines[2].line == 3


def test_title_falls_back_to_stem_and_is_clipped() -> None:
    assert load_bytes(b"--- ***\n", "x.markdown").title == "x"
    assert len(load_bytes(("长" * 500).encode(), "y.txt").title) == 120


# --- html -------------------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>半导体报告 &amp; 测试</title>
<script>var s = "中国半导体先进封装行业研究";</script></head>
<body>
<nav><a href="/">首页</a> <a href="/news">新闻</a></nav>
<article>
<h1>中国半导体先进封装行业研究</h1>
<p>后摩尔时代，先进封装引领半导体创新趋势。先进封装技术通过提升芯片集成度，
成为延续摩尔定律的重要路径。本段文字足够长以便被提取出来作为正文内容。</p>
<p>2024年中国先进封装市场规模达到约1000亿元，&lt;预计&gt;未来五年复合增长率超过10%。</p>
<table>
<tr><th>企业</th><th>市场份额</th><th>地区</th></tr>
<tr>
  <td>长电科技</td>
  <td>12%</td><td>江苏</td>
</tr>
</table>
<h2>技术方向</h2>
<ul><li>晶圆级封装与扇出型封装</li><li>2.5D/3D 封装和系统级封装</li></ul>
</article>
<footer>版权所有</footer>
</body>
</html>
"""


def test_html_main_text_tables_and_line_map() -> None:
    doc = load_bytes(HTML.encode("utf-8"), "report.html")
    source = HTML.split("\n")
    texts = [line.text for line in doc.lines]
    assert doc.title == "半导体报告 & 测试"
    assert "# 中国半导体先进封装行业研究" in texts
    assert "## 技术方向" in texts
    assert "企业\t市场份额\t地区" in texts
    assert "长电科技\t12%\t江苏" in texts
    assert any("<预计>" in text for text in texts)
    assert not any("版权所有" in text or "首页" in text for text in texts)
    for line in doc.lines:
        first_words = line.text.lstrip("#- ").split("\t")[0][:6]
        assert first_words in source[line.line - 1], (line, source[line.line - 1])
    # the heading maps to the <h1>, not to the identical text in <script> or <title>
    assert doc.lines[texts.index("# 中国半导体先进封装行业研究")].line == 8
    assert doc.lines[texts.index("长电科技\t12%\t江苏")].line == 15  # the row's first <td>


def test_html_crlf_keeps_editor_line_numbers() -> None:
    doc = load_bytes(HTML.replace("\n", "\r\n").encode("utf-8"), "crlf.html")
    texts = [line.text for line in doc.lines]
    assert doc.lines[texts.index("# 中国半导体先进封装行业研究")].line == 8


def test_html_in_gbk_with_meta_charset() -> None:
    html = HTML.replace('charset="utf-8"', 'charset="gbk"').replace("&amp;", "和")
    doc = load_bytes(html.encode("gbk"), "gbk.htm")
    assert doc.title == "半导体报告 和 测试"
    assert "长电科技\t12%\t江苏" in [line.text for line in doc.lines]


TINY_HTML = (
    "<html><head><title>小文件</title></head>\n<body>\n<p>短</p>\n"
    "<table><tr><td>甲</td><td>乙</td></tr></table>\n<p>第<b>二</b>段</p>\n</body></html>"
)


def test_tiny_html_fallback_when_extractor_gives_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ingest.load_html.trafilatura.extract", lambda *args, **kwargs: None)
    doc = load_bytes(TINY_HTML.encode(), "tiny.html")
    assert doc.title == "小文件"
    assert [(line.line, line.text) for line in doc.lines] == [
        (3, "短"),
        (4, "甲\t乙"),
        (5, "第二段"),
    ]


def test_tiny_html_loads_with_real_extractor() -> None:
    doc = load_bytes("<p>短</p>".encode(), "tiny.html")
    assert [(line.line, line.text) for line in doc.lines] == [(1, "短")]
    assert doc.title == "短"


# --- docx -------------------------------------------------------------------------------


def make_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("封面说明文字")
    document.add_heading("先进封装市场", level=1)
    document.add_paragraph("")  # empty paragraphs are not emitted
    document.add_paragraph("后摩尔时代，先进封装\t引领创新。")
    table = document.add_table(rows=2, cols=3)
    values = [("企业", "份额", "地区"), ("长电科技", "12%", "江苏")]
    for row, row_values in zip(table.rows, values, strict=True):
        for cell, value in zip(row.cells, row_values, strict=True):
            cell.text = value
    document.add_heading("技术方向", level=2)
    document.add_paragraph("晶圆级封装")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_paragraphs_tables_and_headings(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "报告.docx", make_docx()))
    assert doc.title == "先进封装市场"
    assert doc.source == "报告.docx"
    assert [(line.line, line.text) for line in doc.lines] == [
        (1, "封面说明文字"),
        (2, "# 先进封装市场"),
        (3, "后摩尔时代，先进封装 引领创新。"),
        (4, "企业\t份额\t地区"),
        (5, "长电科技\t12%\t江苏"),
        (6, "## 技术方向"),
        (7, "晶圆级封装"),
    ]


# --- pdf --------------------------------------------------------------------------------


def make_pdf(pages: list[list[str]], title: str | None = "芯片报告") -> bytes:
    canvas = pytest.importorskip("reportlab.pdfgen.canvas")
    pdfmetrics = pytest.importorskip("reportlab.pdfbase.pdfmetrics")
    cidfonts = pytest.importorskip("reportlab.pdfbase.cidfonts")
    pdfmetrics.registerFont(cidfonts.UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    if title:
        pdf.setTitle(title)
    for lines in pages:
        pdf.setFont("STSong-Light", 14)
        for index, text in enumerate(lines):
            pdf.drawString(72, 750 - 20 * index, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_pdf_text_pages_and_title() -> None:
    doc = load_bytes(make_pdf([["第一页 先进封装", "Second line 晶圆"], ["第二页 市场"]]), "r.pdf")
    assert doc.title == "芯片报告"
    assert [(line.page, line.line, line.text) for line in doc.lines] == [
        (1, 1, "第一页 先进封装"),
        (1, 2, "Second line 晶圆"),
        (2, 1, "第二页 市场"),
    ]


def test_pdf_title_falls_back_to_first_line() -> None:
    assert load_bytes(make_pdf([["标题行", "正文"]], title=None), "r.pdf").title == "标题行"


def encrypt(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_encrypted_with_password_is_skipped() -> None:
    with pytest.raises(SkippedFile, match=r"^encrypted PDF \(needs a password\)$"):
        load_bytes(encrypt(make_pdf([["机密"]]), "secret"), "secret.pdf")


def test_pdf_encrypted_with_empty_password_loads() -> None:
    doc = load_bytes(encrypt(make_pdf([["公开内容"]]), ""), "open.pdf")
    assert [line.text for line in doc.lines] == ["公开内容"]


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + noise(7, 3000),
        b"not a pdf at all",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>",
    ],
)
def test_corrupt_pdf_is_skipped(data: bytes) -> None:
    with pytest.raises(SkippedFile, match=r"^(corrupt or unreadable PDF: |no text found)") as info:
        load_bytes(data, "bad.pdf")
    assert "\n" not in str(info.value)


def test_truncated_pdf_is_skipped() -> None:
    data = make_pdf([["第一页"]])
    with pytest.raises(SkippedFile, match=r"^(corrupt or unreadable PDF: |no text found)"):
        load_bytes(data[: len(data) // 3], "cut.pdf")


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.xyz", b"text", r"^unsupported file type \.xyz$"),
        ("A.PPTX", b"text", r"^unsupported file type \.pptx$"),
        ("README", b"text", r"^unsupported file type \(no extension\)$"),
        ("empty.txt", b"", r"^empty file$"),
        ("empty.docx", b"", r"^empty file$"),
        ("blank.txt", b" \n\t\r\n\n", r"^no text found$"),
        ("blank.md", "\u3000\n".encode(), r"^no text found$"),
        ("blank.html", b"<html><body>  </body></html>", r"^no text found$"),
        ("bad.docx", noise(1, 500), "^corrupt"),
        ("zip.docx", b"PK\x05\x06" + b"\x00" * 18, r"^corrupt or unreadable DOCX: no word/"),
        ("garbage.txt", bytes(range(32)) * 20, r"^binary file, not text"),
        ("elf.txt", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200, r"^binary file, not text"),
        ("bad.txt", noise(3, 400, 128), "^undecod"),
        ("bad.md", b"\xef\xbb\xbf\xff\xfe\xfd abc", r"^undecodable text: invalid UTF-8-SIG"),
    ],
)
def test_bad_input_raises_skipped_file(name: str, data: bytes, message: str) -> None:
    with pytest.raises(SkippedFile, match=message) as info:
        load_bytes(data, name)
    assert "\n" not in str(info.value)


def test_corrupt_docx_on_disk_and_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(SkippedFile, match="^corrupt or unreadable DOCX"):
        load_document(write(tmp_path, "x.docx", make_docx()[:300]))
    with pytest.raises(SkippedFile, match="^cannot read file: "):
        load_document(tmp_path / "missing.txt")
    with pytest.raises(SkippedFile, match=r"^unsupported file type \.exe$"):
        load_document(tmp_path / "missing.exe")


def test_supported_extensions() -> None:
    assert {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"} == SUPPORTED_EXTENSIONS


# --- the real corpus --------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda path: path.name)
def test_corpus_files_map_to_their_lines(path: Path) -> None:
    doc = load_document(path)
    on_disk = path.read_text(encoding="utf-8").split("\n")
    assert doc.title and len(doc.title) <= 120
    assert len(doc.lines) == len(on_disk) - (on_disk[-1] == "")
    for line in doc.lines:
        assert line.text == on_disk[line.line - 1]
    for line in doc.lines[:: max(1, len(doc.lines) // 25)]:
        assert line.text == sed_line(path, line.line)


def test_corpus_has_five_files() -> None:
    assert len(list(CORPUS.glob("*.txt"))) == 5
