"""rflr.files.paths: the default checkpoints folder from any directory; rflr.hub.locate: Hub
sources made local."""

from __future__ import annotations

from pathlib import Path

import pytest

from rflr.files import paths
from rflr.hub import locate

ROOT = Path(__file__).resolve().parents[1]


def fake_checkout(folder: Path) -> Path:
    (folder / "rflr").mkdir(parents=True)
    (folder / "rflr" / "__init__.py").write_text("")
    (folder / "streamlit_app.py").write_text("")
    (folder / "checkpoints").mkdir()
    return folder


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No RFLR_CHECKPOINTS, the current directory outside any checkout, and the package
    installed outside one (as from a wheel)."""
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path / "site-packages")
    return tmp_path


def test_the_checkout_running_the_tests_is_one():
    assert paths.is_checkout(ROOT)
    assert not paths.is_checkout(ROOT / "rflr")


def test_env_var_wins(nowhere, monkeypatch):
    monkeypatch.setenv(paths.ENV_VAR, str(nowhere))
    assert paths.checkpoints_folder() == nowhere.resolve()


def test_env_var_naming_no_folder_is_an_error(nowhere, monkeypatch):
    monkeypatch.setenv(paths.ENV_VAR, str(nowhere / "missing"))
    with pytest.raises(paths.PathError, match="is not an existing folder"):
        paths.checkpoints_folder()


def test_found_from_inside_a_checkout_and_below_it(nowhere, monkeypatch):
    repo = fake_checkout(nowhere / "repo")
    (repo / "docs").mkdir()
    for cwd in (repo, repo / "docs"):
        monkeypatch.chdir(cwd)
        assert paths.checkpoints_folder() == (repo / "checkpoints").resolve()


def test_a_folder_named_checkpoints_outside_a_checkout_is_not_taken(nowhere):
    (nowhere / "checkpoints").mkdir()
    with pytest.raises(paths.PathError) as err:
        paths.checkpoints_folder()
    assert "rflr hub pull" in str(err.value) and "RFLR_CHECKPOINTS" in str(err.value)


def test_the_source_checkout_is_the_last_resort(nowhere, monkeypatch):
    monkeypatch.setattr(paths, "PROJECT_ROOT", fake_checkout(nowhere / "src"))
    assert paths.checkpoints_folder() == nowhere / "src" / "checkpoints"


@pytest.mark.parametrize(
    "text, repo",
    [
        ("user/name", ("user/name", "")),
        ("hf://user/name", ("user/name", "")),
        (
            "user/name/run-a/step-00000010.safetensors",
            ("user/name", "run-a/step-00000010.safetensors"),
        ),
        ("user/name/", ("user/name", "")),
        ("user", None),
        ("/abs/path", None),
        ("user/name/../../etc", None),
        ("../name", None),
    ],
)
def test_hub_repo(text, repo):
    assert paths.hub_repo(text) == repo


def test_local_prefers_an_existing_path(tmp_path, monkeypatch):
    (tmp_path / "user" / "name").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(locate, "pull", lambda *a: pytest.fail("the Hub was asked"))
    assert locate.local("user/name") == (tmp_path / "user" / "name").resolve()


def test_local_pulls_a_repo_and_finds_a_path_inside(tmp_path, monkeypatch):
    snapshot = tmp_path / "snapshot"
    (snapshot / "run-a").mkdir(parents=True)
    asked = []
    monkeypatch.setattr(
        locate, "pull", lambda repo, rev=None: asked.append((repo, rev)) or snapshot
    )
    monkeypatch.chdir(tmp_path)
    assert locate.local("hf://user/name/run-a", revision="v1") == snapshot / "run-a"
    assert asked == [("user/name", "v1")]
    with pytest.raises(paths.PathError, match="run-b is not in the repo user/name"):
        locate.local("user/name/run-b")


def test_local_errors_are_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def offline(repo, rev=None):
        raise paths.PathError(f"{repo} is not in the local Hugging Face cache")

    monkeypatch.setattr(locate, "pull", offline)
    for text, message in [
        ("", "no path given"),
        ("missing-file.safetensors", "no such file or folder"),
        ("user/name", "nor on the Hub: user/name is not in the local Hugging Face cache"),
    ]:
        with pytest.raises(paths.PathError, match=message) as err:
            locate.local(text)
        assert "\n" not in str(err.value)


def test_pull_without_huggingface_hub_names_the_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_hub(name, *args, **kwargs):
        if name == "rflr.hub" and args[2] and "sync" in args[2]:
            raise ModuleNotFoundError("No module named 'huggingface_hub'", name="huggingface_hub")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_hub)
    with pytest.raises(paths.PathError, match=r"pip install 'rflr\[hub\]'"):
        locate.pull("user/name")
