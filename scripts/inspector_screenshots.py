"""Take the screenshots in docs/inspector.md: the inspector on a seeded in-memory user, in
headless Chromium. Run from the repo root: python scripts/inspector_screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selenium.webdriver.common.by import By  # noqa: E402

from memory_agent import (  # noqa: E402
    FakeLLM,
    HashingEmbedder,
    InMemoryStore,
    MemoryManager,
    ProfileEdit,
)
from memory_agent.apps.inspect import InspectorServer, Workspace  # noqa: E402
from memory_agent.core.extraction import ExtractionOutcome  # noqa: E402
from tests.browser import Browser  # noqa: E402
from tests.inspect_seed import open_manager_for, seed  # noqa: E402


def failing(messages, schema):  # type: ignore[no-untyped-def]
    if schema is None:
        msg = "llama.cpp: failed to decode (context window exceeded)"
        raise RuntimeError(msg)
    return "{}"


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    store = InMemoryStore()
    seed(store, "alice")
    usual = open_manager_for(store)

    def open_manager(user_id: str) -> MemoryManager:
        if user_id == "bob":
            return MemoryManager(user_id="bob", store=store, llm=FakeLLM(responder=failing),
                                 embedder=HashingEmbedder(), background=True, resume=False)
        return usual(user_id)

    workspace = Workspace(store, open_manager)
    bob = workspace.manager("bob", must_exist=False)
    bob.record("My cat is called Miso.", "What a lovely name!", session_id="evening")
    bob.end_session("evening")
    bob.flush()
    alice = workspace.manager("alice")
    alice.forget_fact("f5")  # queues day-2's summary for rewriting: a done job in the log
    alice.flush()
    server = InspectorServer(workspace).start()
    browser = Browser()
    driver = browser.driver

    def shot(name: str, url: str | None = None, full: bool = True) -> None:
        """The page (the whole page if ``full``, at most 2600 px tall) as a PNG."""
        if url is not None:
            driver.get(server.base + url)
        time.sleep(0.3)
        size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        height = min(size["height"], 2600) if full else driver.execute_script(
            "return window.innerHeight")
        clip = {"x": 0, "y": 0 if full else driver.execute_script("return window.scrollY"),
                "width": 1280, "height": height, "scale": 1}
        data = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": full, "clip": clip})["data"]
        (out / f"inspector-{name}.png").write_bytes(base64.b64decode(data))

    try:
        driver.get(server.url)
        shot("users")
        shot("profile", "/profile?user=alice")
        driver.get(server.base + "/profile?user=alice")
        driver.find_element(By.CSS_SELECTOR, "#fact-f3 a.source").click()
        shot("source-turn", full=False)
        driver.get(server.base + "/profile?user=alice")

        def background(doc):  # type: ignore[no-untyped-def]
            return ExtractionOutcome([ProfileEdit(op="add", section="Goals",
                                                  text="Run a marathon in the autumn",
                                                  sources=["day-3#2"])], [])

        alice.apply_profile_edits(background)
        box = driver.find_element(By.CSS_SELECTOR, "#fact-f4 input.fact-text")
        box.clear()
        box.send_keys("Cooks on weekends only")
        driver.find_element(By.CSS_SELECTOR, "#fact-f4 button.save").click()
        shot("conflict", full=False)
        shot("tree", "/tree?user=alice")
        shot("recall", "/recall?user=alice&q=what+should+I+cook+tonight%3F&budget=250")
        shot("sessions", "/sessions?user=alice")
        shot("jobs-failed", "/sessions?user=bob")
        shot("forget-confirm", "/fact/forget?user=alice&fact=f3")
        driver.find_element(By.ID, "confirm-forget").click()
        shot("forgotten")
    finally:
        browser.close()
        server.stop()
        workspace.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img")
