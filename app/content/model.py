"""The Chapter model: what a loaded chapter is, independent of how it is shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from app.exercises.grading import AnswerKey
from app.exercises.variants import VariantRecipe


@dataclass(frozen=True)
class Problem:
    """One authoring error, reported by `textbook check` as `path:line: message`."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Section:
    id: str
    number: str | None  # "6.1"; None for unnumbered sections such as Further reading
    title: str
    line: int


@dataclass(frozen=True)
class Equation:
    id: str
    number: str  # "6.1"
    title: str
    line: int


@dataclass(frozen=True)
class ExerciseTexts:
    """An exercise's Markdown as written, with ``{{ expression }}`` placeholders for its parameters."""

    prompt: str
    solution: str
    hints: tuple[str, ...]
    answer_key: AnswerKey  # as written: mistakes' feedback still holds its placeholders


@dataclass(frozen=True)
class ExerciseVariant:
    """One set of an exercise's numbers, rendered: what a learner reads, and its answer key.

    ``id`` is None for the canonical variant (the chapter's own numbers)."""

    id: str | None
    params: dict[str, float]
    prompt_html: str
    solution_html: str
    hints_html: tuple[str, ...]
    answer_key: AnswerKey


@dataclass(frozen=True)
class InstrumentLink:
    """A solution's link to the instrument state that shows the answer (see `content.instrument_links`)."""

    instrument_id: str
    settings: tuple[tuple[str, Any], ...]  # string values may hold {{ parameter }} placeholders
    figure: tuple[str, ...]  # result attributes, added
    label: str
    unit: str | None  # None: the answer's unit


@dataclass(frozen=True)
class Exercise:
    id: str
    prompt: str  # Markdown source of the canonical variant, for the API
    prompt_html: str
    solution_html: str
    hints_html: tuple[str, ...]
    answer_key: AnswerKey  # the canonical variant's
    unit_hint: str | None  # shown beside the answer field, e.g. "GB"
    line: int
    texts: ExerciseTexts | None = None  # set when the exercise has parameters
    recipe: VariantRecipe | None = None  # None: the exercise has one set of numbers
    instrument_link: InstrumentLink | None = None

    @property
    def canonical(self) -> ExerciseVariant:
        params = self.recipe.canonical if self.recipe else {}
        return ExerciseVariant(None, params, self.prompt_html, self.solution_html, self.hints_html, self.answer_key)


@dataclass(frozen=True)
class Snippet:
    id: str
    title: str | None
    code: str  # what the student sees and edits (option lines removed)
    code_html: str  # Pygments-highlighted
    expect: tuple[str, ...]  # lines the output must contain (checked by `textbook check`)
    expect_figures: int
    line: int


@dataclass(frozen=True)
class InstrumentRef:
    id: str
    name: str  # a registered instrument, e.g. "lora-counter"
    number: str  # "6.1"
    title: str
    short_title: str  # for the chapter header, e.g. "LoRA rank"
    subtitle: str
    caption_html: str
    params: dict[str, Any]
    line: int


DirectiveKind = Literal["exercise", "snippet", "instrument"]
DIRECTIVE_KINDS: dict[str, DirectiveKind] = {"exercise": "exercise", "snippet": "snippet", "instrument": "instrument"}


@dataclass(frozen=True)
class Claim:
    """A number in the prose that a snippet or an instrument computes: `[0.278]{snippet=outlier-scales}`.

    ``source`` is ``snippet`` or ``instrument``; ``settings`` override the placed
    instrument's params; ``figure`` is the result attribute(s) that give the number, added
    (one written with a leading ``-`` subtracted); ``scale`` turns the figure into the unit
    written (0.001: an instrument's GB written as TB).
    """

    text: str
    source: str
    source_id: str
    figure: tuple[str, ...]
    settings: tuple[tuple[str, str], ...]
    line: int
    scale: float = 1.0


@dataclass(frozen=True)
class HtmlBlock:
    html: str
    kind: Literal["html"] = "html"


@dataclass(frozen=True)
class DirectiveBlock:
    kind: DirectiveKind
    id: str


Block = HtmlBlock | DirectiveBlock


@dataclass(frozen=True)
class ChapterLink:
    slug: str | None  # None when the chapter is announced but not written yet
    number: int
    title: str


@dataclass(frozen=True)
class Chapter:
    path: str
    slug: str
    volume: int
    number: int
    chapters_in_volume: int
    title: str
    kicker: str  # the running head, e.g. "Fine-tuning"
    lede_html: str
    builds_on: tuple[int, ...]
    reading_minutes: int
    next_announced: ChapterLink | None
    sections: tuple[Section, ...]
    equations: tuple[Equation, ...]
    exercises: tuple[Exercise, ...]
    snippets: tuple[Snippet, ...]
    instruments: tuple[InstrumentRef, ...]
    blocks: tuple[Block, ...]
    mtime_ns: int = 0

    def exercise(self, exercise_id: str) -> Exercise | None:
        return next((e for e in self.exercises if e.id == exercise_id), None)

    def snippet(self, snippet_id: str) -> Snippet | None:
        return next((s for s in self.snippets if s.id == snippet_id), None)

    def instrument(self, instrument_id: str) -> InstrumentRef | None:
        return next((i for i in self.instruments if i.id == instrument_id), None)
