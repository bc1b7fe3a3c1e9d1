"""Molecule scenarios run last: after the unit and integration tests, which are faster and
say more precisely what broke. They are marked ``molecule`` (``-m "not molecule"`` leaves
them out)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "molecule: runs a Molecule scenario on Docker containers (root, minutes)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    molecule = [item for item in items if item.get_closest_marker("molecule")]
    if molecule:
        others = [item for item in items if not item.get_closest_marker("molecule")]
        items[:] = others + molecule
