"""Searching the history: full-text over reports, and embedding similarity over events.

Text search uses the FTS5 index with plain tokens; each of the owner's words becomes a quoted
prefix query on a light stem ("hissing" -> "hiss"* finds hissed/hisses; "purr" -> "pur"* finds
purring), so punctuation or FTS operators in the query can never raise a syntax error. Embedding search is a numpy cosine over the events' stored float16 mean
embeddings; a query vector comes from ``Analyzer.embed_text`` in the aligned space.
"""

from __future__ import annotations

import re
import sqlite3

import numpy as np

from purrsight_app.storage.records import decode_f16
from purrsight_app.storage.rows import EventRow, ReportRow, event_row, report_row

_WORD = re.compile(r"\w+", re.UNICODE)


_SUFFIXES = ("ing", "ed", "es", "s")


def light_stem(word: str) -> str:
    """Strip one common English suffix and a doubled final consonant ("running" -> "run")."""
    w = word.lower()
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "aeiouslz":
        w = w[:-1]
    return w


def fts_query(text: str) -> str | None:
    """Owner text -> safe FTS5 query: every word must match as a prefix of its light stem."""
    words = _WORD.findall(text)
    if not words:
        return None
    return " ".join(f'"{light_stem(w)}"*' for w in words)


def search_reports(
    conn: sqlite3.Connection,
    text: str,
    *,
    limit: int = 50,
    start: float | None = None,
    end: float | None = None,
) -> list[ReportRow]:
    """Reports whose summary or advice match every word of ``text``, best match first."""
    query = fts_query(text)
    if query is None:
        return []
    sql = (
        "SELECT r.* FROM reports_fts f JOIN reports r ON r.rowid = f.rowid "
        "WHERE reports_fts MATCH ?"
    )
    params: list[object] = [query]
    if start is not None:
        sql += " AND r.ts >= ?"
        params.append(start)
    if end is not None:
        sql += " AND r.ts < ?"
        params.append(end)
    sql += " ORDER BY f.rank LIMIT ?"
    return [report_row(r) for r in conn.execute(sql, [*params, limit])]


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def search_events(
    conn: sqlite3.Connection,
    query: np.ndarray,
    *,
    k: int = 20,
    start: float | None = None,
    end: float | None = None,
    min_score: float | None = None,
) -> list[tuple[EventRow, float]]:
    """Events most similar (cosine) to ``query`` [D], best first, with their scores.

    Events whose embedding is missing or of another dimension (older bundle) are skipped.
    """
    q = _unit(np.asarray(query, dtype=np.float32).reshape(-1))  # [D]
    sql = "SELECT * FROM events WHERE embedding IS NOT NULL"
    params: list[object] = []
    if start is not None:
        sql += " AND start >= ?"
        params.append(start)
    if end is not None:
        sql += " AND start < ?"
        params.append(end)
    rows = [r for r in conn.execute(sql, params) if len(r["embedding"]) == 2 * q.shape[0]]
    if not rows:
        return []
    mat = np.stack([decode_f16(r["embedding"]) for r in rows])  # [N, D]
    scores = _unit(mat) @ q  # [N]
    order = np.argsort(-scores)[:k]
    out = [(event_row(rows[i]), float(scores[i])) for i in order]
    if min_score is not None:
        out = [(e, s) for e, s in out if s >= min_score]
    return out
