"""Share rflr checkpoints on the Hugging Face Hub and deploy the explorer as a Space.

    python -m rflr.hub push FOLDER --repo USER/NAME [--private] [--dry-run]
    python -m rflr.hub pull USER/NAME [--revision R] [--cache-dir DIR] [--dry-run]
    python -m rflr.hub deploy-space --space USER/NAME [--root DIR] [--private] [--dry-run]

push and deploy-space first build a Plan: the repo to create and every file with its size.
--dry-run prints that Plan and stops; a real run prints the same Plan and executes it, so what
a dry run shows is what gets uploaded.

Tokens never pass through this module: HfApi finds the one from `hf auth login` or HF_TOKEN by
itself. We only ask get_token() whether there is one, to fail early with a clear message.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    constants,
    get_token,
    snapshot_download,
)
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    HTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.file_download import repo_folder_name
from huggingface_hub.utils import validate_repo_id

from rflr.files.repo_id import check_repo_id, check_revision
from rflr.hub.plan import (
    PROJECT_ROOT,
    HubError,
    Plan,
    format_plan,
    plan_push,
    plan_space,
)

NO_TOKEN = "no Hugging Face token: run `hf auth login` or set HF_TOKEN"
ERROR_PREFIX = "rflr.hub: error: "
PULL_PATTERNS = ["*.safetensors", "*.csv", "*.md", "*.png"]


# --- Hub state --------------------------------------------------------------------------------


def _offline() -> bool:
    # huggingface_hub reads HF_HUB_OFFLINE once, at import; the variable is checked again so
    # that setting it later in the same process (the app, a test) still means offline.
    from_env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    return constants.HF_HUB_OFFLINE or from_env in constants.ENV_VARS_TRUE_VALUES


def hub_status() -> tuple[bool, str]:
    """Return (usable, reason): whether the app can offer the Hub as a checkpoint source.

    No request is made: the network is only tried by an actual pull.
    """
    if _offline():
        return False, (
            "offline mode (HF_HUB_OFFLINE is set): only repos already in the local "
            "Hugging Face cache can be opened"
        )
    who = "logged in" if get_token() is not None else "not logged in (public repos only)"
    return True, f"Hub at {constants.ENDPOINT}, {who}"


def _require_hub() -> None:
    if _offline():
        raise HubError("offline mode is on (HF_HUB_OFFLINE): unset it to reach the Hub")
    if get_token() is None:
        raise HubError(NO_TOKEN)


# --- Errors -----------------------------------------------------------------------------------


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


@contextmanager
def _hub_errors(repo_id: str, revision: str | None = None) -> Iterator[None]:
    """Turn huggingface_hub and network failures into a HubError with one line of advice."""
    where = repo_id if revision is None else f"{repo_id} at revision {revision!r}"
    try:
        yield
    except GatedRepoError as err:  # before RepositoryNotFoundError, its base class
        raise HubError(f"{repo_id} is gated: accept its terms on the Hub first") from err
    except RepositoryNotFoundError as err:
        raise HubError(
            f"repository {repo_id} not found on the Hub "
            "(or it is private and your token cannot see it)"
        ) from err
    except RevisionNotFoundError as err:
        raise HubError(f"revision {revision!r} not found in {repo_id}") from err
    except LocalEntryNotFoundError as err:  # snapshot_download found no usable cached copy
        reason = (
            "offline mode is on (HF_HUB_OFFLINE)"
            if _offline()
            else "the Hub cannot be reached (check the network)"
        )
        raise HubError(f"{where} is not in the local Hugging Face cache and {reason}") from err
    except OfflineModeIsEnabled as err:
        raise HubError("offline mode is on (HF_HUB_OFFLINE): unset it to reach the Hub") from err
    except HfHubHTTPError as err:
        status = err.response.status_code
        if status == 401:
            message = "the Hub rejected the token (HTTP 401): run `hf auth login` again"
        elif status == 403:
            message = f"no write access to {repo_id} (HTTP 403): check the token's permissions"
        else:
            message = f"the Hub answered HTTP {status} for {repo_id}: {_first_line(err)}"
        raise HubError(message) from err
    except HTTPError as err:  # transport failures of huggingface_hub's HTTP client
        raise HubError(
            f"cannot reach the Hub ({type(err).__name__}: {_first_line(err)}); "
            "check the network, or set HF_HUB_OFFLINE=1 to use the local cache"
        ) from err
    except HFValidationError as err:
        raise HubError(_first_line(err)) from err
    except OSError as err:  # disk errors, and connection errors of other HTTP stacks
        raise HubError(f"{type(err).__name__}: {_first_line(err)}") from err


# --- Execute ---------------------------------------------------------------------------------


def _url(plan: Plan) -> str:
    kind = "spaces/" if plan.repo_type == "space" else ""
    return f"{constants.ENDPOINT}/{kind}{plan.repo_id}"


def execute(plan: Plan) -> str:
    """Create the repo if needed and upload the plan's files; return the repo's URL."""
    _require_hub()
    api = HfApi()  # finds the token itself
    with _hub_errors(plan.repo_id):
        if plan.repo_type == "space":
            api.create_repo(
                plan.repo_id,
                repo_type="space",
                space_sdk=plan.space_sdk,
                private=plan.private,
                exist_ok=True,
            )
            # One commit for the whole app: every commit to a Space triggers a rebuild.
            operations = [
                CommitOperationAdd(path_in_repo=u.path_in_repo, path_or_fileobj=u.source)
                for u in plan.uploads
            ]
            api.create_commit(
                plan.repo_id,
                operations=operations,
                commit_message="Deploy the rflr explorer",
                repo_type="space",
            )
        else:
            api.create_repo(plan.repo_id, repo_type="model", private=plan.private, exist_ok=True)
            # Exactly the plan's files, card included, in one commit: upload_folder would
            # select files itself (hidden folders, symlinks out) and differ from the dry run.
            api.create_commit(
                plan.repo_id,
                operations=[
                    CommitOperationAdd(path_in_repo=u.path_in_repo, path_or_fileobj=u.source)
                    for u in plan.uploads
                ],
                commit_message="Upload rflr checkpoints",
                repo_type="model",
            )
    return _url(plan)


# --- Pull -------------------------------------------------------------------------------------


def _pull_args(repo_id: str, revision: str | None, cache_dir: str | Path | None) -> dict[str, Any]:
    """snapshot_download's arguments: the pull plan, printed by --dry-run. The repo id and the
    revision are checked here, before huggingface_hub sees them (rflr.files.repo_id)."""
    try:
        repo_id = check_repo_id(repo_id)
        if revision is not None:
            revision = check_revision(revision)
    except ValueError as err:
        raise HubError(str(err)) from None
    return {
        "repo_id": repo_id,
        "repo_type": "model",
        "revision": revision,
        "cache_dir": cache_dir,
        "allow_patterns": PULL_PATTERNS,
    }


def pull(repo_id: str, revision: str | None = None, cache_dir: str | Path | None = None) -> Path:
    """Fetch a checkpoint repo (or find it in the local cache) and return its local folder.

    Only checkpoints, summaries, markdown and figures are downloaded. Offline, the cached
    snapshot is returned without any network access. Failures raise HubError.
    """
    _check_cache_dir(cache_dir)
    args = _pull_args(repo_id, revision, cache_dir)
    with _hub_errors(args["repo_id"], revision):
        return _snapshot(args, local_files_only=_offline())


def _check_cache_dir(cache_dir: str | Path | None) -> None:
    """A --cache-dir that is a file would otherwise surface as 'the Hub cannot be reached'."""
    if cache_dir is not None and Path(cache_dir).exists() and not Path(cache_dir).is_dir():
        raise HubError(f"--cache-dir {cache_dir}: is a file, not a folder")


def _snapshot(args: dict[str, Any], local_files_only: bool) -> Path:
    """snapshot_download's folder, refused unless it is one snapshot of this repo in the cache.

    The revision rule keeps huggingface_hub's own path joins inside the cache; this checks
    the result as well, so that no revision, ref file or link can hand the app another folder.
    """
    folder = Path(snapshot_download(**args, local_files_only=local_files_only))
    cache = Path(args["cache_dir"] or constants.HF_HUB_CACHE).expanduser()
    repo = repo_folder_name(repo_id=args["repo_id"], repo_type=args["repo_type"])
    snapshots = (cache / repo / "snapshots").resolve()
    if folder.resolve().parent != snapshots:
        raise HubError(
            f"{args['repo_id']}: refused the folder huggingface_hub returned, it is not a "
            f"snapshot inside the cache {snapshots}"
        )
    return folder


def _cached(args: dict[str, Any]) -> Path | None:
    """The snapshot already in the local cache for these pull arguments; never uses the network."""
    try:
        return _snapshot(args, local_files_only=True)
    except LocalEntryNotFoundError:
        return None


# --- Command line -----------------------------------------------------------------------------


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like runtime errors, instead of argparse's usage dump.
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def _repo_id(text: str) -> str:
    """USER/NAME by rflr's rule (rflr.files.paths), then by the Hub's own (length, `--`, ...)."""
    try:
        check_repo_id(text)
        validate_repo_id(text)
    except ValueError as err:  # HFValidationError is a ValueError
        raise argparse.ArgumentTypeError(_first_line(err)) from err
    return text


def _revision(text: str) -> str:
    """A branch, tag or commit by rflr.files.repo_id's rule (pull checks it again)."""
    try:
        return check_revision(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder")
    return path


def _print_plan(plan: Plan, dry_run: bool) -> None:
    print(format_plan(plan))
    if dry_run:
        token = "found" if get_token() is not None else f"missing ({NO_TOKEN})"
        print(f"token: {token}")
        print("dry run: nothing was created or uploaded")


def _cmd_push(args: argparse.Namespace) -> None:
    plan = plan_push(args.folder, args.repo, private=args.private)
    _print_plan(plan, args.dry_run)
    if not args.dry_run:
        print(f"pushed: {execute(plan)}")


def _cmd_deploy_space(args: argparse.Namespace) -> None:
    plan = plan_space(args.space, root=args.root, private=args.private)
    _print_plan(plan, args.dry_run)
    if not args.dry_run:
        print(f"deployed (the Space builds now): {execute(plan)}")


def _cmd_pull(args: argparse.Namespace) -> None:
    if args.dry_run:
        _check_cache_dir(args.cache_dir)
        plan = _pull_args(args.repo_id, args.revision, args.cache_dir)
        cache = plan["cache_dir"] or constants.HF_HUB_CACHE
        print(f"model repo {args.repo_id} at revision {plan['revision'] or 'main'}")
        print(f"files matching {' '.join(PULL_PATTERNS)}, into the cache {cache}")
        print("offline: yes" if _offline() else "offline: no")
        cached = _cached(plan)
        if cached is None:
            print("cached: no (a real pull downloads it)")
        else:
            files = sorted(p for p in cached.rglob("*") if p.is_file())
            for path in files:
                print(f"{path.stat().st_size:>12}  {path.relative_to(cached).as_posix()}")
            print(f"cached: {len(files)} files in {cached}")
        print("dry run: nothing was downloaded")
        return
    folder = pull(args.repo_id, args.revision, args.cache_dir)
    count = sum(1 for _ in folder.rglob("*.safetensors"))
    print(f"{args.repo_id}: {count} checkpoint files in")
    print(folder)  # last line: scripts take the path from here


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m rflr.hub", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dry_run = "print what would be created and uploaded, with sizes; touch nothing"
    private = "make the repo private when it is created (an existing repo keeps its visibility)"

    push = commands.add_parser("push", help="upload a checkpoint folder to a model repo")
    push.add_argument("folder", type=_folder, help="folder of *.safetensors checkpoints")
    push.add_argument("--repo", type=_repo_id, required=True, help="model repo, USER/NAME")
    push.add_argument("--private", action="store_true", help=private)
    push.add_argument("--dry-run", action="store_true", help=dry_run)
    push.set_defaults(run=_cmd_push)

    pull_ = commands.add_parser("pull", help="download a checkpoint repo; print its local folder")
    pull_.add_argument("repo_id", type=_repo_id, help="model repo, USER/NAME")
    pull_.add_argument("--revision", type=_revision, help="branch, tag or commit (default: main)")
    pull_.add_argument("--cache-dir", help="Hugging Face cache folder (default: HF_HUB_CACHE)")
    pull_.add_argument(
        "--dry-run", action="store_true", help="print what would be fetched; download nothing"
    )
    pull_.set_defaults(run=_cmd_pull)

    space = commands.add_parser("deploy-space", help="create or update the explorer's Space")
    space.add_argument("--space", type=_repo_id, required=True, help="Space id, USER/NAME")
    space.add_argument(
        "--root",
        type=_folder,
        default=PROJECT_ROOT,
        help="project root holding streamlit_app.py, requirements.txt and rflr/ "
        "(default: %(default)s)",
    )
    space.add_argument("--private", action="store_true", help=private)
    space.add_argument("--dry-run", action="store_true", help=dry_run)
    space.set_defaults(run=_cmd_deploy_space)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return 0, 1 for a runtime failure or 2 for a usage error."""
    try:
        args = _parser().parse_args(argv)
        args.run(args)
    except _UsageError as err:
        print(f"{ERROR_PREFIX}{err}", file=sys.stderr)
        return 2
    except HubError as err:
        print(f"{ERROR_PREFIX}{err}", file=sys.stderr)
        return 1
    return 0
