"""Putting a finished model folder in place atomically, so that no reader ever sees half of one.

The folder builders (the e5 build, ``trim-vocab``, ``adapt-encoder``) each write into a temporary
folder beside the destination and hand it to :func:`install_folder` once it is complete.

Not here: writing the folder's contents, and cleaning up a temporary folder when writing fails
(each builder does both itself).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def install_folder(built: Path, folder: Path) -> None:
    """Move the finished ``built`` folder to ``folder``, replacing an old or broken one.

    Two renames within one parent: a reader sees the old folder, no folder, or the new one,
    never a half-written one. If another process installed a current folder first, keep theirs.
    """
    if folder.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
        os.rename(folder, trash / folder.name)
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.rename(built, folder)
    except OSError:
        if not folder.is_dir():
            raise
        shutil.rmtree(built, ignore_errors=True)  # a concurrent build won the race
