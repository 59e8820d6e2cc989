"""rflr.hub.sync without any network: a hand-built Hub cache for pulls, a mocked HfApi for uploads."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import requests
from huggingface_hub import ModelCard, constants
from huggingface_hub.errors import (
    HTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from safetensors import safe_open

from rflr.hub import cards, plan, sync
from tests import hostile
from tests.conftest import free_port
from tests.hub_folders import checkpoint_folder, write_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SENTINEL = "hf_SENTINELtokenNEVERtoBEprinted0123456789"

pytestmark = pytest.mark.usefixtures("isolated_hub")  # no token, online, files under tmp_path


@pytest.fixture
def offline(monkeypatch):
    # Both: huggingface_hub read the variable at import, before the test set it.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def fill_cache(cache: Path, repo_id: str) -> Path:
    """A repo in huggingface_hub's cache layout: refs/main -> snapshots/<commit> -> blobs/."""
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(COMMIT)
    scratch = cache.parent / "scratch.safetensors"
    write_checkpoint(scratch, seed=3, step=100)
    files = {
        "run-a/step-00000100.safetensors": scratch.read_bytes(),
        "summary.csv": b"run_id,seed,test_mse\nrun-a,3,1.5e-05\n",
    }
    snapshot = repo_dir / "snapshots" / COMMIT
    for name, data in files.items():
        blob = repo_dir / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return snapshot


def project_root(root: Path) -> Path:
    """A project like rflr's: the app, its requirements, the package, shipped checkpoints."""
    project = root / "project"
    (project / "rflr" / "sub").mkdir(parents=True)
    (project / "streamlit_app.py").write_text('import streamlit as st\nst.write("ok")\n')
    (project / "requirements.txt").write_text("streamlit\nhuggingface_hub\n")
    (project / "rflr" / "__init__.py").write_text("")
    (project / "rflr" / "sub" / "mod.py").write_text("X = 1\n")
    (project / "rflr" / "__pycache__").mkdir()
    (project / "rflr" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (project / ".streamlit").mkdir()
    (project / ".streamlit" / "config.toml").write_text("[theme]\nbase = 'light'\n")
    write_checkpoint(project / "checkpoints" / "demo" / "step-00000000.safetensors")
    (project / "tests").mkdir()
    (project / "tests" / "test_x.py").write_text("")
    (project / "README.md").write_text("the project's own readme")
    return project


SPACE_FILES = {
    ".streamlit/config.toml",
    "Dockerfile",
    "README.md",
    "checkpoints/demo/step-00000000.safetensors",
    "requirements.txt",
    "rflr/__init__.py",
    "rflr/sub/mod.py",
    "streamlit_app.py",
}


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("rflr.hub: error: ")
    return lines[0]


# --- pull -------------------------------------------------------------------------------------


def test_pull_reads_a_prefilled_cache_offline(tmp_path, offline):
    snapshot = fill_cache(tmp_path / "cache", "alice/sweep")

    folder = sync.pull("alice/sweep", cache_dir=tmp_path / "cache")

    assert folder == snapshot
    assert (folder / "summary.csv").read_text().startswith("run_id")
    with safe_open(folder / "run-a" / "step-00000100.safetensors", "pt") as f:
        assert f.metadata()["rflr.step"] == "100"


def test_pull_offline_from_env_alone_needs_no_network(tmp_path, monkeypatch):
    # Set after import: huggingface_hub's constant still says online, our check does not.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    snapshot = fill_cache(tmp_path / "cache", "alice/sweep")
    with mock.patch("huggingface_hub.HfApi.repo_info", side_effect=AssertionError("network")):
        assert sync.pull("alice/sweep", cache_dir=tmp_path / "cache") == snapshot


def test_cli_pull_prints_the_folder_last(tmp_path, offline, capsys):
    snapshot = fill_cache(tmp_path / "cache", "alice/sweep")

    assert sync.main(["pull", "alice/sweep", "--cache-dir", str(tmp_path / "cache")]) == 0

    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == str(snapshot)
    assert "1 checkpoint files" in out[0]


def test_cli_pull_subprocess_reads_env_at_import(tmp_path):
    snapshot = fill_cache(tmp_path / "cache", "alice/sweep")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_HUB_CACHE": str(tmp_path / "cache"),
    }
    env.pop("HF_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "rflr.hub", "pull", "alice/sweep"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder == snapshot
    assert (folder / "run-a" / "step-00000100.safetensors").is_file()


def test_pull_of_an_uncached_repo_offline_fails_in_one_line(tmp_path, offline, capsys):
    fill_cache(tmp_path / "cache", "alice/sweep")

    code = sync.main(["pull", "alice/other", "--cache-dir", str(tmp_path / "cache")])

    assert code == 1
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert "alice/other" in line and "offline mode" in line
    assert "Traceback" not in captured.err


def test_pull_of_an_uncached_revision_offline_fails(tmp_path, offline, capsys):
    fill_cache(tmp_path / "cache", "alice/sweep")
    argv = ["pull", "alice/sweep", "--revision", "v2", "--cache-dir", str(tmp_path / "cache")]

    assert sync.main(argv) == 1
    assert "revision 'v2'" in one_error_line(capsys.readouterr().err)


def test_pull_dry_run_lists_the_cached_files_and_downloads_nothing(tmp_path, offline, capsys):
    fill_cache(tmp_path / "cache", "alice/sweep")
    cache = str(tmp_path / "cache")

    with mock.patch.object(sync, "pull", side_effect=AssertionError("pulled")):
        assert sync.main(["pull", "alice/sweep", "--cache-dir", cache, "--dry-run"]) == 0
        assert sync.main(["pull", "alice/other", "--cache-dir", cache, "--dry-run"]) == 0

    out = capsys.readouterr().out
    assert "model repo alice/sweep at revision main" in out
    assert "run-a/step-00000100.safetensors" in out
    assert "cached: 2 files" in out
    assert "cached: no" in out


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RepositoryNotFoundError("404", response=mock.Mock(status_code=404)), "not found"),
        (RevisionNotFoundError("404", response=mock.Mock(status_code=404)), "revision"),
        (OfflineModeIsEnabled("offline"), "offline mode is on"),
        (HTTPError("connection refused"), "cannot reach the Hub"),
        (requests.ConnectionError("connection reset"), "ConnectionError"),
        (PermissionError("cache is read-only"), "PermissionError"),
    ],
)
def test_pull_maps_hub_and_network_errors_to_one_line(monkeypatch, capsys, error, expected):
    monkeypatch.setattr(sync, "snapshot_download", mock.Mock(side_effect=error))

    assert sync.main(["pull", "alice/sweep"]) == 1
    assert expected in one_error_line(capsys.readouterr().err)


def test_pull_against_an_unreachable_hub_fails_in_one_line(monkeypatch, capsys):
    # A closed loopback port stands for "no network": real HTTP client, nothing leaves the host.
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{free_port()}")

    assert sync.main(["pull", "alice/sweep"]) == 1
    assert "Hub cannot be reached" in one_error_line(capsys.readouterr().err)


def test_hub_status(offline, monkeypatch):
    usable, reason = sync.hub_status()
    assert not usable and "offline" in reason

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert sync.hub_status() == (
        True,
        f"Hub at {constants.ENDPOINT}, not logged in (public repos only)",
    )


def attacker_cache(tmp_path: Path) -> tuple[Path, Path, str]:
    """Issue 22, case 1: a cached repo whose snapshot holds a file naming a folder of the
    server. As a revision, `../snapshots/<C>/evil.md` makes huggingface_hub read that file as a
    ref. Returns (cache, that folder, the revision)."""
    cache = tmp_path / "cache"
    snapshot = fill_cache(cache, "attacker/repo")
    server = tmp_path / "some" / "server" / "folder"
    write_checkpoint(server / "run-z" / "step-00000100.safetensors")
    (server / "summary.csv").write_text("run_id,seed\nrun-z,0\n")
    (snapshot / "evil.md").write_text("../" * 40 + server.as_posix().lstrip("/"))
    return cache, server, f"../snapshots/{COMMIT}/evil.md"


HOSTILE_REVISIONS = [
    "../snapshots/{commit}/evil.md",  # the recipe
    "/etc",  # a leading /
    "main/../../x",
    "a\\..\\b",  # \ (a separator on Windows)
    "main\n",  # control characters
    "ma\x00in",
    "\u202emain",  # an invisible bidi override
    ".hidden",  # a hidden part
    "refs/.x",
    "main/",
    "c:/x",  # a drive on Windows
    "",
    "m" * 300,
]


@pytest.mark.parametrize("revision", HOSTILE_REVISIONS)
def test_pull_refuses_a_revision_that_is_not_a_ref_before_asking_huggingface_hub(
    tmp_path, offline, monkeypatch, revision
):
    cache, _, _ = attacker_cache(tmp_path)
    revision = revision.format(commit=COMMIT)
    asked = mock.Mock(side_effect=AssertionError("huggingface_hub was asked"))
    monkeypatch.setattr(sync, "snapshot_download", asked)

    with pytest.raises(plan.HubError, match="is not a branch, tag or commit"):
        sync.pull("attacker/repo", revision=revision, cache_dir=cache)
    assert sync.main(["pull", "attacker/repo", f"--revision={revision}"]) == 2
    assert sync.main(["pull", "attacker/repo", f"--revision={revision}", "--dry-run"]) == 2
    assert asked.call_count == 0


def test_the_recipe_revision_is_refused_by_every_caller(tmp_path, offline, monkeypatch, capsys):
    from rflr import notebook
    from rflr.files import paths
    from rflr.hub import locate
    from rflr.views import sources

    cache, server, revision = attacker_cache(tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))

    with pytest.raises(sources.SourceError, match="not a branch, tag or commit"):
        sources.pull("attacker/repo", revision)  # the app's ?src=hub&repo=...&rev=...
    with pytest.raises(paths.PathError, match="not a branch, tag or commit"):
        locate.local("attacker/repo", revision)  # rflr.open and the notebook API
    with pytest.raises(paths.PathError, match="not a branch, tag or commit"):
        notebook.runs("hf://attacker/repo", revision)
    assert sync.main(["pull", "attacker/repo", "--revision", revision]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "not a branch, tag or commit" in line and str(server) not in line
    assert (
        sources.pull("attacker/repo", "main")
        == cache / "models--attacker--repo" / "snapshots" / COMMIT
    )


def test_the_recipe_url_opens_nothing_in_the_served_app(tmp_path, offline, monkeypatch):
    # The recipe as a visitor of the Space would send it: served, offline, a link.
    from streamlit.testing.v1 import AppTest

    from tests.conftest import APP, texts

    cache, server, revision = attacker_cache(tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    (tmp_path / "shipped").mkdir()
    monkeypatch.setenv("RFLR_CHECKPOINTS", str(tmp_path / "shipped"))
    monkeypatch.setenv("RFLR_SERVE", "1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(src="hub", repo="attacker/repo", rev=revision)

    at.run()
    assert not at.exception
    assert "is not a branch, tag or commit" in texts(at)
    shown = texts(at) + repr([w.options for w in at.selectbox])
    assert "run-z" not in shown and str(server) not in shown


def test_the_recipe_revision_is_refused_online_too(tmp_path, monkeypatch):
    # Online, huggingface_hub falls back to the cache after most HTTP errors: a closed port.
    cache, _, revision = attacker_cache(tmp_path)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{free_port()}")

    with pytest.raises(plan.HubError, match="not a branch, tag or commit"):
        sync.pull("attacker/repo", revision=revision, cache_dir=cache)


def test_pull_refuses_a_cached_folder_outside_the_repos_snapshots(tmp_path, offline, capsys):
    # A ref file of the cache that names a folder elsewhere (planted, or written by a bug):
    # the revision is fine, the folder huggingface_hub returns is not.
    cache, server, _ = attacker_cache(tmp_path)
    refs = cache / "models--attacker--repo" / "refs"
    (refs / "main").write_text("../" * 40 + server.as_posix().lstrip("/"))

    with pytest.raises(plan.HubError, match="not a snapshot inside the cache"):
        sync.pull("attacker/repo", cache_dir=cache)
    for extra in ([], ["--dry-run"]):
        assert sync.main(["pull", "attacker/repo", "--cache-dir", str(cache), *extra]) == 1
        assert "not a snapshot inside the cache" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("revision", ["main", "v2.0", "refs/pr/1", "feature/x-y_z", COMMIT])
def test_pull_takes_branches_tags_and_commits(tmp_path, offline, revision):
    cache = tmp_path / "cache"
    snapshot = fill_cache(cache, "alice/sweep")
    ref = cache / "models--alice--sweep" / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(COMMIT)

    assert sync.pull("alice/sweep", revision=revision, cache_dir=cache) == snapshot


# --- push -------------------------------------------------------------------------------------


def test_push_creates_the_model_repo_and_uploads_checkpoints_then_card(tmp_path, api, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    folder = checkpoint_folder(tmp_path)

    assert sync.main(["push", str(folder), "--repo", "alice/sweep"]) == 0

    sync.HfApi.assert_called_once_with()  # HfApi finds the token itself
    assert [c[0] for c in api.mock_calls] == ["create_repo", "create_commit"]
    api.create_repo.assert_called_once_with(
        "alice/sweep", repo_type="model", private=False, exist_ok=True
    )
    # exactly the plan's files, card included, in one commit (never upload_folder's own pick)
    api.create_commit.assert_called_once_with(
        "alice/sweep", operations=mock.ANY, commit_message=mock.ANY, repo_type="model"
    )
    operations = {
        op.path_in_repo: op.path_or_fileobj
        for op in api.create_commit.call_args.kwargs["operations"]
    }
    pushed = plan.plan_push(folder, "alice/sweep")
    assert sorted(operations) == [u.path_in_repo for u in pushed.uploads]
    card = operations["README.md"].decode()
    assert ModelCard(card).data.library_name == "rflr"
    for fact in ("format version 1", "rflr.format_version", "rflr.config", "rflr.step"):
        assert fact in card
    for fact in ("rflr.metrics", "rflr.history", "python -m rflr.hub pull alice/sweep"):
        assert fact in card
    assert "RFLR_CHECKPOINTS=" in card and "streamlit run streamlit_app.py" in card
    assert "| `run-a/step-00000100.safetensors` | 1 | rflr | 3 | 100 | 1.5e-05 |" in card
    assert "| `run-b/step-00000100.safetensors` | 1 | dense | 4 | 100 | 1.5e-05 |" in card
    assert "`figures/loss.png`" in card and "`summary.csv`" in card
    assert "notes.txt" not in card and "stale" not in card and str(tmp_path) not in card


def test_push_dry_run_prints_files_with_sizes_and_calls_nothing(tmp_path, api, capsys):
    folder = checkpoint_folder(tmp_path)

    assert sync.main(["push", str(folder), "--repo", "alice/sweep", "--dry-run"]) == 0

    assert sync.HfApi.call_count == 0 and api.mock_calls == []
    out = capsys.readouterr().out
    pushed = plan.plan_push(folder, "alice/sweep")
    assert "model repo alice/sweep (public; created if missing)" in out
    for upload in pushed.uploads:
        assert f"{upload.size:>12}  {upload.path_in_repo}" in out
    total = sum(u.size for u in pushed.uploads)
    assert f"total: 6 files, {total} bytes" in out
    assert "token: missing" in out and "nothing was created or uploaded" in out


def test_push_of_a_folder_without_checkpoints_fails(tmp_path, api, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    (tmp_path / "empty").mkdir()

    assert sync.main(["push", str(tmp_path / "empty"), "--repo", "alice/sweep"]) == 1
    assert "nothing to push" in one_error_line(capsys.readouterr().err)
    assert api.mock_calls == []


def test_push_offline_fails_before_any_call(tmp_path, api, offline, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SENTINEL)

    assert sync.main(["push", str(checkpoint_folder(tmp_path)), "--repo", "alice/sweep"]) == 1
    assert "offline mode is on" in one_error_line(capsys.readouterr().err)
    assert sync.HfApi.call_count == 0


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RepositoryNotFoundError("404", response=mock.Mock(status_code=404)), "not found"),
        (HTTPError("connection refused"), "cannot reach the Hub"),
    ],
)
def test_push_maps_upload_errors(tmp_path, api, capsys, monkeypatch, error, expected):
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    api.create_commit.side_effect = error

    assert sync.main(["push", str(checkpoint_folder(tmp_path)), "--repo", "alice/sweep"]) == 1
    assert expected in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("status", "expected"), [(401, "rejected the token"), (403, "no write access")]
)
def test_push_explains_auth_failures(tmp_path, api, capsys, monkeypatch, status, expected):
    from huggingface_hub.errors import HfHubHTTPError

    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    api.create_repo.side_effect = HfHubHTTPError("denied", response=mock.Mock(status_code=status))

    assert sync.main(["push", str(checkpoint_folder(tmp_path)), "--repo", "alice/sweep"]) == 1
    assert expected in one_error_line(capsys.readouterr().err)


def test_push_of_a_folder_of_bad_checkpoints_only_is_refused(tmp_path, api, capsys):
    hostile.write_header_case(tmp_path / "bad", "history-hello")
    assert sync.main(["push", str(tmp_path / "bad"), "--repo", "alice/sweep", "--dry-run"]) == 1
    assert "nothing to push" in one_error_line(capsys.readouterr().err)


def test_pull_into_a_cache_dir_that_is_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for extra in ([], ["--dry-run"]):
        assert (
            sync.main(["pull", "alice/sweep", "--cache-dir", str(tmp_path / "file"), *extra]) == 1
        )
        assert "is a file, not a folder" in one_error_line(capsys.readouterr().err)


# --- deploy-space -----------------------------------------------------------------------------


def test_deploy_space_creates_a_docker_space_in_one_commit(tmp_path, api, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    project = project_root(tmp_path)

    argv = ["deploy-space", "--space", "alice/explorer", "--root", str(project), "--private"]
    assert sync.main(argv) == 0

    sync.HfApi.assert_called_once_with()
    assert [c[0] for c in api.mock_calls] == ["create_repo", "create_commit"]
    api.create_repo.assert_called_once_with(
        "alice/explorer", repo_type="space", space_sdk="docker", private=True, exist_ok=True
    )
    api.create_commit.assert_called_once_with(
        "alice/explorer", operations=mock.ANY, commit_message=mock.ANY, repo_type="space"
    )
    operations = {
        op.path_in_repo: op.path_or_fileobj
        for op in api.create_commit.call_args.kwargs["operations"]
    }
    assert set(operations) == SPACE_FILES
    assert operations["streamlit_app.py"] == str(project / "streamlit_app.py")
    assert operations["rflr/sub/mod.py"] == str(project / "rflr" / "sub" / "mod.py")
    assert operations["Dockerfile"] == cards.DOCKERFILE.encode()
    assert operations["README.md"] == cards.space_readme().encode()


def test_deploy_space_dry_run_prints_files_with_sizes_and_calls_nothing(tmp_path, api, capsys):
    project = project_root(tmp_path)

    argv = ["deploy-space", "--space", "alice/explorer", "--root", str(project), "--dry-run"]
    assert sync.main(argv) == 0

    assert sync.HfApi.call_count == 0 and api.mock_calls == []
    out = capsys.readouterr().out
    assert "space repo alice/explorer (public, sdk docker; created if missing)" in out
    size = (project / "requirements.txt").stat().st_size
    assert f"{size:>12}  requirements.txt\n" in out
    assert f"{len(cards.DOCKERFILE.encode()):>12}  Dockerfile  (generated)" in out
    listed = {line.split()[1] for line in out.splitlines() if line[:12].strip().isdigit()}
    assert listed == SPACE_FILES
    assert f"total: {len(SPACE_FILES)} files" in out


def test_deploy_space_without_the_app_fails(tmp_path, api, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    project = project_root(tmp_path)
    (project / "streamlit_app.py").unlink()

    assert sync.main(["deploy-space", "--space", "alice/explorer", "--root", str(project)]) == 1
    assert "streamlit_app.py is missing" in one_error_line(capsys.readouterr().err)
    assert api.mock_calls == []


# --- tokens and usage -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["push", "{folder}", "--repo", "alice/sweep"],
        ["deploy-space", "--space", "alice/explorer", "--root", "{project}"],
    ],
)
def test_no_token_is_a_clear_error_before_any_call(tmp_path, api, capsys, argv):
    paths = {"folder": checkpoint_folder(tmp_path), "project": project_root(tmp_path)}
    argv = [arg.format(**paths) for arg in argv]

    assert sync.main(argv) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line == "rflr.hub: error: no Hugging Face token: run `hf auth login` or set HF_TOKEN"
    assert sync.HfApi.call_count == 0


def test_the_token_is_never_printed_passed_or_written(tmp_path, api, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    folder = checkpoint_folder(tmp_path)
    project = project_root(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}

    runs = [
        ["push", str(folder), "--repo", "alice/sweep", "--dry-run"],
        ["push", str(folder), "--repo", "alice/sweep"],
        ["deploy-space", "--space", "alice/explorer", "--root", str(project), "--dry-run"],
        ["deploy-space", "--space", "alice/explorer", "--root", str(project)],
    ]
    for argv in runs:
        assert sync.main(argv) == 0

    captured = capsys.readouterr()
    assert "token: found" in captured.out
    assert SENTINEL not in captured.out + captured.err
    assert SENTINEL not in repr(sync.HfApi.mock_calls) + repr(api.mock_calls)
    generated = [
        op.path_or_fileobj
        for call in api.create_commit.call_args_list
        for op in call.kwargs["operations"]
        if isinstance(op.path_or_fileobj, bytes)
    ]
    assert len(generated) == 3  # model card, Space README, Dockerfile
    assert all(SENTINEL.encode() not in data for data in generated)
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing written next to the user's files either


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "required: COMMAND"),
        (["push", "{tmp}", "--repo", "not a repo"], "argument --repo"),
        (["push", "{tmp}/missing", "--repo", "alice/sweep"], "is not a folder"),
        (["pull", "sweep"], "USER/NAME"),
        (["deploy-space"], "--space"),
    ],
)
def test_usage_errors_exit_2_in_one_line(tmp_path, api, capsys, argv, expected):
    argv = [arg.format(tmp=tmp_path) for arg in argv]

    assert sync.main(argv) == 2
    assert expected in one_error_line(capsys.readouterr().err)
    assert api.mock_calls == []
