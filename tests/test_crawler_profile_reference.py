"""docs/profiles.md is generated from the profile schema: every key documented, with an example
that is valid YAML, and the page current."""
from __future__ import annotations

from pathlib import Path

import yaml

from crawler.profile_reference import KEY_DOCS, render, schema_keys

DOC = Path(__file__).resolve().parent.parent / "docs" / "profiles.md"


def test_every_schema_key_is_documented_and_nothing_else():
    keys = [key for key, _, _ in schema_keys()]
    assert set(keys) == set(KEY_DOCS), set(keys) ^ set(KEY_DOCS)


def test_every_example_is_yaml_for_its_key():
    for key, (_, example) in KEY_DOCS.items():
        value = yaml.safe_load(f"x: {example}")["x"]
        assert value is not None, key


def test_the_reference_page_is_current():
    assert DOC.read_text(encoding="utf-8") == render(), "run: python -m crawler.profile_reference > docs/profiles.md"
