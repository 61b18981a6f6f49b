"""Site profiles: the bundled ones load; a bad one fails naming the file, the field and the problem."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crawler.profile import PROFILE_DIR, ProfileError, load_profile, load_profiles


def test_bundled_profiles_load():
    profiles = {p.name: p for p in load_profiles()}
    assert {"marketplace", "appstore", "forum", "codehost", "social"} <= set(profiles)
    assert {p.kind for p in profiles.values()} == {"ecommerce", "appstore", "forum", "code", "social"}
    assert profiles["forum"].encoding == "gbk"
    assert profiles["marketplace"].listing["browser"]["when"].startswith("css:")
    assert "呼死你" in profiles["marketplace"].keywords()


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load((PROFILE_DIR / "marketplace.yaml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _drop_title(d):
    del d["listing"]["fields"]["title"]


def _set(path, value):
    def mutate(d):
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


@pytest.mark.parametrize("mutate, field, problem", [
    (_drop_title, "listing.fields", "'title' is a required property"),
    (_set(["kind"], "shop"), "kind", "'shop' is not one of"),
    (_set(["listing", "fields", "price"], "css:div[[["), "listing.fields.price", "not a valid css selector"),
    (_set(["list", "links"], "xpath://a[@href"), "list.links", "not a valid xpath selector"),
    (_set(["list", "links"], "a.item-link"), "list.links", "does not match '^(css|xpath|jmes|header):"),
    (_set(["list", "next"], "header:Link[rel=next"), "list.next", "not a valid header selector"),
    (_set(["listing", "url"], r"/item/(\d+)"), "listing.url", "named group (?P<id>...)"),
    (_set(["listing", "url"], r"/item/(?P<id>\d+"), "listing.url", "not a valid regular expression"),
    (_set(["allowed_hosts"], ["shop.example"]), "allowed_hosts", "must include the base_url host"),
    (_set(["encoding"], "gbk-ish"), "encoding", "unknown encoding"),
    (_set(["seeds", "search"], ["/search?q=呼死你"]), "seeds.search.0", "does not match"),
    (_set(["politeness", "concurrency"], 0), "politeness.concurrency", "less than the minimum"),
    (_set(["surprise"], 1), "(top level)", "Additional properties are not allowed"),
])
def test_bad_profile_names_file_field_and_problem(tmp_path, mutate, field, problem):
    path = _write(tmp_path, mutate)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    message = str(err.value)
    assert str(path) in message
    assert f"field '{field}'" in message
    assert problem in message


def test_unreadable_and_non_yaml_profiles(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(ProfileError, match="bad.yaml: not valid YAML"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.yaml")
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string", encoding="utf-8")
    with pytest.raises(ProfileError, match="must be a mapping"):
        load_profile(scalar)


def test_duplicate_names_and_unknown_selection(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text((PROFILE_DIR / "forum.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ProfileError, match="b.yaml: field 'name': 'forum' is used by another profile"):
        load_profiles(tmp_path)
    with pytest.raises(ProfileError, match="no profile named nope"):
        load_profiles(PROFILE_DIR, ["nope"])


def test_a_new_platform_is_just_a_profile_file(tmp_path):
    text = (PROFILE_DIR / "marketplace.yaml").read_text(encoding="utf-8")
    (tmp_path / "second_market.yaml").write_text(text.replace("name: marketplace", "name: second_market"),
                                                 encoding="utf-8")
    (profile,) = load_profiles(tmp_path)
    assert profile.name == "second_market" and profile.kind == "ecommerce"
    moved = profile.rebase("http://127.0.0.1:9999")
    assert moved.url("/search?q=x") == "http://127.0.0.1:9999/search?q=x"
