"""The peers' scratch folder: one venv per peer, made with `python -m venv` and pip by package name.

The folder is outside the repository ($XDG_CACHE_HOME/quorum-bench-peers unless --peers-dir names one);
nothing lands in the project's venv. A venv is reused while its stamp names the same pins.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..stack import REPO

INSTALL_TIMEOUT = 1200  # seconds for one peer's pip install


class PeerUnavailable(Exception):
    """A peer that cannot be installed or started; its rows say why instead of failing the run."""


def default_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "quorum-bench-peers"


def peers_dir(given: str | None) -> Path:
    folder = Path(given).expanduser().resolve() if given else default_dir()
    if folder == REPO or REPO in folder.parents:
        raise SystemExit(f"--peers-dir must be outside the repository ({REPO}); the peers are never committed")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stamp(requirements: list[str], constraints: list[str]) -> dict:
    return {"python": sys.version.split()[0], "requirements": requirements, "constraints": constraints}


def ensure_venv(root: Path, name: str, requirements: list[str], constraints: list[str] = (),
                say=print) -> Path:
    """The peer's venv (made and installed if its stamp differs); returns its bin folder."""
    venv = root / name
    bin_dir = venv / "bin"
    wanted = stamp(list(requirements), list(constraints))
    stamp_file = venv / "quorum-bench-stamp.json"
    try:
        if json.loads(stamp_file.read_text()) == wanted and (bin_dir / "python").exists():
            return bin_dir
    except (OSError, ValueError):
        pass
    say(f"installing {name} ({', '.join(requirements)}) into {venv} …")
    stamp_file.unlink(missing_ok=True)
    made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True,
                          timeout=300)
    if made.returncode != 0:
        raise PeerUnavailable(f"python -m venv failed: {made.stderr.strip()[-300:]}")
    env = dict(os.environ)
    if constraints:  # pins for old packages' build environments too (pip applies PIP_CONSTRAINT there)
        constraint_file = venv / "constraints.txt"
        constraint_file.write_text("\n".join(constraints) + "\n")
        env["PIP_CONSTRAINT"] = str(constraint_file)
    try:
        pip = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              *requirements], capture_output=True, text=True, timeout=INSTALL_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        raise PeerUnavailable(f"pip install {' '.join(requirements)} took over {INSTALL_TIMEOUT} s") from None
    if pip.returncode != 0:
        errors = [line for line in pip.stderr.splitlines() if line.startswith("ERROR") or "Error" in line]
        raise PeerUnavailable(f"pip install {' '.join(requirements)} failed: "
                              + (" / ".join(errors[-3:]) or pip.stderr.strip()[-300:])[:400])
    stamp_file.write_text(json.dumps(wanted, indent=2) + "\n")
    return bin_dir
