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


def stamp(requirements: list[str], no_deps: bool = False, site_files: dict | None = None) -> dict:
    return {"python": sys.version.split()[0], "requirements": requirements, "no_deps": no_deps,
            "site_files": site_files or {}}


def ensure_venv(root: Path, name: str, requirements: list[str], no_deps: bool = False, site_files: dict | None = None,
                say=print) -> Path:
    """The peer's venv (made and installed if its stamp differs); returns its bin folder. no_deps: install
    exactly the listed pins, not the packages' own; site_files: name → text written into site-packages."""
    venv = root / name
    bin_dir = venv / "bin"
    wanted = stamp(list(requirements), no_deps, site_files)
    stamp_file = venv / "quorum-bench-stamp.json"
    try:
        if json.loads(stamp_file.read_text()) == wanted and (bin_dir / "python").exists():
            return bin_dir
    except (OSError, ValueError):
        pass
    say(f"installing {name} ({requirements[0]}" + (f" and {len(requirements) - 1} more pins" if len(requirements) > 1 else "")
        + f") into {venv} …")
    stamp_file.unlink(missing_ok=True)
    made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True,
                          timeout=300)
    if made.returncode != 0:
        raise PeerUnavailable(f"python -m venv failed: {made.stderr.strip()[-300:]}")
    try:
        pip = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              *(["--no-deps"] if no_deps else []), *requirements], capture_output=True, text=True,
                             timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise PeerUnavailable(f"pip install {' '.join(requirements)} took over {INSTALL_TIMEOUT} s") from None
    if pip.returncode != 0:
        errors = [line for line in pip.stderr.splitlines() if line.startswith("ERROR") or "Error" in line]
        raise PeerUnavailable(f"pip install {' '.join(requirements)} failed: "
                              + (" / ".join(errors[-3:]) or pip.stderr.strip()[-300:])[:400])
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    for file_name, text in (site_files or {}).items():
        (site / file_name).write_text(text)
    stamp_file.write_text(json.dumps(wanted, indent=2) + "\n")
    return bin_dir
