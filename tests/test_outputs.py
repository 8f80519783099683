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


def test_error_names_the_result_that_failed(tmp_path):
    out = tmp_path / "res"
    write_all(out, {"a.csv": text_writer("old a"), "b.csv": text_writer("old b")})
    (out / "c").write_text("a file where a folder is needed")
    with pytest.raises(OSError) as exc:
        write_all(out, {"a.csv": text_writer("new a"), "b.csv": text_writer("new b"), "c/d.csv": text_writer("d")})
    assert exc.value.filename == str(out / "c" / "d.csv")
    assert (out / "a.csv").read_text() == "old a" and (out / "b.csv").read_text() == "old b"


def test_interrupt_while_replacing_puts_old_versions_back(tmp_path, monkeypatch):
    import acap.outputs as outputs

    out = tmp_path / "res"
    write_all(out, {"a.csv": text_writer("old a"), "b.csv": text_writer("old b")})
    real = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == 4:  # after a.csv is replaced and b.csv moved aside
            raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", flaky)
    with pytest.raises(KeyboardInterrupt):
        write_all(out, {"a.csv": text_writer("new a"), "b.csv": text_writer("new b")})
    monkeypatch.setattr(outputs.os, "replace", real)
    assert (out / "a.csv").read_text() == "old a" and (out / "b.csv").read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_failed_restore_keeps_the_backup_and_says_where(tmp_path, monkeypatch):
    import acap.outputs as outputs

    out = tmp_path / "res"
    write_all(out, {"a.csv": text_writer("old a"), "b.csv": text_writer("old b")})
    real = os.replace
    calls = {"n": 0}

    def broken(src, dst):
        calls["n"] += 1
        if calls["n"] >= 4:  # the move of b.csv fails, and so does every restore
            raise OSError(5, "Input/output error")
        return real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", broken)
    with pytest.raises(OSError) as exc:
        write_all(out, {"a.csv": text_writer("new a"), "b.csv": text_writer("new b")})
    monkeypatch.setattr(outputs.os, "replace", real)
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(".res.previous-")]
    assert len(kept) == 1 and str(kept[0]) in str(exc.value)
    assert (kept[0] / "a.csv").read_text() == "old a"


def test_remove_writer_clears_an_old_result(tmp_path):
    from acap.outputs import remove_writer

    out = tmp_path / "res"
    write_all(out, {"a.csv": text_writer("a"), "scores.csv": text_writer("individual")})
    paths = write_all(out, {"a.csv": text_writer("a2"), "scores.csv": remove_writer()})
    assert paths == [out / "a.csv"] and not (out / "scores.csv").exists()


def test_csv_text_is_what_pandas_writes():
    import numpy as np
    import pandas as pd

    from acap.outputs import csv_text

    rng = np.random.default_rng(3)
    x = rng.normal(4, 1, 400) * 10.0 ** rng.integers(-6, 9, 400)
    x[::17] = np.nan
    x[5], x[6], x[7], x[8] = 3.865625, 999999.7, -0.0, 123456.5  # ties, rounding up to 1e6, signed zero
    frame = pd.DataFrame({
        "mean": x, "n": pd.array(np.where(np.arange(400) % 7 == 0, None, np.arange(400)), dtype="Int64"),
        "k": np.arange(400), "suppressed": np.arange(400) % 3 == 0,
        "reason": (["fewer than 5", None, 'a "quoted", text', "line\nbreak", "Ynys Môn"] * 80)},
        index=pd.MultiIndex.from_product([[f"Org {i}" for i in range(40)], [f"s{j}" for j in range(10)]],
                                         names=["organisation", "scale"]))
    assert csv_text(frame) == frame.to_csv(float_format="%.6g")
    assert csv_text(frame, index=False) == frame.to_csv(float_format="%.6g", index=False)
    assert csv_text(frame.assign(when=pd.Timestamp("2026-01-01"))) is None  # other dtypes: pandas writes them


def test_csv_constants_are_columns_on_every_row():
    import pandas as pd

    from acap.outputs import csv_text

    frame = pd.DataFrame({"mean": [4.25, float("nan")], "n": [5, 7]}, index=pd.Index(["A, B", "C"], name="org"))
    stamp = {"bank_version": "1.0", "min_n": 5, "min_n_override": False, "level": 0.95}
    assert csv_text(frame, constants=stamp) == frame.assign(**stamp).to_csv(float_format="%.6g")
    assert csv_text(frame.iloc[:0], constants=stamp) == frame.iloc[:0].assign(**stamp).to_csv(float_format="%.6g")
    assert csv_text(frame, constants={"n": 1}) == frame.assign(n=1).to_csv(float_format="%.6g")  # replaces a column
