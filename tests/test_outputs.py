"""All-or-nothing writing of result files."""

import os

import pytest

from acap.outputs import slug, text_writer, write_all


def test_new_folder_appears_whole(tmp_path):
    out = tmp_path / "res"
    paths = write_all(out, {"a.csv": text_writer("new a"), "sub/b.csv": text_writer("new b")})
    assert [p.read_text() for p in paths] == ["new a", "new b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # no staging or backup left


def test_failure_while_writing_changes_nothing(tmp_path):
    out = tmp_path / "res"
    write_all(out, {"a.csv": text_writer("old a")})

    def boom(path):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as exc:
        write_all(out, {"a.csv": text_writer("new a"), "b.csv": boom})
    assert str(out / "b.csv") in str(exc.value)
    assert (out / "a.csv").read_text() == "old a" and not (out / "b.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_failure_while_replacing_puts_old_versions_back(tmp_path):
    out = tmp_path / "res"
    write_all(out, {"a.csv": text_writer("old a"), "b": lambda p: (p.mkdir(), (p / "x").write_text("old x"))})
    # a file where the new result needs a folder: the second replacement fails
    (out / "c").write_text("in the way")
    (out / "keep.txt").write_text("user file")

    def folder(path):
        path.mkdir()
        (path / "y").write_text("new y")

    with pytest.raises(OSError):
        write_all(out, {"a.csv": text_writer("new a"), "b": folder, "c/d.csv": text_writer("new d")})
    assert (out / "a.csv").read_text() == "old a"
    assert (out / "b" / "x").read_text() == "old x" and not (out / "b" / "y").exists()
    assert (out / "c").read_text() == "in the way" and (out / "keep.txt").read_text() == "user file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_replacing_keeps_other_files(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    write_all(out, {"a.csv": text_writer("a")})
    assert (out / "notes.txt").read_text() == "mine" and (out / "a.csv").read_text() == "a"


def test_slugs_are_unique_and_never_empty():
    taken = set()
    names = ["Org A", "org-a", "ORG  A", "???", "", "Ynys Môn"]
    slugs = [slug(n, taken) for n in names]
    assert len(set(slugs)) == len(slugs) and all(slugs)
    assert all(os.sep not in s and s not in (".", "..") for s in slugs)
