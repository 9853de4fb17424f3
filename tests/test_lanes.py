"""Every collected test is in exactly one lane, by the rules of tests/lanes.py."""

from __future__ import annotations

import pytest

from .lanes import LANE_KEY, LANES


def test_every_collected_test_has_exactly_one_lane(request: pytest.FixtureRequest) -> None:
    lanes = request.config.stash[LANE_KEY]
    assert request.node.nodeid in lanes
    wrong = {nodeid: found for nodeid, found in lanes.items()
             if len(found) != 1 or found[0] not in LANES}
    assert not wrong
    for item in request.session.items:  # the selected ones carry their lane as a marker
        assert len({m.name for m in item.iter_markers() if m.name in LANES}) == 1, item.nodeid


def test_lane_rules_on_the_suite(request: pytest.FixtureRequest) -> None:
    """Where the known cases were collected, they are in the lane the rules promise."""
    lanes = request.config.stash[LANE_KEY]
    assert lanes[request.node.nodeid] == ["unit"]
    expect = {"tests/test_crash_": "crash", "tests/test_packaging.py::": "packaging",
              "tests/test_real_stack.py::": "real", "tests/test_server_mode.py::": "integration",
              "integrations/langchain/tests/test_examples.py::": "integration",
              "tests/test_store_contract.py::": None}
    for nodeid, found in lanes.items():
        for prefix, lane in expect.items():
            if nodeid.startswith(prefix) and lane is not None:
                assert found == [lane], nodeid
        if nodeid.startswith("tests/test_store_contract.py::") and "[" in nodeid:
            param = nodeid.rsplit("[", 1)[1].rstrip("]")
            if param == "memory":
                assert found == ["unit"], nodeid
            elif param in ("chroma", "chroma_server"):
                assert found == ["integration"], nodeid
