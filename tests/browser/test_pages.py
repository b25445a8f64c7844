"""Open every page of the built book in headless Chromium, offline, and check it.

Run by ``make browser`` (part of ``make test``) on the quick-mode book and by
``make browser-book`` on the full one; by hand: ``BOOK_HTML=path/to/html pytest
tests/browser`` (screenshots go to ``BOOK_SCREENSHOTS``, by default
``_build/test/screenshots``; without ``BOOK_HTML`` the module is skipped). Each page is
loaded from disk by ``file://`` URL with every http(s) request aborted, and fails on:

- a console error or an uncaught JavaScript exception;
- a request to the network, or a local file (script, style sheet, font) that fails to load;
- an image that does not load (``naturalWidth == 0``);
- math that MathJax did not typeset: raw TeX left in the text (``\\(``, ``\\[``, ``$$``,
  ``\\begin{``, ``$...\\cmd...$``), a page with math but no ``mjx-container``, or a
  MathJax parse error (``mjx-merror``);
- a link to a local file that does not exist, or to an anchor that the target page
  does not define.

A full-page screenshot of every page is saved for a person to look at, and display
equations wider than the text column are listed as warnings. Every chapter
page must also offer its executed notebook (the download button's ``.ipynb``).

Chromium is Debian's (``/usr/bin/chromium``, installed by ``make chromium``); the
Playwright package only drives it (no ``playwright install``).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

REPO = Path(__file__).resolve().parents[2]
if "BOOK_HTML" not in os.environ:  # a plain `pytest tests` does not open a browser
    pytest.skip("the browser test runs through `make browser` (or set BOOK_HTML to a built "
                "book's html folder)", allow_module_level=True)

from playwright import sync_api as playwright_api  # noqa: E402 - only when asked to run

HTML = Path(os.environ["BOOK_HTML"]).resolve()
SCREENSHOTS = Path(
    os.environ.get("BOOK_SCREENSHOTS", REPO / "_build" / "test" / "screenshots")
).resolve()
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Seconds to wait for a page (and MathJax) before failing.
TIMEOUT_S = 30

if not HTML.is_dir():  # asked for explicitly: a missing book fails
    raise FileNotFoundError(f"BOOK_HTML={HTML} does not exist; build the book first")


def _pages() -> list[Path]:
    """Every HTML page of the book (not the theme's or Sphinx's static files)."""
    skip = {"_static", "_sources", "_images", "_downloads"}
    return sorted(
        p for p in HTML.rglob("*.html") if not skip & set(p.relative_to(HTML).parts)
    )


REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.I)
ALL_PAGES = _pages()
#: The pages opened in the browser: all but the redirect stubs (index.html).
PAGES = [p for p in ALL_PAGES if not REDIRECT.search(p.read_text(encoding="utf-8")[:500])]


class _Anchors(HTMLParser):
    """Collects every ``id`` and ``<a name>`` of an HTML file."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value and (key == "id" or (key == "name" and tag == "a")):
                self.anchors.add(value)


_ANCHOR_CACHE: dict[Path, set[str]] = {}


def anchors_of(path: Path) -> set[str]:
    """The anchors an HTML file defines (parsed once per file)."""
    if path not in _ANCHOR_CACHE:
        parser = _Anchors()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        _ANCHOR_CACHE[path] = parser.anchors
    return _ANCHOR_CACHE[path]


def broken_link(href: str) -> str | None:
    """Why ``href`` (a URL resolved by the browser) is broken, or None."""
    url, fragment = urldefrag(href)
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None  # http(s), mailto, javascript: not checked (offline)
    target = Path(unquote(parsed.path))
    if not target.exists():
        return f"{target} does not exist"
    if target.is_dir():
        if not (target / "index.html").exists():
            return "a directory without index.html"
        target = target / "index.html"
    fragment = unquote(fragment)
    if fragment and target.suffix == ".html" and fragment not in anchors_of(target):
        return f"no anchor #{fragment} in {target.name}"
    return None


# Raw TeX in text outside MathJax output, code, and scripts. Inline MyST math is
# rendered as \( \); display math as \[ \] or $$; amsmath environments as \begin{...}.
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\$(?=\S)[^$]*\\[A-Za-z]+[^$]*\$")

CHECK_PAGE_JS = r"""
async (TIMEOUT_MS) => {
  // Load lazy images now; wait for every image to finish (or fail).
  const imgs = Array.from(document.images);
  imgs.forEach(img => { if (img.loading === "lazy") img.loading = "eager"; });
  await Promise.all(imgs.map(img => img.complete ? null :
    new Promise(done => { img.addEventListener("load", done);
                          img.addEventListener("error", done); })));
  // Wait until MathJax has typeset the page (if the page loads MathJax at all).
  let mathjax = "absent";
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    const timeout = new Promise(done => setTimeout(() => done("timeout"), TIMEOUT_MS));
    const typeset = window.MathJax.startup.promise.then(() => "done");
    mathjax = (await Promise.race([typeset, timeout])) === "done"
      ? (window.MathJax.version || "loaded") : "timed out while typesetting";
  } else if (window.MathJax) {
    mathjax = "configured but not loaded";
  }
  const skip = "mjx-container, script, style, code, pre, textarea, kbd, .highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest(skip)) continue;
    if (node.textContent.trim()) texts.push(node.textContent);
  }
  return {
    mathjax: mathjax,
    mathSources: document.querySelectorAll(".math").length,
    mjx: document.querySelectorAll("mjx-container").length,
    mathErrors: Array.from(document.querySelectorAll("mjx-merror"))
                     .map(e => e.getAttribute("data-mjx-error") || e.textContent),
    wideMath: Array.from(document.querySelectorAll('mjx-container[display="true"]'))
                   .filter(e => e.scrollWidth > e.clientWidth + 1)
                   .map(e => (e.closest("div.math") || e).id ||
                        ((MathJax.startup.document.getMathItemsWithin(e)[0] || {}).math || "")
                          .replace(/\s+/g, " ").trim().slice(0, 60)),
    brokenImages: imgs.filter(img => !(img.complete && img.naturalWidth > 0))
                      .map(img => img.getAttribute("src")),
    links: Array.from(document.querySelectorAll("a[href]"))
                .map(a => [a.getAttribute("href"), a.href]),
    texts: texts,
  };
}
"""


@pytest.fixture(scope="module")
def browser():
    """One offline headless Chromium for all pages."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make chromium` (as root: apt-get install "
                    "-y chromium)")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """The folder of the screenshots, emptied once per run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    return SCREENSHOTS


def test_book_has_pages():
    names = {p.relative_to(HTML).as_posix() for p in ALL_PAGES}
    assert "index.html" in names
    assert any(n.startswith("book/chapters/") for n in names), names
    assert any(n.startswith("book/appendix/api") for n in names), names


def test_index_redirects_to_a_page():
    match = REDIRECT.search((HTML / "index.html").read_text(encoding="utf-8"))
    assert match, "index.html is not a redirect"
    assert (HTML / match.group(1)).is_file(), f"index.html redirects to missing {match[1]}"


def check_page(browser, page: Path, screenshot: Path, notes: list | None = None) -> list[str]:
    """Open ``page`` offline, save a full-page screenshot, return what is wrong with it.

    ``notes`` receives what a person should look at but is not an error: display
    equations wider than the text column (the reader has to scroll them sideways).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    network: list[str] = []

    def block(route):  # the network is off: record and abort every http(s) request
        network.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^https?://"), block)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(f"console {m.type}: {m.text}")
           if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(f"uncaught exception: {e}"))
    tab.on("requestfailed", lambda r: errors.append(f"failed to load {r.url}: {r.failure}")
           if not r.url.startswith(("http://", "https://")) else None)
    try:
        tab.set_default_timeout(TIMEOUT_S * 1000)
        tab.goto(page.as_uri(), wait_until="load")
        result = tab.evaluate(CHECK_PAGE_JS, TIMEOUT_S * 1000)
        tab.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()

    if notes is not None:
        notes += [f"equation {eq} is wider than the text column (scrolls sideways)"
                  for eq in result["wideMath"]]
    problems = list(errors)
    problems += [f"tried to load from the network: {url}" for url in network]
    problems += [f"image did not load: {src}" for src in result["brokenImages"]]
    problems += [f"MathJax error: {msg}" for msg in result["mathErrors"]]
    if result["mathjax"] == "timed out while typesetting":
        problems.append("MathJax did not finish typesetting")
    if result["mathSources"] and not result["mjx"]:
        problems.append(f"{result['mathSources']} math elements but no mjx-container "
                        f"(MathJax: {result['mathjax']})")
    for text in result["texts"]:
        for tex in dict.fromkeys(m.group(0) for m in RAW_TEX.finditer(text)):
            problems.append(f"raw TeX {tex!r} in text: {text.strip()[:120]!r}")
    for href, resolved in result["links"]:
        why = broken_link(resolved)
        if why:
            problems.append(f"broken link {href!r}: {why}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(HTML).as_posix() for p in PAGES])
def test_page(page: Path, browser, screenshots: Path):
    name = page.relative_to(HTML).as_posix().removesuffix(".html").replace("/", "__")
    problems = check_page(browser, page, screenshots / f"{name}.png", notes := [])
    for note in notes:  # worth a look, not an error: shown in pytest's warnings summary
        warnings.warn(f"{page.relative_to(HTML)}: {note}", stacklevel=1)
    assert not problems, f"{page.relative_to(HTML)}:\n  " + "\n  ".join(problems)


BAD_PAGE = """<!DOCTYPE html><html><head>
<script src="https://cdn.example.org/lib.js"></script>
<script>console.error("boom")</script></head><body>
<script>notAFunction()</script><span class="math">\\(a\\)</span>
<p>Raw inline math \\(x^2\\) and $$y$$ and $\\tau$ left as TeX.</p>
<img src="missing.png" alt="missing">
<a href="missing.html">missing page</a> <a href="good.html#nowhere">missing anchor</a>
<a href="good.html#here">fine</a> <a href="#top">missing local anchor</a>
<a href="https://example.org/">external, not checked</a>
</body></html>"""


def test_checker_finds_every_kind_of_problem(tmp_path: Path, browser):
    """The checks are not vacuous: a page with one problem of each kind fails each one."""
    (tmp_path / "good.html").write_text('<html><body><p id="here">x</p></body></html>')
    bad = tmp_path / "bad.html"
    bad.write_text(BAD_PAGE)
    problems = "\n".join(check_page(browser, bad, tmp_path / "bad.png"))
    assert (tmp_path / "bad.png").stat().st_size > 0
    for expected in ["console error: boom", "uncaught exception", "no mjx-container",
                     "tried to load from the network: https://cdn",
                     "image did not load: missing.png", "raw TeX '\\\\('", "raw TeX '$$'",
                     "raw TeX '$\\\\tau$'", "'missing.html'", "no anchor #nowhere",
                     "no anchor #top"]:
        assert expected in problems, f"{expected!r} not reported in:\n{problems}"
    assert "#here" not in problems and "example.org/'" not in problems


CHAPTERS = [p for p in PAGES if p.relative_to(HTML).parts[:2] == ("book", "chapters")]


@pytest.mark.parametrize("page", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_offers_executed_notebook(page: Path):
    html = page.read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]+\.ipynb)"', html)
    assert hrefs, f"{page.name}: no .ipynb download link"
    notebook = (page.parent / hrefs[0]).resolve()
    assert notebook.is_file(), f"{page.name}: {notebook} missing"
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and any(c.get("outputs") for c in code), f"{notebook.name} has no outputs"


def _shown_code(html: str) -> list[str]:
    """The source text of every code cell input the page shows."""
    blocks = re.findall(r'<div class="cell_input[^"]*"[^>]*>(.*?)</pre>', html, re.DOTALL)
    return [unescape(re.sub(r"<[^>]+>", "", b)) for b in blocks]


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(HTML).as_posix() for p in PAGES])
def test_pages_show_no_bookkeeping_cells(page: Path):
    """Papermill's injected cell and glue-only cells stay in the notebook, off the page."""
    html = page.read_text(encoding="utf-8")
    assert "tag_injected-parameters" not in html, f"{page.name} shows the injected cell"
    for code in _shown_code(html):
        statements = [s for s in code.splitlines() if s.strip() and not s.startswith(" ")]
        assert not statements or not all(s.startswith("glue(") for s in statements), (
            f"{page.name} shows a cell of glue calls only:\n{code}")


def test_the_downloaded_notebook_keeps_the_injected_parameters():
    page = next(p for p in CHAPTERS if p.stem.startswith("01_"))
    href = re.findall(r'href="([^"]+\.ipynb)"', page.read_text(encoding="utf-8"))[0]
    nb = json.loads((page.parent / href).resolve().read_text(encoding="utf-8"))
    tags = [c.get("metadata", {}).get("tags", []) for c in nb["cells"]]
    assert any("injected-parameters" in t for t in tags), "the run's parameters are lost"
    # whoever downloads it learns first how to run it; the page does not show that note
    first = "".join(nb["cells"][0]["source"])
    assert "how-to-run" in tags[0] and "remove-cell" in tags[0]
    assert 'pip install "pdecore[nets] @ git+https://' in first and "make lab" in first
    assert "Running this notebook yourself" not in page.read_text(encoding="utf-8")
