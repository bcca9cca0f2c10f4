"""Where the first admin key goes: ``<data dir>/admin_key`` (mode 0600), and the terminal.

Printed keys end up in logs wherever stdout is collected — in a container, always (``docker
logs``). So the key is always written to a file only its owner can read, and in a container
only that file's path is printed. A container is recognised by ``LEDGER_IN_CONTAINER=1``, which
our image sets. Not by ``/.dockerenv``: development machines and CI runners are often
containers themselves, and there the README's first start must still show the key.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_NAME = "admin_key"
CONTAINER_VARIABLE = "LEDGER_IN_CONTAINER"


def in_container() -> bool:
    return os.environ.get(CONTAINER_VARIABLE) == "1"


def save(key: str, data_dir: Path) -> Path | None:
    """Write ``key`` to ``<data_dir>/admin_key`` readable by its owner only; None if impossible."""
    path = data_dir / FILE_NAME
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an older file of the same name may have been wider
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
    except OSError:
        return None
    return path


def announcement(key: str, tenant: str, data_dir: Path, container: bool | None = None) -> str:
    """The lines ``ledger serve`` prints about a newly created first admin key."""
    container = in_container() if container is None else container
    path = save(key, data_dir)
    head = f"\nFirst start: created an admin API key for tenant {tenant!r}."
    tail = "Create more with `ledger keys create --tenant T --role R`."
    if path is not None and container:
        return f"{head} It is in {path} (mode 0600), not printed here.\n{tail}"
    if path is not None:
        return (f"{head} It is shown only this once, and saved in {path} (mode 0600); store it "
                f"safely and delete the file:\n\n    {key}\n\n{tail}")
    # Nowhere to keep it: printing is the only way not to lock the admin out.
    return (f"{head} It could not be saved to {data_dir / FILE_NAME}; it is shown only this "
            f"once, store it safely:\n\n    {key}\n\n{tail}")
