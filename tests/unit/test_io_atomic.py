"""All-or-nothing writes: a failed or interrupted run never leaves a result-looking file."""

import pytest

from phototherm.errors import InputError
from phototherm.io.atomic import atomic_write_bytes, atomic_write_text, staged_directory


class Boom(RuntimeError):
    pass


def make_old_result(path):
    path.mkdir()
    (path / "summary.json").write_text("old")
    return path


def leftovers(directory):
    """Hidden temporary siblings left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_success_replaces_existing_directory(tmp_path):
    final = make_old_result(tmp_path / "run")
    with staged_directory(final) as out:
        assert out.parent == tmp_path
        assert out.name.startswith(".run.partial-")
        assert not any(out.iterdir())
        (out / "summary.json").write_text("new")
        assert (final / "summary.json").read_text() == "old"  # not visible before the end
    assert (final / "summary.json").read_text() == "new"
    assert leftovers(tmp_path) == []


def test_success_creates_missing_parents(tmp_path):
    final = tmp_path / "a" / "b" / "run"
    with staged_directory(final) as out:
        (out / "x.txt").write_text("x")
    assert (final / "x.txt").read_text() == "x"


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_failure_leaves_old_directory_and_no_partial(tmp_path, error):
    final = make_old_result(tmp_path / "run")
    with pytest.raises(error):
        with staged_directory(final) as out:
            (out / "summary.json").write_text("half-written")
            raise error()
    assert (final / "summary.json").read_text() == "old"
    assert sorted(p.name for p in final.iterdir()) == ["summary.json"]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_failure_without_previous_result_leaves_nothing(tmp_path, error):
    with pytest.raises(error):
        with staged_directory(tmp_path / "run") as out:
            (out / "T.vti").write_bytes(b"partial")
            raise error()
    assert list(tmp_path.iterdir()) == []


def test_overwrite_false_refuses_existing_directory(tmp_path):
    final = make_old_result(tmp_path / "run")
    with pytest.raises(InputError, match="run"):
        with staged_directory(final, overwrite=False):
            pytest.fail("the body must not run")
    assert (final / "summary.json").read_text() == "old"
    assert leftovers(tmp_path) == []


def test_overwrite_false_detects_directory_created_meanwhile(tmp_path):
    final = tmp_path / "run"
    with pytest.raises(InputError, match="overwrite=False"):
        with staged_directory(final, overwrite=False) as out:
            (out / "summary.json").write_text("new")
            make_old_result(final)
    assert (final / "summary.json").read_text() == "old"
    assert leftovers(tmp_path) == []


def test_refuses_to_replace_a_file(tmp_path):
    final = tmp_path / "run"
    final.write_text("not a directory")
    with pytest.raises(InputError, match="directory"):
        with staged_directory(final):
            pass
    assert final.read_text() == "not a directory"


def test_atomic_write_replaces_file(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    atomic_write_text(path, "first")
    assert atomic_write_bytes(path, b"second") == path
    assert path.read_bytes() == b"second"
    assert leftovers(path.parent) == []


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_atomic_write_text_leaves_no_temp_file_on_error(tmp_path, monkeypatch, error):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def failing_fsync(fd):
        raise error()

    monkeypatch.setattr("phototherm.io.atomic.os.fsync", failing_fsync)
    with pytest.raises(error):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
