"""The app in a real browser: Playwright driving Debian's chromium against ``acap serve``.

A respondent completes the questionnaire from the link ``acap serve`` prints, resumes after a
reload and after the server is restarted, and axe-core (from the axe-playwright-python package,
which ships axe.min.js) finds no WCAG 2.2 A/AA violation on any page, at desktop width and at
390 px. Staff pages are checked the same way after signing in. Every page is screenshotted to
``test-artifacts/app/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app_support import postgres_database  # noqa: F401  (used by the replicas test)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "app"
PASSWORD = "browser test passphrase"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ACAP = str(Path(sys.executable).with_name("acap"))



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``acap serve`` in a subprocess; ``lines`` is what it printed."""

    def __init__(self, data: Path, port: int, env: dict | None = None):
        self.data, self.port, self.env = data, port, {**os.environ, "ACAP_ADMIN_PASSWORD": PASSWORD, **(env or {})}
        self.proc = None
        self.lines: list[str] = []

    def start(self, timeout: float = 300) -> "Server":
        self.proc = subprocess.Popen([ACAP, "serve", "--data", str(self.data), "--port", str(self.port),
                                      "--address", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=self.env)
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if "Analyses ready" in line or time.monotonic() > deadline:
                break
        assert any("Analyses ready" in ln for ln in self.lines), "\n".join(self.lines)
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise AssertionError("acap serve did not answer:\n" + "\n".join(self.lines))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def link(self) -> str:
        return next(re.search(r"(http\S+\?code=\S+)", ln).group(1) for ln in self.lines if "?code=" in ln)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        yield b
        b.close()


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


class Checker:
    """Screenshots and axe-core runs of every page, at desktop width and at 390 px."""

    def __init__(self, page, prefix: str):
        self.page, self.prefix, self.axe, self.seen = page, prefix, _axe_source(), []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def settle(self) -> None:
        # Streamlit greys out stale elements while a rerun is in flight; wait until it is done.
        self.page.wait_for_function(
            "() => !document.querySelector('[data-stale=\"true\"]') && "
            "document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState !== 'running'")
        self.page.wait_for_timeout(300)

    def check(self, name: str) -> None:
        self.settle()
        problems = []
        for label, size in (("desktop", DESKTOP), ("390px", PHONE)):
            self.page.set_viewport_size(size)
            self.page.wait_for_timeout(250)
            # Streamlit scrolls an inner element, so a full-page shot needs a viewport as tall as the content.
            tall = self.page.evaluate("() => Math.max(...[...document.querySelectorAll("
                                      "'[data-testid=\"stMain\"], [data-testid=\"stSidebarContent\"]')]"
                                      ".map(e => e.scrollHeight), 0)")
            self.page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(tall) + 40)})
            self.page.wait_for_timeout(250)
            self.page.screenshot(path=str(ARTIFACTS / f"{self.prefix}-{name}-{label}.png"))
            self.page.set_viewport_size(size)
            self.page.wait_for_timeout(150)
            if not self.page.evaluate("() => typeof axe !== 'undefined'"):
                self.page.evaluate(self.axe)
            found = self.page.evaluate("""async (tags) => {
                const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
                return r.violations.map(v => `${v.id} (${v.impact}): ${v.help} -> ` +
                    v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
            }""", AXE_TAGS)
            problems += [f"{name} at {label}: {v}" for v in found]
            if label == "390px":
                wide = self.page.evaluate("() => document.documentElement.scrollWidth")
                if wide > PHONE["width"] + 1:
                    problems.append(f"{name} at 390px: page is {wide}px wide (scrolls sideways)")
        self.page.set_viewport_size(DESKTOP)
        self.seen.append(name)
        assert not problems, "\n".join(problems)


def _heading(page, text: str, timeout: float = 30_000):
    try:
        page.get_by_role("heading", name=text, level=1).wait_for(timeout=timeout)
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"failed-waiting-for-{text.replace(' ', '-')}.png"), full_page=True)
        raise


def _settle(page) -> None:
    # Each click reruns the script; a click landing mid-rerun can be lost, so wait for it to finish.
    page.wait_for_timeout(150)
    page.wait_for_function(
        "() => !document.querySelector('[data-stale=\"true\"]') && "
        "document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState !== 'running'")


def _answer_page(page, choice: str = "Agree") -> None:
    _settle(page)  # the previous page's elements linger until the rerun ends
    for group in page.get_by_role("radiogroup").all():
        group.get_by_text(choice, exact=True).click()
        _settle(page)
        expect(group.get_by_role("radio", name=choice, exact=True)).to_be_checked()


def _next(page, label: str = "Save and continue") -> None:
    page.get_by_role("button", name=label).click()


def test_respondent_in_a_browser_resumes_and_is_accessible(browser, tmp_path):
    server = Server(tmp_path / "data", _free_port()).start()
    try:
        link = server.link()
        page = browser.new_page(viewport=DESKTOP)
        check = Checker(page, "respondent")
        page.goto(link)
        _heading(page, "About this questionnaire")
        assert "code=" not in page.url  # the code leaves the address bar
        check.check("01-consent")
        _next(page, "Start")
        page.get_by_role("alert").wait_for()
        check.check("02-consent-error")
        page.get_by_text("I have read this and agree to take part").click()
        _next(page, "Start")
        _heading(page, "About you")
        check.check("03-background")
        page.get_by_text("Business-intelligence or population-health analyst").click()
        _next(page)
        _heading(page, "Recognising value")
        _next(page)  # nothing answered: one error naming what is missing
        page.get_by_role("alert").wait_for()
        assert "question 1, question 2, question 3, question 4" in page.get_by_role("alert").inner_text()
        check.check("04-scale-error")
        _answer_page(page)
        check.check("05-scale-answered")
        _next(page)
        _heading(page, "Acquisition")
        _answer_page(page, "Slightly agree")
        _next(page)
        _heading(page, "Assimilation")

        # a reload: the session is gone, the code is not in the address bar; the landing page asks for it
        page.reload()
        _heading(page, "acap questionnaire")
        check.check("06-landing")
        code = link.split("code=", 1)[1]
        page.get_by_role("textbox", name="Your code").fill(code)
        page.get_by_role("button", name="Open the questionnaire").click()
        _heading(page, "Assimilation")  # resumed on the page where it stopped
        page.get_by_role("button", name="Back").click()
        _heading(page, "Acquisition")
        expect(page.get_by_role("radio", name="Slightly agree").first).to_be_checked()  # waits for the rerun

        # a server restart loses nothing: the same link resumes
        server.stop()
        server.start()
        page.goto(link)
        _heading(page, "Acquisition")
        expect(page.get_by_role("radio", name="Slightly agree").first).to_be_checked()  # waits for the rerun

        titles = ["Assimilation", "Transformation", "Exploitation", "Distributed leadership",
                  "Knowledge-management systems", "Learning relationships and networks",
                  "Staff development and training", "Organisational strategy", "Participation in decision-making",
                  "Knowledge your organisation gathers", "Knowledge that shapes decisions",
                  "How knowledge reaches you"]
        _next(page)
        for k, title in enumerate(titles):
            _heading(page, title)
            _answer_page(page, "Quite a lot" if title.startswith(("Knowledge ", "How ")) else "Agree")
            if k in (0, 9, 11):
                check.check(f"{7 + k:02d}-{title.lower().replace(' ', '-')}")
            _next(page)
        _heading(page, "Whom you go to for advice")
        page.get_by_label("First, which name on the list is yours?").click()
        page.get_by_role("option").first.click()
        check.check("20-network")
        page.get_by_label("Academia").fill("2")
        _next(page)
        _heading(page, "Check and submit")
        check.check("21-review")
        _next(page, "Submit my answers")
        _heading(page, "Thank you")
        check.check("22-thanks")
        page.goto(link)
        _heading(page, "Your answers are already in")
        check.check("23-already-submitted")
    finally:
        server.stop()


def test_staff_pages_in_a_browser_are_accessible(browser, tmp_path):
    from app_support import APP_DIR  # noqa: F401

    server = Server(tmp_path / "data", _free_port()).start()
    try:
        page = browser.new_page(viewport=DESKTOP)
        check = Checker(page, "staff")
        page.goto(server.url)
        _heading(page, "acap questionnaire")
        page.get_by_test_id("stExpander").get_by_text("Staff sign-in").first.click()
        page.get_by_role("textbox", name="User name").fill("admin")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        _heading(page, "Results", timeout=120_000)
        page.get_by_role("heading", level=2).first.wait_for(timeout=120_000)
        check.check("01-results")
        from acap_app.router import SECTIONS

        for k, section in enumerate(s for s in SECTIONS if s != "Results"):
            page.get_by_test_id("stSidebar").get_by_text(section, exact=True).click()
            _heading(page, section)
            check.check(f"{k + 2:02d}-{section.lower().replace(' ', '-')}")
    finally:
        server.stop()


def test_two_replicas_on_one_postgresql_share_every_answer(browser, tmp_path):
    """Two ``acap serve`` processes on one PostgreSQL database (the scale-out path): a respondent
    starts on one and carries on on the other, and the submission is seen by both."""
    with postgres_database() as url:
        env = {"ACAP_DATABASE_URL": url}
        a = Server(tmp_path / "a", _free_port(), env).start()
        b = Server(tmp_path / "b", _free_port(), env).start()
        try:
            assert any("already holds data" in ln for ln in b.lines)  # seeded once, by the first
            code = a.link().split("code=", 1)[1]
            page = browser.new_page(viewport=DESKTOP)
            page.goto(f"{a.url}/?code={code}")
            _heading(page, "About this questionnaire")
            page.get_by_text("I have read this and agree to take part").click()
            _next(page, "Start")
            _heading(page, "About you")
            page.get_by_text("Finance", exact=True).click()
            _settle(page)
            _next(page)
            _heading(page, "Recognising value")
            _answer_page(page, "Agree")
            _next(page)
            _heading(page, "Acquisition")
            # the same link on the other replica resumes there, with the answers given on the first
            other = browser.new_page(viewport=DESKTOP)
            other.goto(f"{b.url}/?code={code}")
            _heading(other, "Acquisition")
            other.get_by_role("button", name="Back").click()
            _heading(other, "Recognising value")
            expect(other.get_by_role("radio", name="Agree", exact=True).first).to_be_checked()
            from acap.store import open_store

            store = open_store(url=url)
            try:
                assert store.invitation(code).status == "started"
                assert store.answers(code)["RV01"] == 6
            finally:
                store.close()
        finally:
            a.stop()
            b.stop()
