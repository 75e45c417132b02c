import os
from pathlib import Path

import pytest

# Wide enough that rich's tables never wrap the ids the CLI tests look for.
os.environ.setdefault("COLUMNS", "200")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The team's ../shared folder; CI always has it, so its absence fails there."""
    if not SHARED.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED} is missing; CI checks out shared/ beside the project")
        pytest.skip(f"{SHARED} is missing")
    return SHARED
