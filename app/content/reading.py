"""Reading time, computed from the text and the interactive parts a student will work through."""

from __future__ import annotations

import re

WORDS_PER_MINUTE = 230  # attentive reading of technical prose
MINUTES_PER_EXERCISE = 1.0
MINUTES_PER_SNIPPET = 2.0
MINUTES_PER_INSTRUMENT = 2.0

_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"[\w’'-]+")


def count_words(html: str) -> int:
    return len(_WORD.findall(_TAG.sub(" ", html)))


def estimate_reading_minutes(words: int, exercises: int, snippets: int, instruments: int) -> int:
    """Prose at a steady pace plus time to try each exercise, snippet and instrument.

    Rounded like a printed book would: to the minute below 10, to 5 minutes above.
    """
    minutes = (
        words / WORDS_PER_MINUTE
        + exercises * MINUTES_PER_EXERCISE
        + snippets * MINUTES_PER_SNIPPET
        + instruments * MINUTES_PER_INSTRUMENT
    )
    if minutes < 10:
        return max(1, round(minutes))
    return int(5 * round(minutes / 5))
