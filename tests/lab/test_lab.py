"""Chapter 1 as a notebook in a real JupyterLab, every cell run in headless Chromium.

``make browser-lab`` (part of ``make test``) runs this: it starts JupyterLab from the
project's environment on a free loopback port with a token, in a temporary folder that
holds a copy of ``book/chapters/01_diffusion.md`` with ``quick = True``; opens it (jupytext
makes the Markdown a notebook, with the ``pdecore`` kernel of its front matter) through
``make lab`` itself (``LAB_DIR``, ``LAB_PORT`` and a token in ``LAB_ARGS``); runs all
cells; checks that every code cell ran, none has an error output and a figure appeared;
saves it and checks that the save wrote the Markdown, not a new ``.ipynb``. The server is
stopped by the test, whatever happens. Requests to anything but the server are refused.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

if os.environ.get("PDECORE_LAB_TEST") != "1":
    pytest.skip("the lab test runs through `make browser-lab` (PDECORE_LAB_TEST=1)",
                allow_module_level=True)

from playwright import sync_api as playwright_api  # noqa: E402 - only when asked to run

REPO = Path(__file__).resolve().parents[2]
CHAPTER = "01_diffusion.md"
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
#: Seconds for the server to answer, and for all cells to run.
START_S, RUN_S = 90, 300

STATE_JS = """
() => {
  const app = window.jupyterapp;
  const widget = app && app.shell.currentWidget;
  if (!widget || !widget.content || !widget.content.model) return null;
  const cells = widget.content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== "code") continue;
    out.push({count: c.executionCount, outputs: c.outputs.toJSON()});
  }
  const ctx = widget.sessionContext;
  return {cells: out, kernel: ctx ? ctx.kernelDisplayName : null,
          status: ctx && ctx.session && ctx.session.kernel ? ctx.session.kernel.status : null};
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free port, serving a folder with chapter 1 (quick)."""
    root = tmp_path_factory.mktemp("lab")
    source = (REPO / "book" / "chapters" / CHAPTER).read_text()
    assert "\nquick = False" in source, "chapter 1's parameters cell changed"
    (root / CHAPTER).write_text(source.replace("\nquick = False", "\nquick = True", 1))
    port, token = _free_port(), secrets.token_hex(16)
    # exactly `make lab`, pointed at the temporary folder, a free port and a token
    args = (f"--no-browser --ServerApp.port_retries=0 --IdentityProvider.token={token} "
            f"--LabApp.expose_app_in_browser=True")
    cmd = ["make", "--no-print-directory", "-C", str(REPO), "lab", f"LAB_PORT={port}",
           f"LAB_DIR={root}", f"LAB_OPEN={CHAPTER}", f"LAB_ARGS={args}"]
    log = (root / "server.log").open("w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + (root / "server.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield {"url": url, "token": token, "root": root}
    finally:
        if server.poll() is None:  # make and JupyterLab: the whole process group
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


def test_chapter_1_runs_as_a_notebook_in_jupyterlab(lab):
    external = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()

            def route(r):
                if r.request.url.startswith(lab["url"]) or r.request.url.startswith("data:"):
                    r.continue_()
                else:
                    external.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(f"{lab['url']}/lab/tree/{CHAPTER}?token={lab['token']}",
                      timeout=START_S * 1000)
            page.wait_for_function(
                "() => { const s = (" + STATE_JS + ")(); return s && s.status === 'idle'; }",
                timeout=START_S * 1000)
            state = page.evaluate(STATE_JS)
            assert state["kernel"] == "Python 3 (pdecore)", state["kernel"]
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(
                "() => { const s = (" + STATE_JS + ")(); return s && s.status === 'idle' && "
                "s.cells.every(c => c.count !== null); }", timeout=RUN_S * 1000, polling=1000)
            state = page.evaluate(STATE_JS)
            page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
            page.wait_for_timeout(2000)
        finally:
            browser.close()
    errors = [o for c in state["cells"] for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"error outputs: {[(e['ename'], e['evalue']) for e in errors]}"
    assert len(state["cells"]) > 5 and all(c["count"] for c in state["cells"])
    figures = [o for c in state["cells"] for o in c["outputs"]
               if "image/png" in o.get("data", {})]
    assert figures, "no figure appeared"
    assert not external, f"tried to load from outside the server: {external[:3]}"
    # saving in the notebook view writes the Markdown (jupytext), no .ipynb appears
    assert not list(lab["root"].glob("*.ipynb"))
    assert (lab["root"] / CHAPTER).read_text().startswith("---\njupytext:")
