"""Benchmark: hostile input files from issue 17 (finding 7), each through ``mentorsync validate``.

    python benchmarks/bench_intake.py

Each case runs in its own process; printed are its exit code, wall time, peak memory (RSS) and
the first line of its message. Targets: every case ends with exit 65 (or 0 for the declared
dimension, whose real cells are valid) in a few seconds and well under 1 GB. Before the limits:
the 11 KB workbook with a whole-sheet dimension took over 300 s, the 420 KB workbook with a
400 MB string 1.7 GB, and a 10 MB name in ``run`` over 600 s and 7.9 GB.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["id", "name", "email", "role", "timezone", "availability", "goals", "expertise"]
ROWS = [
    ["m1", "Ana", "ana@x.example", "mentor", "UTC", "Mon-Fri 09:00-17:00", "", "python"],
    ["e1", "Bo", "bo@x.example", "mentee", "UTC", "Mon-Fri 09:00-17:00", "python", ""],
]


def _xlsx(rows: list[list[str]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rezip(data: bytes, extra: dict[str, bytes], change: dict[str, object]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename in change:
                body = change[info.filename](body)  # type: ignore[operator]
            dst.writestr(info.filename, body)
        for name, body in extra.items():
            dst.writestr(name, body)
    return out.getvalue()


def cases(tmp: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    base = _xlsx([HEADER, *ROWS])
    dim = _rezip(
        base,
        {},
        {
            "xl/worksheets/sheet1.xml": lambda b: re.sub(
                rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:XFD1048576"/>', b
            )
        },
    )
    out["xlsx, dimension A1:XFD1048576"] = tmp / "dimension.xlsx"
    out["xlsx, dimension A1:XFD1048576"].write_bytes(dim)
    sst = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        b'uniqueCount="1"><si><t>' + b"A" * 400_000_000 + b"</t></si></sst>"
    )
    out["xlsx, 400 MB shared string"] = tmp / "string.xlsx"
    out["xlsx, 400 MB shared string"].write_bytes(_rezip(base, {"xl/sharedStrings.xml": sst}, {}))
    name = "N" * 10_000_000
    lines = [",".join(HEADER)] + [",".join([r[0], name if r[0] == "m1" else r[1], *r[2:]]) for r in ROWS]
    out["csv, 10 MB name"] = tmp / "name.csv"
    out["csv, 10 MB name"].write_text("\n".join(lines) + "\n")
    many = [",".join(HEADER)] + [
        f"x{i},N,x{i}@x.example,mentee,UTC,Mon 09:00-10:00,go," for i in range(2_000_000)
    ]
    out["csv, 2 million rows"] = tmp / "rows.csv"
    out["csv, 2 million rows"].write_text("\n".join(many)[: 49 * 1024 * 1024] + "\n")
    out["json, 100,000 levels deep"] = tmp / "deep.json"
    out["json, 100,000 levels deep"].write_text("[" * 100_000 + "]" * 100_000)
    return out


_CHILD = """
import atexit, runpy, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            print("PEAK_KB", line.split()[1], file=sys.stderr)
atexit.register(peak)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, path in cases(Path(tmp)).items():
            size = path.stat().st_size
            t = time.perf_counter()
            command = [
                sys.executable,
                "-c",
                _CHILD,
                str(ROOT / "cli.py"),
                "--workspace",
                tmp,
                "validate",
                str(path),
            ]
            proc = subprocess.run(command, capture_output=True, text=True, timeout=900)
            wall = time.perf_counter() - t
            lines = (proc.stderr + proc.stdout).splitlines()
            peak = next((int(x.split()[1]) for x in lines if x.startswith("PEAK_KB")), 0)
            first = next((x for x in lines if not x.startswith("PEAK_KB")), "")[len(str(path)) :][:90]
            print(
                f"{label:32} {size / 1024:>9,.0f} KB  exit {proc.returncode}  {wall:6.1f} s  "
                f"peak {peak / 1024:6,.0f} MB  {first}"
            )


if __name__ == "__main__":
    main()
