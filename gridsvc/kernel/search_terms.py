"""Text as the case search reads it: one spelling of it, its words, and the character bigrams that index it.

Why bigrams. Chinese runs its words together: "村道旁堆放杂物" has no space for a tokeniser to cut
at, and a dictionary segmenter (jieba, pkuseg) cuts by a vocabulary that the place names, the people
and the local words of a township's reports are mostly not in: it may keep "东升村口" as one token, and
then "东升村" finds nothing. Every pair of neighbouring characters (村道, 道旁, 旁堆, …) needs no
vocabulary, is how Lucene's CJKAnalyzer and Elasticsearch's `cjk_bigram` index Chinese, Japanese and
Korean, and makes any piece of two or more characters findable. A bigram is a plain string, so the
index is a plain table with a B-tree (gridsvc.cases.search_index), read with the same SQL on SQLite and
PostgreSQL: neither SQLite's FTS5 nor PostgreSQL's tsvector (whose parsers do not cut Chinese either)
would be the same on both, and pg_trgm has no SQLite twin.

Bigrams alone over-match: a text holding 堆放 and 放杂 apart also holds both bigrams of "堆放杂".
So the search (gridsvc.cases.search_text) takes the bigrams to find candidates through the index and
then checks that the word itself occurs in the stored spelling, as pg_trgm rechecks its trigrams.

One spelling: Unicode NFKC (full-width "１２３" and "ＡＢ" become "123" and "ab", as Chinese input methods
type them) and case folding, applied alike to what is stored and to what is asked. A word is what lies
between white space; bigrams never span white space, so the parts of a document (one per line) never
run into each other.

Pure Python, no database: the migration that built the index (0014) uses it too.
"""

from __future__ import annotations

import unicodedata


def spelling(text: str) -> str:
    """The one spelling that is stored and asked: NFKC, case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def words(query: str) -> list[str]:
    """The words of a query (white space between them), in their spelling, each once, in order."""
    return list(dict.fromkeys(spelling(query).split()))


def bigrams(text: str) -> set[str]:
    """Every pair of neighbouring characters within each word of `text` (already in its spelling).
    A word of one character has none."""
    return {word[i:i + 2] for word in text.split() for i in range(len(word) - 1)}


def case_document(tracking_no: str, description: str) -> str:
    """What is stored for a case's search: what never changes once a case exists, its tracking number
    and description, in their spelling, one per line. (Names that can change, a grid's, a village's, a
    reporter's, are matched where they are kept: gridsvc.cases.search_text.)"""
    return f"{spelling(tracking_no)}\n{spelling(description)}"
