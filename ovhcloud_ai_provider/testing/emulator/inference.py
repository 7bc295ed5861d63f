"""Deterministic "inference": reply text, token counts and embedding vectors.

Tests need answers they can predict exactly, so nothing here is random: the reply is derived from the
last user message, tokens are whitespace-separated words, and embeddings are unit vectors seeded from a
SHA-256 of the text.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import random
import struct
from collections.abc import Sequence
from typing import Any


def content_text(content: Any) -> str:
    """Text of a message ``content``: a string, or the ``text`` of OpenAI content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def count_words(text: str) -> int:
    """The emulator's tokenizer: whitespace-separated words."""
    return len(text.split())


def prompt_tokens(messages: Sequence[dict[str, Any]]) -> int:
    """Words of every message content, plus 1 per message (role/formatting overhead)."""
    return sum(count_words(content_text(m.get("content"))) for m in messages) + len(messages)


def reply_text(messages: Sequence[dict[str, Any]], *, json_mode: bool = False) -> str:
    """Deterministic answer derived from the last user message."""
    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
    text = " ".join(content_text(last_user.get("content")).split()) if last_user else ""
    answer = f"Emulated answer to: {text}" if text else "Emulated answer."
    if json_mode:
        return json.dumps({"answer": answer})
    return answer


def apply_limits(text: str, *, max_tokens: int | None, stop: Sequence[str]) -> tuple[str, str]:
    """Cut at the first stop sequence, then at ``max_tokens`` words; return (text, finish_reason)."""
    for seq in stop:
        if seq and seq in text:
            text = text[: text.index(seq)]
    words = text.split()
    if max_tokens is not None and len(words) > max_tokens:
        return " ".join(words[:max_tokens]), "length"
    return text, "stop"


@functools.lru_cache(maxsize=4096)
def embedding_vector(text: str, dimensions: int) -> tuple[float, ...]:
    """A unit vector seeded from sha256(text): same text, same vector; different texts, near-orthogonal."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")
    rng = random.Random(seed)
    raw = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return tuple(x / norm for x in raw)


def encode_base64(vector: Sequence[float]) -> str:
    """OpenAI's ``encoding_format=base64``: little-endian float32 array, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def truncate_dimensions(vector: Sequence[float], dimensions: int) -> tuple[float, ...]:
    """``dimensions`` request parameter: keep the first N values and renormalise."""
    head = vector[:dimensions]
    norm = math.sqrt(sum(x * x for x in head)) or 1.0
    return tuple(x / norm for x in head)
