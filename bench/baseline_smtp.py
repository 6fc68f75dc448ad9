"""The mail baseline: an aiosmtpd server whose handler only writes each message to disk and fsyncs.

`python -m bench.baseline_smtp --listen 127.0.0.1:2526 --dir /tmp/x` runs until SIGTERM.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal

from aiosmtpd.controller import Controller


class WriteAndFsync:
    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(self.folder, f"{next(self.counter):08d}.eml")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, envelope.original_content or envelope.content)
            os.fsync(fd)
        finally:
            os.close(fd)
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(WriteAndFsync(args.dir), hostname=host, port=int(port))
    controller.start()
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        loop.run_until_complete(stop.wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
