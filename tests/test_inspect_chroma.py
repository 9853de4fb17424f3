"""The inspector's read path on real embedded Chroma and the real E5 embedder."""

from __future__ import annotations

import html
import re

import pytest

pytest.importorskip("starlette", reason="the inspector needs the 'inspect' extra")
from starlette.testclient import TestClient

from memory_agent import ChromaStore, E5Embedder
from memory_agent.apps.inspect import Workspace, create_app

from .inspect_seed import open_manager_for, seed


def test_read_pages_on_chroma_and_e5(tmp_path):
    store = ChromaStore.from_settings(data_dir=tmp_path)
    embedder = E5Embedder()
    seed(store, "alice", embedder=embedder)
    workspace = Workspace(store, open_manager_for(store, embedder))
    try:
        with TestClient(create_app(workspace, token="t"), base_url="http://127.0.0.1") as c:
            c.get("/?token=t")
            assert ">alice</a>" in c.get("/").text
            profile = c.get("/profile?user=alice").text
            assert 'value="Lives in Lyon"' in profile and "turn=2#turn-2" in profile
            session = c.get("/session?user=alice&session=day-1&turn=2").text
            assert '<li id="turn-2" class="turn highlight"' in session
            tree = c.get("/tree?user=alice").text
            assert "Verified" in tree and "S.day-3" in tree
            recall = c.get("/recall?user=alice&q=what+should+I+cook+for+dinner&budget=300").text
            shown = re.search(r'<pre class="context" id="context">(.*?)</pre>', recall, re.S)
            assert shown is not None
            expected = workspace.manager("alice").recall("what should I cook for dinner",
                                                         token_budget=300)
            assert html.unescape(shown.group(1)) == expected.to_prompt()
            trace = workspace.manager("alice").recall_trace("what should I cook for dinner",
                                                            token_budget=300)
            turns = [i for i in trace.items if i.kind == "turn"]
            assert turns and all(0.0 < i.parts.dense <= 1.0 for i in turns)  # E5 cosines
            assert "summarised" in c.get("/sessions?user=alice").text
    finally:
        workspace.close()
        store.close()


def test_memory_agent_inspect_command(tmp_path):
    """`memory-agent inspect` serves the stored users on 127.0.0.1 behind its token."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import httpx

    store = ChromaStore.from_settings(data_dir=tmp_path)
    seed(store, "alice", embedder=E5Embedder())
    store.close()
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(root), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "memory_agent.apps.cli", "--data-dir", str(tmp_path),
         "inspect", "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=env)
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            if line.startswith("memory inspector: "):
                url = line.split(": ", 1)[1].strip()
                break
        assert url.startswith("http://127.0.0.1:") and "?token=" in url
        base = url.split("/?", 1)[0]
        with httpx.Client(timeout=30) as client:
            assert client.get(base + "/").status_code == 403
            page = client.get(url, follow_redirects=True)
            assert page.status_code == 200 and ">alice</a>" in page.text
            profile = client.get(base + "/profile?user=alice")
            assert "Lives in Lyon" in profile.text
        process.send_signal(signal.SIGINT)  # Ctrl-C, by its own pid: a clean stop
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
