"""A small filesystem for a node's state dir: tmpfs (we run as root), or a loop-mounted
ext4 image when the kernel refuses tmpfs mounts. Unmounted at close."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path


class SmallFilesystemRefused(Exception):
    pass


class SmallFilesystem:
    def __init__(self, mountpoint: Path, size_mb: int):
        self.path = mountpoint
        self.image: Path | None = None
        mountpoint.mkdir(parents=True, exist_ok=True)
        tmpfs = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(mountpoint)],
                               capture_output=True, text=True)
        if tmpfs.returncode == 0:
            self.kind = "tmpfs"
            return
        self.image = mountpoint.with_suffix(".img")
        steps = [["truncate", "-s", f"{size_mb}M", str(self.image)], ["mkfs.ext4", "-q", "-F", str(self.image)],
                 ["mount", "-o", "loop", str(self.image), str(mountpoint)]]
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True)
            if result.returncode != 0:
                raise SmallFilesystemRefused(f"tmpfs: {tmpfs.stderr.strip()}; {' '.join(step)}: {result.stderr.strip()}")
        self.kind = "ext4 loop image"

    def free_bytes(self) -> int:
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize

    def fill(self, name: str = "filler.bin", leave: int = 0) -> Path:
        """Writes a file until at most `leave` bytes are free (ENOSPC ends it)."""
        filler = self.path / name
        with open(filler, "ab") as f:
            for block in (1 << 20, 64 << 10, 4 << 10):
                while self.free_bytes() - block >= leave:
                    try:
                        f.write(b"\0" * block)
                        f.flush()
                    except OSError as error:
                        if error.errno != errno.ENOSPC:
                            raise
                        break
        return filler

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
        if self.image is not None:
            self.image.unlink(missing_ok=True)
