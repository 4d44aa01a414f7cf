"""The take-home notebook: valid nbformat 4, and it runs top to bottom in a plain Jupyter kernel."""

from __future__ import annotations

import nbformat
import pytest
from fastapi.testclient import TestClient
from nbclient import NotebookClient

from tests.html_tree import parse_html

URL = "/chapters/fine-tuning/notebook.ipynb"


def outputs_text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def test_the_notebook_is_valid_and_keeps_prose_math_and_snippets(client: TestClient) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ipynb+json")
    assert 'filename="2-06-fine-tuning.ipynb"' in response.headers["content-disposition"]
    notebook = nbformat.reads(response.text, as_version=4)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "def plot_xy(" in code[0].source
    assert [c.metadata["textbook"]["snippet"] for c in code[1:]] == ["lora-algebra", "rank-capacity"]
    assert "## LoRA: the low-rank hypothesis" in markdown
    assert r"\frac{\alpha}{r}" in markdown, "math stays LaTeX"
    assert "$$ (LoRA)" not in markdown and "<math" not in markdown
    assert "**Exercise 6.1.**" in markdown and "Instrument 6.1" in markdown


@pytest.mark.parametrize(
    ("slug", "number"),
    [("fine-tuning", "a 7B model wants\n~112 GB"), ("compression", "36.6 GB of weights")],
)
def test_computed_numbers_read_as_plain_numbers(client: TestClient, slug: str, number: str) -> None:
    """The prose's `[36.6 GB]{instrument=… figure=…}` marks are for `textbook check`, not for readers."""
    notebook = nbformat.reads(client.get(f"/chapters/{slug}/notebook.ipynb").text, as_version=4)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "{instrument=" not in markdown and "{snippet=" not in markdown
    assert number in markdown


def test_the_notebook_executes_in_a_plain_kernel(client: TestClient) -> None:
    notebook = nbformat.reads(client.get(URL).text, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=False).execute()
    by_snippet = {c.metadata.get("textbook", {}).get("snippet"): c for c in notebook.cells if c.cell_type == "code"}
    assert "merged == two-path    : True" in outputs_text(by_snippet["lora-algebra"])
    rank = outputs_text(by_snippet["rank-capacity"])
    assert "rank  16: relative Frobenius error 0.0000" in rank
    figures = [
        o
        for o in by_snippet["rank-capacity"].outputs
        if o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
    ]
    assert len(figures) == 1


def test_my_version_holds_the_snippets_as_i_last_ran_them(client: TestClient) -> None:
    page = parse_html(client.get("/chapters/fine-tuning").text)
    assert page.find("a", href=URL).text == "Download notebook"
    edited = "print('my own rank sweep')\n"
    run = client.post(
        "/chapters/fine-tuning/snippets/rank-capacity", data={"code": edited}, headers={"HX-Request": "true"}
    )
    assert run.status_code == 200
    mine = client.get(URL + "?version=mine")
    assert 'filename="2-06-fine-tuning-my-version.ipynb"' in mine.headers["content-disposition"]
    cells = {
        c.metadata.get("textbook", {}).get("snippet"): c.source for c in nbformat.reads(mine.text, as_version=4).cells
    }
    assert "my own rank sweep" in cells["rank-capacity"]
    assert "merged == two-path" in cells["lora-algebra"], "a snippet not edited stays the chapter's"
    plain = {
        c.metadata.get("textbook", {}).get("snippet"): c.source
        for c in nbformat.reads(client.get(URL).text, as_version=4).cells
    }
    assert "my own rank sweep" not in plain["rank-capacity"]
    assert client.get(URL + "?version=yours").status_code == 422
    assert client.get("/chapters/no-such/notebook.ipynb").status_code == 404
