"""The sitemap (sitemaps.org protocol 0.9) and robots.txt, derived from the content catalog.

Every chapter the library serves is listed, with the index; nothing here names a
chapter. A page's `lastmod` is its chapter file's last change (the index: the newest
chapter's). URLs are absolute: the public origin is the caller's (the configured
`TEXTBOOK_PUBLIC_URL`, else the request's own). Pure: no web framework.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

from app.content.model import Chapter

__all__ = ["SITEMAP_PATH", "SitemapEntry", "robots_txt", "sitemap_entries", "sitemap_xml"]

NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP_PATH = "/sitemap.xml"


@dataclass(frozen=True)
class SitemapEntry:
    path: str  # absolute path on the site, e.g. /chapters/fine-tuning
    lastmod: datetime | None


def _modified(path: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, tz=UTC)
    except OSError:
        return None


def sitemap_entries(chapters: Iterable[Chapter]) -> list[SitemapEntry]:
    """The index, then every chapter in the library's order."""
    pages = [SitemapEntry(f"/chapters/{chapter.slug}", _modified(chapter.path)) for chapter in chapters]
    dates = [page.lastmod for page in pages if page.lastmod is not None]
    return [SitemapEntry("/", max(dates) if dates else None), *pages]


def sitemap_xml(origin: str, entries: Iterable[SitemapEntry]) -> bytes:
    """A `<urlset>` with one `<url>` (absolute `<loc>`, W3C-datetime `<lastmod>`) per entry."""
    base = origin.rstrip("/")
    urlset = ElementTree.Element("urlset", xmlns=NAMESPACE)
    for entry in entries:
        url = ElementTree.SubElement(urlset, "url")
        ElementTree.SubElement(url, "loc").text = base + entry.path
        if entry.lastmod is not None:
            ElementTree.SubElement(url, "lastmod").text = entry.lastmod.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return ElementTree.tostring(urlset, encoding="utf-8", xml_declaration=True)


def robots_txt(origin: str) -> str:
    """Crawlers may read the book; the JSON API and the instructor view are not pages."""
    return f"User-agent: *\nDisallow: /api/\nDisallow: /instructor\nSitemap: {origin.rstrip('/')}{SITEMAP_PATH}\n"
