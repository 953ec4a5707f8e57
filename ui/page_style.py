"""The web page's look and its one piece of behaviour: CSS, and the script that opens and
scrolls to a source card when a `[n]` in an answer is clicked."""

from __future__ import annotations

from typing import Final

# System CJK fonts after Gradio's bundled Latin one: a glyph missing from one font is taken
# from the next, so Chinese never falls back to boxes and nothing is fetched from a CDN.
FONTS: Final = (
    "ui-sans-serif",
    "system-ui",
    "PingFang SC",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "WenQuanYi Zen Hei",
    "sans-serif",
)

CSS: Final = """
.gradio-container { max-width: 1440px !important; margin: 0 auto; }
#xinda-header h1 { margin: 0; font-size: 1.5rem; }
#xinda-header p { margin: 0.2rem 0 0; color: var(--body-text-color-subdued); }
#xinda-sources-col { position: sticky; top: 0.5rem; align-self: flex-start;
  max-height: calc(100vh - 1rem); overflow-y: auto; }
.xinda-sources { display: flex; flex-direction: column; gap: 0.6rem; font-size: 0.92rem; }
.xinda-empty { color: var(--body-text-color-subdued); padding: 0.5rem 0.25rem; }
.xinda-empty p { margin: 0 0 0.5rem; }
.xinda-turn { display: flex; flex-direction: column; gap: 0.55rem; }
.xinda-asked { font-weight: 600; padding: 0.1rem 0.25rem; }
.xinda-asked::before { content: "Q · "; color: var(--color-accent); }
.xinda-status { color: var(--body-text-color-subdued); font-style: italic; }
.xinda-refused-note, .xinda-refused { border-left: 4px solid #d97706;
  background: rgba(217, 119, 6, 0.08); padding: 0.5rem 0.75rem; border-radius: 6px; }
.xinda-refused { font-weight: 600; }
.xinda-card { border: 1px solid var(--border-color-primary); border-radius: 10px;
  background: var(--background-fill-primary); padding: 0.2rem 0.8rem 0.6rem;
  scroll-margin-top: 0.75rem; transition: box-shadow 0.3s; }
.xinda-card > summary { cursor: pointer; padding: 0.45rem 0 0.1rem; list-style: none; }
.xinda-card > summary::-webkit-details-marker { display: none; }
.xinda-head { display: flex; gap: 0.5rem; align-items: baseline; }
.xinda-head::before { content: "▸"; color: var(--body-text-color-subdued); }
.xinda-card[open] .xinda-head::before { content: "▾"; }
.xinda-n { font-weight: 700; color: var(--color-accent); white-space: nowrap; }
.xinda-title { font-weight: 600; flex: 1; min-width: 0; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
.xinda-score { font-variant-numeric: tabular-nums; font-size: 0.8rem;
  color: var(--body-text-color-subdued); white-space: nowrap; }
.xinda-meta { font-size: 0.82rem; color: var(--body-text-color-subdued);
  margin: 0.1rem 0 0.35rem 1.1rem; }
.xinda-meta code { font-size: 0.8rem; padding: 0.05rem 0.3rem; border-radius: 4px;
  background: var(--background-fill-secondary); }
.xinda-passage { margin: 0; padding: 0.5rem 0.7rem; border-left: 3px solid
  var(--border-color-accent); background: var(--background-fill-secondary);
  border-radius: 0 6px 6px 0; line-height: 1.65; max-height: 16rem; overflow-y: auto; }
.xinda-passage mark { background: #fde68a; color: inherit; padding: 0 0.1rem;
  border-radius: 3px; }
.xinda-why { font-size: 0.78rem; color: var(--body-text-color-subdued); margin-top: 0.4rem; }
.xinda-why q { font-style: normal; }
.xinda-others > summary, .xinda-earlier > summary { cursor: pointer;
  color: var(--body-text-color-subdued); padding: 0.3rem 0.25rem; }
.xinda-others[open], .xinda-earlier[open] { display: flex; flex-direction: column;
  gap: 0.5rem; }
.xinda-flash { box-shadow: 0 0 0 3px var(--color-accent); }
a.xinda-cite { font-weight: 600; text-decoration: none; color: var(--color-accent);
  padding: 0 0.05rem; }
a.xinda-cite:hover { text-decoration: underline; }
.xinda-foot { margin-top: 0.5rem; font-size: 0.8rem; color: var(--body-text-color-subdued);
  display: flex; flex-wrap: wrap; gap: 0.15rem 0.6rem; align-items: baseline; }
.xinda-timing { margin-left: auto; opacity: 0.8; }
.xinda-cursor { opacity: 0.6; }
.xinda-error { color: #b91c1c; }
#xinda-examples button { font-weight: 400; }
#xinda-upload-status { min-height: 4.5rem; padding: 0.25rem 0.5rem; }
"""

# Event delegation on the document: the chat re-renders its messages while streaming, so
# listeners on the links themselves would be lost.
JS: Final = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a.xinda-cite") : null;
    if (!link) return;
    const card = document.getElementById((link.getAttribute("href") || "").slice(1));
    if (!card) return;
    event.preventDefault();
    for (let node = card; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    card.scrollIntoView({ behavior: "smooth", block: "start" });
    card.classList.remove("xinda-flash");
    void card.offsetWidth;
    card.classList.add("xinda-flash");
    setTimeout(() => card.classList.remove("xinda-flash"), 1600);
  });
}
"""
