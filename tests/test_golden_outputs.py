"""Every output of ``run``, ``cycle close`` + ``rematch`` (next cycle and mid-cycle) and the step
commands on the sample cohort, byte for byte against the golden files in ``tests/golden/sample``.

The clock, the workspace secret and the feed key are fixed (``tests.golden_scenario``); only
timing fields are masked. A restructuring must leave these bytes alone. After a deliberate change
of output, regenerate with ``python -m tests.test_golden_outputs`` and review the diff.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.golden_scenario import outputs, produce

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
GOLDEN = Path(__file__).resolve().parent / "golden" / "sample"


def _produce(tmp: Path) -> dict[str, bytes]:
    produce(SAMPLE / "participants.csv", SAMPLE / "program.toml", tmp)
    return outputs(tmp)


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return _produce(tmp_path_factory.mktemp("golden"))


def test_the_same_files_are_written(produced: dict[str, bytes]) -> None:
    golden = {p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*") if p.is_file()}
    assert golden, "no golden files: run python -m tests.test_golden_outputs"
    assert set(produced) == golden


def test_every_file_is_byte_identical(produced: dict[str, bytes]) -> None:
    different = [
        name
        for name, data in sorted(produced.items())
        if not (GOLDEN / name).is_file() or (GOLDEN / name).read_bytes() != data
    ]
    assert not different, f"{len(different)} files differ from tests/golden/sample: {different[:10]}"


def test_the_scenario_covers_every_step(produced: dict[str, bytes]) -> None:
    steps = {name.split("/", 1)[0] for name in produced}
    assert steps == {"run", "rematch", "mid", "match", "schedule", "publish"}
    assert b"mentor_id" in produced["rematch/changes.csv"] or b"change" in produced["rematch/changes.csv"]


if __name__ == "__main__":  # regenerate the golden files
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        files = _produce(Path(tmp))
    shutil.rmtree(GOLDEN, ignore_errors=True)
    for name, data in files.items():
        (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
        (GOLDEN / name).write_bytes(data)
    print(f"wrote {len(files)} golden files to {GOLDEN}", file=sys.stderr)
