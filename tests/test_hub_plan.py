"""rflr.hub.plan: which files of a folder a push takes, and which it leaves out and why."""

import pytest

from rflr.hub import plan, sync
from tests import hostile
from tests.hub_folders import checkpoint_folder, write_checkpoint

pytestmark = pytest.mark.usefixtures("isolated_hub")  # sync.main reads the token and settings


def test_push_plan_takes_regular_files_inside_the_folder_only(tmp_path):
    pushed = plan.plan_push(checkpoint_folder(tmp_path), "alice/sweep")

    assert [u.path_in_repo for u in pushed.uploads] == [
        "README.md",
        "figures/loss.png",
        "run-a/step-00000000.safetensors",
        "run-a/step-00000100.safetensors",
        "run-b/step-00000100.safetensors",
        "summary.csv",
    ]
    assert [u.path_in_repo for u in pushed.uploads if isinstance(u.source, bytes)] == ["README.md"]


def test_push_leaves_out_hidden_files_symlinks_out_and_bad_checkpoints(tmp_path, api, capsys):
    folder = checkpoint_folder(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0")
    (folder / "run-a" / "x.safetensors").symlink_to(outside / "passwd")
    (folder / "run-c").symlink_to(outside, target_is_directory=True)  # never entered
    (folder / "inside.png").symlink_to(folder / "figures" / "loss.png")  # stays inside: kept
    write_checkpoint(folder / ".resume" / "state.safetensors")
    write_checkpoint(folder / "run-a" / ".step-00000200.safetensors.tmp.safetensors")
    bad = hostile.write_header_case(folder / "run-d", "config-list")

    pushed = plan.plan_push(folder, "alice/sweep")
    names = [u.path_in_repo for u in pushed.uploads]
    assert "inside.png" in names and "run-a/step-00000100.safetensors" in names
    assert not any(n.startswith((".", "run-c", "run-d")) or "/." in n for n in names)
    assert "run-a/x.safetensors" not in names
    assert any(
        s.startswith("run-a/x.safetensors: a symlink to a file outside") for s in pushed.skipped
    )
    assert any(
        s.startswith("run-d/config-list.safetensors: not a valid checkpoint")
        for s in pushed.skipped
    )
    assert bad.exists()

    assert sync.main(["push", str(folder), "--repo", "alice/sweep", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "skipped: run-a/x.safetensors: a symlink to a file outside the folder" in out
    assert ".resume" not in out and api.mock_calls == []


INJECTED = "a\n \n## Injected [click](http://evil.example/x)\n\nb.safetensors"  # issue 22, case 11


@pytest.mark.parametrize(
    "name",
    [
        INJECTED,
        "c\r\n| `x` | 1 | rflr |.safetensors",  # a fake card row
        "d\u2028## Injected.safetensors",  # a Unicode line separator
        "e\u202egnp.safetensors",  # a bidi override that reverses what a terminal shows
        "f\x1b[2Jg.png",  # a terminal escape
    ],
)
def test_names_with_control_characters_are_left_out_of_the_card_and_plan(
    tmp_path, api, capsys, name
):
    folder = checkpoint_folder(tmp_path)
    write_checkpoint(folder / name)
    write_checkpoint(folder / "run\n## Injected folder" / "step-00000000.safetensors")

    pushed = plan.plan_push(folder, "alice/sweep")
    uploads = [u.path_in_repo for u in pushed.uploads]
    assert all(n.isprintable() for n in uploads) and len(uploads) == 6
    card = next(u.source for u in pushed.uploads if u.path_in_repo == "README.md").decode()
    assert "Injected" not in card and "evil.example" not in card
    assert sum("a name with control characters" in s for s in pushed.skipped) == 2

    assert sync.main(["push", str(folder), "--repo", "alice/sweep", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not any(line.startswith(("#", "|", "\x1b", "b.safetensors")) for line in lines)
    assert all(line.isprintable() for line in lines)
    skipped = [line for line in lines if "a name with control characters" in line]
    assert len(skipped) == 2 and all(line.startswith("skipped: ") for line in skipped)


def test_the_card_writes_any_name_on_one_line():
    # The card's own guard, whatever the plan lets through.
    from rflr.hub import cards

    class File:
        path_in_repo = "x\n## Injected `y`|z.png"
        size = 1

    card = cards.model_card("alice/sweep", [File()], {})
    assert "- `x?## Injected y|z.png` (1 bytes)" in card
    assert not any(line.startswith("## Injected") for line in card.splitlines())


def test_dry_run_skipped_lines_are_plain_text(tmp_path, api, capsys):
    # Issue 22, case 15: a terminal shows `zero_link` and `<= 64`, never `zero\_link`, `\<= 64`.
    folder = checkpoint_folder(tmp_path)
    (folder / "run-a" / "zero_link.safetensors").symlink_to(tmp_path / "missing")
    hostile.write_header_case(folder / "run_d", "input-dim-huge")

    assert sync.main(["push", str(folder), "--repo", "alice/sweep", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "skipped: run-a/zero_link.safetensors: a broken or looping symlink\n" in out
    (line,) = [x for x in out.splitlines() if x.startswith("skipped: run_d/")]
    assert "input_dim must be <= 64" in line and "\\" not in out
