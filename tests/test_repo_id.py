"""rflr.files.repo_id: the one USER/NAME rule, and rflr.files.paths matching repos by it."""

import pytest

from rflr.files import paths
from rflr.files.repo_id import check_repo_id


def test_check_repo_id_is_the_one_rule_for_user_name():
    assert check_repo_id(" user/name ") == "user/name"
    for bad in ("name", "../x/y", "a/b/c", "user/..", "-u/name", ""):
        with pytest.raises(ValueError, match="USER/NAME"):
            check_repo_id(bad)
    assert paths.hub_repo("user/name/sub") == ("user/name", "sub")  # the same rule, with a path
