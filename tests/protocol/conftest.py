"""Fixtures of the protocol tests: the schema, its validator, the sample bars."""

import json
from typing import Any

import pandas as pd
import pytest

from algotui.feed import load_source
from tests.protocol.checks import SCHEMA_PATH, EventValidator


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> EventValidator:
    return EventValidator(schema)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return load_source("sample")
