"""The inspector end to end in a real headless Chromium (Selenium + Debian's chromium).

Each test gets its own seeded in-memory store and server on 127.0.0.1 (a free port, stopped
by its handle); one browser serves the module. Skipped, saying why, only where the browser
truly cannot run (no selenium, no /usr/bin/chromium or chromedriver).
"""

from __future__ import annotations

import pytest

from .browser import Browser, why_not

pytestmark = [pytest.mark.browser, pytest.mark.integration]  # a browser: not the fast lane
if why_not() is not None:
    pytest.skip(f"no headless browser here: {why_not()}", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from memory_agent import ProfileEdit  # noqa: E402
from memory_agent.apps.inspect import InspectorServer, Workspace  # noqa: E402
from memory_agent.backends.store.memory import InMemoryStore  # noqa: E402
from memory_agent.core.extraction import ExtractionOutcome  # noqa: E402

from .inspect_seed import SCRIPT, open_manager_for, seed  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b.driver
    b.close()


@pytest.fixture
def server():
    store = InMemoryStore()
    seed(store, "alice")
    workspace = Workspace(store, open_manager_for(store))
    running = InspectorServer(workspace).start()
    assert running.host == "127.0.0.1"
    yield running
    running.stop()
    workspace.close()


def wait(driver, css: str, timeout: float = 10):
    return WebDriverWait(driver, timeout).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def open_profile(driver, server):
    driver.get(server.url)  # the token URL: sets the cookie, lands on the users page
    wait(driver, "#users")
    driver.find_element(By.LINK_TEXT, "alice").click()
    wait(driver, "#fact-f1")


def fact_input(driver, fact_id: str):
    return driver.find_element(By.CSS_SELECTOR, f"#fact-{fact_id} input.fact-text")


def test_open_a_profile(browser, server):
    open_profile(browser, server)
    assert "/profile?user=alice" in browser.current_url and "token" not in browser.current_url
    sections = [h.text for h in browser.find_elements(By.CSS_SELECTOR, ".psection h2")]
    assert sections[:2] == ["About", "Preferences"]
    assert fact_input(browser, "f1").get_attribute("value") == "Lives in Lyon"
    assert "evidence: asked for dinner ideas without meat" in browser.find_element(
        By.ID, "fact-f3").text


def test_click_a_source_and_see_the_turn_highlighted(browser, server):
    open_profile(browser, server)
    browser.find_element(By.CSS_SELECTOR, "#fact-f3 a.source").click()
    turn = wait(browser, "#turn-2")
    assert "session=day-1" in browser.current_url
    assert "highlight" in turn.get_attribute("class").split()
    assert "I don't eat meat" in turn.text
    assert len(browser.find_elements(By.CSS_SELECTOR, ".turn.highlight")) == 1
    colour = turn.value_of_css_property("background-color")
    other = browser.find_element(By.ID, "turn-1").value_of_css_property("background-color")
    assert colour != other  # it looks highlighted, not just carries a class
    in_view = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && "
        "r.bottom <= window.innerHeight;", turn)
    assert in_view


def test_edit_a_fact_and_it_persists_after_reload(browser, server):
    open_profile(browser, server)
    box = fact_input(browser, "f4")
    box.clear()
    box.send_keys("Cooks every evening after work")
    browser.find_element(By.CSS_SELECTOR, "#fact-f4 button.save").click()
    wait(browser, "#saved")
    browser.refresh()
    wait(browser, "#fact-f4")
    assert fact_input(browser, "f4").get_attribute("value") == "Cooks every evening after work"
    memory = server.workspace.manager("alice")
    assert memory.profile().get("f4").text == "Cooks every evening after work"


def test_conflict_message_when_a_background_update_came_first(browser, server):
    open_profile(browser, server)
    memory = server.workspace.manager("alice")

    def background(doc):  # a session ended meanwhile and its update landed
        return ExtractionOutcome([ProfileEdit(op="add", section="Goals",
                                              text="Run a marathon", sources=["day-3#2"])], [])

    memory.apply_profile_edits(background)
    box = fact_input(browser, "f4")
    box.clear()
    box.send_keys("Cooks on weekends only")
    browser.find_element(By.CSS_SELECTOR, "#fact-f4 button.save").click()
    error = wait(browser, "#error")
    assert "Not saved: the profile changed since you opened it" in error.text
    assert "Nothing was overwritten" in error.text
    assert fact_input(browser, "f4").get_attribute("value") == "Cooks most evenings"
    shown = [i.get_attribute("value") for i in browser.find_elements(By.CSS_SELECTOR,
                                                                     "input.fact-text")]
    assert "Run a marathon" in shown  # the page shows the current profile
    assert memory.profile().get("f4").text == "Cooks most evenings"


def test_run_a_recall_and_see_the_trace(browser, server):
    open_profile(browser, server)
    browser.find_element(By.LINK_TEXT, "Recall").click()
    query = wait(browser, "#query")
    query.send_keys("what should I cook tonight?")
    budget = browser.find_element(By.ID, "budget")
    budget.clear()
    budget.send_keys("200")
    browser.find_element(By.ID, "run-recall").click()
    wait(browser, "#items")
    context = browser.find_element(By.ID, "context").text
    expected = server.workspace.manager("alice").recall("what should I cook tonight?",
                                                         token_budget=200)
    assert context.strip() == expected.to_prompt().strip()
    parts = browser.find_element(By.ID, "part-tokens").text
    assert "standing instructions" in parts and "summaries" in parts
    rows = browser.find_elements(By.CSS_SELECTOR, "#items tbody tr")
    assert any("cut" in r.text for r in rows) and any(" in" in r.text for r in rows)


def test_forget_a_fact(browser, server):
    open_profile(browser, server)
    browser.find_element(By.CSS_SELECTOR, "#fact-f3 a.forget").click()
    wait(browser, "#confirm-forget").click()
    removed = wait(browser, "#removed").text
    assert "Vegetarian" in removed and "day-1" in removed
    browser.find_element(By.LINK_TEXT, "Back to the profile").click()
    wait(browser, "#fact-f1")
    assert not browser.find_elements(By.ID, "fact-f3")
    assert "(forgotten)" in browser.find_element(By.ID, "history").text


def test_stored_script_and_injection_never_run(browser, server):
    open_profile(browser, server)
    pages = [browser.current_url,
             f"{server.base}/session?user=alice&session=day-2",
             f"{server.base}/tree?user=alice",
             f"{server.base}/recall?user=alice&q=note&budget=1500"]
    for page in pages:
        browser.get(page)
        wait(browser, "main")
        assert browser.execute_script("return window.__pwned === undefined")
        assert browser.title != "pwned"
        assert not browser.find_elements(By.CSS_SELECTOR, "main img")
    assert SCRIPT in browser.find_element(By.ID, "context").text  # shown as text
    browser.get(f"{server.base}/session?user=alice&session=day-2")
    assert SCRIPT in browser.find_element(By.ID, "turn-1").text
