"""Shared fixtures of the training tests."""

from __future__ import annotations

import pytest

from bertviz_lite.train.tasks import base_dir


@pytest.fixture(scope="session")
def base():
    """The MiniLM checkpoint every task adapter is trained on."""
    return base_dir()
