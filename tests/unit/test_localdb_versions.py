"""The local server's data directory is one major's: choosing binaries of another
(LOCALDB_WHEEL, LOCALDB_BINDIR) is refused with a sentence naming both and the way out."""

from __future__ import annotations

from pathlib import Path

import pytest

from chip_quality_dev import localdb


def test_binaries_of_another_major_than_the_data_directory_are_refused(tmp_path: Path) -> None:
    server = localdb.LocalServer(tmp_path / "localdb")
    server.data_dir.mkdir(parents=True)
    (server.data_dir / "PG_VERSION").write_text("9\n")  # a major no binaries here have

    with pytest.raises(localdb.LocalDbError) as refused:
        localdb.start(server)

    message = str(refused.value)
    assert "made by PostgreSQL 9" in message
    assert localdb.binaries_version(localdb.find_bindir()) in message
    assert "LOCALDB_DIR" in message


def test_the_wheel_setting_names_the_wheels_it_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCALDB_BINDIR", raising=False)
    monkeypatch.setenv("LOCALDB_WHEEL", "pgserver16")
    with pytest.raises(localdb.LocalDbError, match=r"LOCALDB_WHEEL='pgserver16': expected one of"):
        localdb.find_bindir()
