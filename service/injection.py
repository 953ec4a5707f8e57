"""Passages are data, never instructions: spot sentences written to steer the assistant.

Anyone who can upload a document can plant "忽略以上指令……" or "reveal your system prompt"
in it, and retrieval will happily hand that sentence to the model. Two defences use this
module: the extractive answerer never quotes such a sentence as an answer, and the
generating backends see it replaced by a marker, so a small model has nothing to obey.
The system prompt also says that passages are data.

The patterns name the moves of prompt injection (override earlier instructions, speak to
the assistant or the AI, ask for the system prompt, demand an exact reply, plant links or
images); ordinary report prose does not make them.
"""

from __future__ import annotations

import re
from typing import Final

from ingest.sentences import split_sentences

_PATTERNS: Final = (
    # Override the instructions.
    r"忽略(?:以上|上述|之前|前面|先前|所有|全部)?(?:的)?(?:所有|全部)?(?:指令|指示|说明|规则|要求|提示)",
    r"无视(?:以上|上述|之前|前面|所有|用户)?(?:的)?(?:问题|指令|指示|规则|要求)",
    r"(?:AI|人工智能|语言模型)\s*(?:助手|模型)?\s*(?:请|注意|听好)",
    r"\b(?:ignore|disregard|forget|override)\b.{0,30}\b(?:instructions?|prompts?|rules|"
    r"directions|context|guidelines)\b",
    r"\bnew instructions?\b|新的?指令[:：]",
    # Speak to the assistant rather than about the industry.
    r"(?:你|您)(?:现在)?(?:必须|应该|需要|要)?(?:只|仅)?(?:回答|回复|输出|说|扮演)",
    r"作为(?:一个)?(?:AI|人工智能|语言模型|助手)",
    r"(?:致|给)(?:AI|人工智能|语言模型|助手|芯答)",
    r"\b(?:you (?:must|should|are now|will)|as an ai|as a language model|dear (?:ai|assistant)|"
    r"assistant[,:]|ai model[,:])",
    r"\b(?:respond|reply|answer) (?:only |just )?with\b|\boutput (?:only|exactly)\b",
    r"(?:只|仅)(?:回答|回复|输出)[“\"'‘]",
    # Ask for the prompt or secrets.
    r"系统提示(?:词|语)?|提示词|system prompt|your (?:instructions|prompt)|api[ _-]?key|密钥",
    # Plant links and images for the model to repeat.
    r"!\[[^\]]*\]\([^)]*\)",
    r"\[[^\]]+\]\((?:https?|javascript|data):[^)]*\)",
    r"(?:附上|加上|输出|插入|include|add|insert)\S{0,6}.{0,20}(?:链接|网址|图片|https?://|link|url|image)",
)
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)

NEUTRALISED: Final = "〔此处一段疑似指令的文字已略去〕"


def looks_like_instruction(text: str) -> bool:
    """Whether `text` talks to the assistant (an injection) rather than about the topic."""
    return bool(_INSTRUCTION.search(text))


def neutralise(text: str) -> str:
    """`text` with each instruction-like sentence replaced by NEUTRALISED."""
    if not looks_like_instruction(text):
        return text
    out: list[str] = []
    last = 0
    for start, end in split_sentences(text):
        out.append(text[last:start])
        sentence = text[start:end]
        out.append(NEUTRALISED if looks_like_instruction(sentence) else sentence)
        last = end
    out.append(text[last:])
    return "".join(out)


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
# Only a target that is a URL or a path makes a link: "[1](注)" stays a citation.
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:[a-zA-Z][\w+.-]*:|www\.|/)[^)]*\)")


def inert_links(answer: str) -> str:
    """A model's answer with markdown images and links turned into their plain text, so
    no client fetches an image or renders a link the model was talked into writing."""
    answer = _MD_IMAGE.sub(lambda m: m.group(1), answer)
    return _MD_LINK.sub(lambda m: m.group(1), answer)
