"""`python -m bench --peers`: FlaskBB and GNU Mailman 3 core measured beside Quorum in the same run.

Each peer is installed from the package index by name into its own venv in a scratch folder outside the
repository (bench/peers/scratch.py) and runs from a scratch folder of this run. A peer that cannot be
installed or started is reported as "peer not available: <why>" instead of failing the run.
"""
from __future__ import annotations

import traceback
from pathlib import Path

from . import flaskbb_peer, mailman_peer
from .scratch import peers_dir


def say(message: str) -> None:
    print(f"  {message}", flush=True)


def run_peers(args, run_dir: Path) -> dict:
    root = peers_dir(args.peers_dir)
    out: dict = {"dir": str(root)}
    parts = []
    if args.sections & {"pages", "weight", "memory"}:
        parts.append(("flaskbb", flaskbb_peer))
    if args.sections & {"delivery", "mail", "memory"}:
        parts.append(("mailman", mailman_peer))
    for name, module in parts:
        say(f"-- {name} --")
        try:
            out[name] = module.measure(root, run_dir / name, args, say=say)
        except Exception as error:  # a peer must not lose Quorum's figures
            print("".join(traceback.format_exception(error, limit=-3))[-2000:], flush=True)
            out[name] = {"available": False, "why": f"{type(error).__name__}: {error}"}
        if not out[name].get("available"):
            say(f"{name}: peer not available: {out[name]['why']}")
    return out
