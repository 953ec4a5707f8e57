"""Generated hostile uploads: bombs, loops, traps and garbage, each with a name saying
what it attacks. Built in memory; the largest is the 100 MB one, made on demand."""

from __future__ import annotations

import io
import random
import zipfile

from docx import Document

XXE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
)
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]>\n"
)
BODY_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _docx_with(document_xml: bytes | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """A real python-docx package with word/document.xml (and more members) replaced."""
    base = io.BytesIO()
    Document().save(base)
    out = io.BytesIO()
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml" and document_xml is not None:
                data = document_xml
            dst.writestr(item.filename, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def _doc_xml(prolog: str, text: str) -> bytes:
    return (
        f"{prolog}<w:document {BODY_NS}><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p>"
        "</w:body></w:document>"
    ).encode()


def _lying_zip_bomb() -> bytes:
    """document.xml inflates to 200 MB while its header claims 100 bytes."""
    zeros = b"<" + b" " * (200 * 1024 * 1024)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        dst.writestr("word/document.xml", zeros)
    data = bytearray(out.getvalue())
    # Patch the uncompressed size in the local header (offset 22) and central directory.
    data[22:26] = (100).to_bytes(4, "little")
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (100).to_bytes(4, "little")
    return bytes(data)


def _pdf(objects: list[str], trailer_extra: str = "", root: int = 1) -> bytes:
    body = b"%PDF-1.7\n"
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        body += f"{off:010d} 00000 n \n".encode()
    body += (
        f"trailer\n<< /Size {len(objects) + 1} /Root {root} 0 R {trailer_extra} >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return body


def _nested_pdf(depth: int) -> bytes:
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        n = level + 2
        kid = n + 1
        parent = f"/Parent {n - 1} 0 R" if level else ""
        objects.append(f"<< /Type /Pages /Kids [{kid} 0 R] /Count 1 {parent} >>")
    objects.append(f"<< /Type /Page /Parent {depth + 1} 0 R /MediaBox [0 0 10 10] >>")
    return _pdf(objects)


def _garbage(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def hostile_uploads() -> list[tuple[str, str, bytes]]:
    """(what it attacks, filename, bytes) for every generated upload."""
    pdf_self_kids = _pdf(
        ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]
    )
    pdf_self_parent = _pdf(
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 2 0 R >>",
            "<< /Type /Page /Parent 3 0 R /Contents 3 0 R >>",
        ]
    )
    pdf_ref_loop = _pdf(["<< /Type /Catalog /Pages 2 0 R >>", "2 0 R"])
    pdf_encrypted = _pdf(
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [] /Count 0 >>",
            "<< /Filter /Standard /V 2 /R 3 /Length 128 /P -4 /O <"
            + "00" * 32
            + "> /U <"
            + "11" * 32
            + "> >>",
        ],
        trailer_extra="/Encrypt 3 0 R /ID [<0102> <0102>]",
    )
    pdf_huge_count = _pdf(
        ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 999999999 >>"]
    )
    pdf_bomb_stream = _pdf(
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /MediaBox [0 0 10 10] >>",
            "<< /Length 99999999999 /Filter /FlateDecode >>\nstream\nxx\nendstream",
        ]
    )
    # Text-free: with text inside, 200,000 nested divs parse fine and are (rightly) indexed.
    nested_html = ("<div>" * 200_000 + "</div>" * 200_000).encode()
    cases: list[tuple[str, str, bytes]] = [
        ("zip bomb docx, honest sizes", "bomb.docx", _docx_with(b"<" + b" " * 300 * 2**20)),
        ("zip bomb docx, lying header", "lying.docx", _lying_zip_bomb()),
        (
            "docx with 2000 bomb members",
            "many.docx",
            _docx_with(None, {f"word/media/m{i}.bin": b"\0" * 200_000 for i in range(2000)}),
        ),
        ("XXE external entity docx", "xxe.docx", _docx_with(_doc_xml(XXE, "&xxe;"))),
        ("billion laughs docx", "laughs.docx", _docx_with(_doc_xml(LAUGHS, "&j;"))),
        ("docx missing document.xml", "empty.docx", _zip_only({"a.txt": b"hi"})),
        ("docx that is a pdf", "fake.docx", _nested_pdf(2)),
        ("docx of garbage", "garbage.docx", _garbage(50_000, 1)),
        ("truncated docx", "cut.docx", _docx_with()[:900]),
        ("pdf self-referencing /Kids", "selfkids.pdf", pdf_self_kids),
        ("pdf page tree loop via /Parent", "loop.pdf", pdf_self_parent),
        ("pdf object reference loop", "refloop.pdf", pdf_ref_loop),
        ("pdf nested 5000 levels deep", "deep.pdf", _nested_pdf(5000)),
        ("encrypted pdf", "locked.pdf", pdf_encrypted),
        ("pdf claiming 999999999 pages", "count.pdf", pdf_huge_count),
        ("pdf stream with absurd length", "stream.pdf", pdf_bomb_stream),
        ("pdf header only", "header.pdf", b"%PDF-1.7\n"),
        ("pdf of garbage", "garbage.pdf", b"%PDF-1.4\n" + _garbage(100_000, 2)),
        ("pdf without header", "noheader.pdf", _garbage(5000, 3)),
        ("0-byte txt", "zero.txt", b""),
        ("0-byte md", "zero.md", b""),
        ("0-byte html", "zero.html", b""),
        ("0-byte pdf", "zero.pdf", b""),
        ("0-byte docx", "zero.docx", b""),
        ("binary garbage txt", "garbage.txt", _garbage(100_000, 4)),
        ("binary garbage md", "garbage.md", _garbage(20_000, 5)),
        ("invalid utf-8 with BOM", "bom.txt", b"\xef\xbb\xbf" + b"\xff\xfe\xc0\xc1" * 500),
        ("NUL bytes in text", "nul.txt", "良率".encode() + b"\x00" * 1000),
        ("ELF binary as md", "elf.md", b"\x7fELF\x02\x01\x01" + _garbage(10_000, 6)),
        ("zip as txt", "zip.txt", _zip_only({"a": b"x" * 1000})),
        ("whitespace only txt", "space.txt", b" \n\t\n   \n" * 100),
        ("html 200000 empty divs deep", "deep.html", nested_html),
        ("html with script only", "script.html", b"<html><script>alert(1)</script></html>"),
        ("windows executable", "tool.exe", b"MZ" + _garbage(5000, 7)),
        ("python script", "run.py", b"import os\nos.system('id')\n"),
        ("shell script", "run.sh", b"#!/bin/sh\nid\n"),
        ("no extension", "README", b"# hello\n\ntext.\n"),
        ("double extension", "report.docx.exe", b"MZ"),
        ("pickle file", "model.pkl", b"\x80\x04\x95\x00"),
        ("svg with script", "image.svg", b"<svg><script>alert(1)</script></svg>"),
        ("jar/zip", "app.jar", _zip_only({"META-INF/MANIFEST.MF": b"x"})),
    ]
    return cases


def _zip_only(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    return out.getvalue()
