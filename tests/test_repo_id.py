"""rflr.files.repo_id: the one USER/NAME rule, and rflr.files.paths matching repos by it."""

import pytest

from rflr.files import paths
from rflr.files.repo_id import check_repo_id, check_revision


def test_check_repo_id_is_the_one_rule_for_user_name():
    assert check_repo_id(" user/name ") == "user/name"
    for bad in ("name", "../x/y", "a/b/c", "user/..", "-u/name", ""):
        with pytest.raises(ValueError, match="USER/NAME"):
            check_repo_id(bad)
    assert paths.hub_repo("user/name/sub") == ("user/name", "sub")  # the same rule, with a path


def test_check_revision_takes_refs_and_commits_only():
    for good in ("main", "v1.2", "refs/pr/7", "feature/a-b_c", "0123456789abcdef" * 2 + "01234567"):
        assert check_revision(good) == good
    bad = [
        "../snapshots/c/evil.md",
        "/abs",
        "a/../b",
        "a\\b",
        "a\nb",
        "a\x00b",
        "a\x7fb",
        "\u202eb",
        ".x",
        "a/.x",
        "a/",
        "a//b",
        "a.",
        "a.lock",
        "a b",
        "c:x",
        "a~1",
        "a^",
        "a?",
        "a*",
        "a[",
        "a@{1}",
        "@",
        "",
        "x" * 256,
    ]
    for text in bad:
        with pytest.raises(ValueError, match="is not a branch, tag or commit") as err:
            check_revision(text)
        assert "\n" not in str(err.value)
