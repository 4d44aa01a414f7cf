"""The chapter library: cached renders, rebuilt when a file changes; a second chapter is just a file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from app.content.loader import ChapterLibrary
from app.content.markdown import build_markdown
from app.instruments.catalog import INSTRUMENT_CATALOG

CONTENT = Path(__file__).resolve().parents[2] / "content"

SECOND = """---
title: Compression
volume: 2
number: 7
chapters_in_volume: 10
slug: compression
lede: What a model costs.
---

## Bits per weight

Text with $x$.
"""


def library(tmp_path: Path) -> ChapterLibrary:
    shutil.copytree(CONTENT, tmp_path / "content")
    return ChapterLibrary(tmp_path / "content", build_markdown(INSTRUMENT_CATALOG))


def test_render_is_cached_until_the_file_changes(tmp_path: Path) -> None:
    lib = library(tmp_path)
    first = lib.chapter("fine-tuning")
    assert lib.chapter("fine-tuning") is first
    path = tmp_path / "content" / "vol2" / "06-fine-tuning.md"
    path.write_text(path.read_text().replace("title: Fine-tuning", "title: Fine-tuning, revised"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = lib.chapter("fine-tuning")
    assert second is not first and second.title == "Fine-tuning, revised"


def test_a_second_chapter_is_a_new_file(tmp_path: Path) -> None:
    lib = library(tmp_path)
    (tmp_path / "content" / "vol2" / "07-compression.md").write_text(SECOND)
    chapters = lib.chapters()
    assert [c.slug for c in chapters] == ["fine-tuning", "compression"]
    previous, following = lib.neighbours(chapters[0])
    assert previous is None and following is not None and following.slug == "compression"
    assert chapters[1].sections[0].number == "7.1"
    assert lib.problems() == []


def touch(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_a_broken_edit_keeps_the_last_clean_version_online(tmp_path: Path) -> None:
    lib = library(tmp_path)
    good = lib.chapter("fine-tuning")
    assert good is not None and lib.problems() == []
    path = tmp_path / "content" / "vol2" / "06-fine-tuning.md"
    text = path.read_text()
    for broken in (text.replace("---", "--", 1), text.replace("name: lora-counter", "name: no-such-instrument", 1)):
        path.write_text(broken)
        touch(path)
        assert lib.chapter("fine-tuning") is good, "students keep the version that worked"
        problems = lib.problems()
        assert problems and all(p.path == "content/vol2/06-fine-tuning.md" for p in problems)
    path.write_text(text.replace("title: Fine-tuning", "title: Fine-tuning, fixed"))
    touch(path)
    fixed = lib.chapter("fine-tuning")
    assert fixed is not None and fixed.title == "Fine-tuning, fixed" and lib.problems() == []


def test_a_chapter_that_never_loaded_cleanly_is_served_as_it_is(tmp_path: Path) -> None:
    lib = library(tmp_path)
    second = tmp_path / "content" / "vol2" / "07-compression.md"
    second.write_text(
        SECOND.replace("## Bits per weight", "```instrument\nname: no-such-instrument\n```\n\n## Bits per weight")
    )
    served = next(c for c in lib.chapters() if c.slug == "compression")
    assert served.title == "Compression" and lib.problems()


CLASHING = """---
title: Serving
volume: 2
number: 8
chapters_in_volume: 10
slug: serving
lede: Ids that another chapter already uses.
---

## Reuse

```exercise
id: full-ft-memory
prompt: How many?
answer: {value: 2, quantity: count, tolerance: 0}
solution: Two, **2**.
```

```runnable lora-algebra
print("hi")
```

```instrument
name: vram-fit
title: Again
```

```instrument
name: vram-fit
id: vram-fit-serving
title: Again, with its own id
```
"""


def test_ids_are_unique_across_the_book(tmp_path: Path) -> None:
    """Exercise, snippet and instrument ids share one namespace across chapters: a clash is a problem."""
    lib = library(tmp_path)
    (tmp_path / "content" / "vol2" / "08-serving.md").write_text(CLASHING)
    messages = [(p.path, p.message) for p in lib.problems()]
    first = "content/vol2/06-fine-tuning.md"
    assert messages == [
        (
            "content/vol2/08-serving.md",
            f"exercise id 'full-ft-memory' is already used by exercise 'full-ft-memory' in {first}",
        ),
        (
            "content/vol2/08-serving.md",
            f"snippet id 'lora-algebra' is already used by snippet 'lora-algebra' in {first}",
        ),
        ("content/vol2/08-serving.md", f"instrument id 'vram-fit' is already used by instrument 'vram-fit' in {first}"),
    ]
