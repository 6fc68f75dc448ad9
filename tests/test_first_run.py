"""What an operator meets on the first run: `make run` installs only what running needs (the test
tools are `make test`'s), the license is declared the current way (no setuptools deprecation warnings), and the
start-up summary advises on backups once instead of a warning every hour."""
from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _pip_installs(target: str, tmp_path) -> list[str]:
    """The extras each `pip install -e '.[…]'` of `make -n TARGET` asks for, on a new machine."""
    shown = subprocess.run(["make", "-n", target, f"VENV={tmp_path / 'venv'}"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout
    return re.findall(r"pip install -q -e '\.\[([^\]]*)\]'", shown)


def test_make_run_installs_no_test_tools_and_make_test_adds_them(tmp_path):
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    run = _pip_installs("run", tmp_path)
    assert run and all("test" not in installed.split(",") for installed in run)
    assert not any(tool.split(">")[0].split("[")[0] in ("playwright", "moto", "pytest")
                   for installed in run for extra in installed.split(",") for tool in extras.get(extra, []))
    assert any("test" in installed.split(",") for installed in _pip_installs("test", tmp_path))


def test_the_license_is_an_spdx_string():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "AGPL-3.0-or-later"  # a table is deprecated by setuptools (PEP 639)



def test_backups_off_is_advice_in_the_start_up_summary_and_one_warning_not_one_an_hour(clean_app, caplog):
    import logging

    from app.stewardship.backup import schedule
    from app.supervisor import summary_lines

    lines = summary_lines(clean_app, {})
    assert [line for line in lines if "backups are off" in line.lower()] == [
        '  Advice: backups are off. Set BACKUP_DESTINATIONS and BACKUP_AGE_RECIPIENT for a daily encrypted '
        'backup (SECURITY.md, "Backups").']
    schedule._told.clear()
    with caplog.at_level(logging.WARNING, logger=schedule.log.name):
        assert [schedule.backup_if_due() for _ in range(3)] == ["not configured"] * 3
    assert sum("not configured" in record.getMessage() for record in caplog.records) == 1
