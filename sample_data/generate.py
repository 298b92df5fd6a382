"""Synthetic participants files for demos, tests and benchmarks.

    python sample_data/generate.py --people 500 --mentors 150 --seed 7 --out /tmp/cohort.csv
    python sample_data/generate.py --from sample_data/participants.csv --out sample_data/participants.xlsx

The cohorts look like a global company's: time zones weighted by headcount, availability in local
working hours (with early and late windows that make cross-zone pairs possible), goals drawn from
a skewed distribution while some topics have few mentors, reporting lines within departments, a
few avoid and prefer lists, blackouts and personal cadences. The same seed gives the same file.

``--hours broad`` gives everyone long working days instead (a start between 06:00 and 09:00 and an
end between 18:00 and 22:00 on most weekdays), so that most pairs share hours even across the
world: the shape of the large benchmark cohort (``benchmarks/bench_run.py``), where nearly every
pair passes the time rule and the best-K limit decides. The default (``ordinary``) is unchanged.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cohort.load import COLUMNS, LIST_COLUMNS, people_from_rows, read_table  # noqa: E402
from cohort.model import Cohort  # noqa: E402

# (zone, weight, extra language spoken by some people there)
ZONES: tuple[tuple[str, int, str | None], ...] = (
    ("America/New_York", 16, None),
    ("America/Chicago", 6, None),
    ("America/Los_Angeles", 12, None),
    ("America/Sao_Paulo", 6, "pt"),
    ("America/Mexico_City", 3, "es"),
    ("Europe/London", 12, None),
    ("Europe/Berlin", 9, "de"),
    ("Europe/Madrid", 3, "es"),
    ("Africa/Lagos", 2, None),
    ("Asia/Dubai", 2, "ar"),
    ("Asia/Kolkata", 13, "hi"),
    ("Asia/Singapore", 6, "zh"),
    ("Asia/Tokyo", 3, "ja"),
    ("Australia/Sydney", 5, None),
)
# (topic, how often mentees want it, how often mentors offer it): some topics are scarce.
TOPICS: tuple[tuple[str, int, int], ...] = (
    ("leadership", 14, 12),
    ("career growth", 14, 14),
    ("public speaking", 9, 5),
    ("system design", 8, 7),
    ("product management", 7, 5),
    ("data science", 6, 4),
    ("machine learning", 5, 1),
    ("negotiation", 4, 1),
    ("people management", 7, 8),
    ("stakeholder management", 5, 6),
    ("writing", 4, 3),
    ("cloud architecture", 4, 4),
    ("ux research", 3, 2),
    ("accessibility", 2, 1),
    ("work-life balance", 6, 6),
)
INTERESTS = (
    "running",
    "cycling",
    "chess",
    "cooking",
    "photography",
    "hiking",
    "music",
    "reading",
    "gardening",
    "football",
    "yoga",
    "board games",
    "travel",
    "painting",
    "climbing",
    "podcasts",
)
DEPARTMENTS = (
    "Engineering",
    "Product",
    "Design",
    "Sales",
    "Marketing",
    "Finance",
    "People",
    "Operations",
    "Data",
    "Customer Success",
)
FIRST = (
    "Ana",
    "Bruno",
    "Chen",
    "Divya",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Isabel",
    "Jonas",
    "Kavya",
    "Liam",
    "Mariana",
    "Noah",
    "Olu",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tara",
    "Uma",
    "Victor",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Arjun",
    "Beatriz",
    "Carlos",
    "Dana",
    "Emeka",
    "Fatima",
    "Greta",
    "Hana",
    "Ivan",
    "Julia",
    "Kenji",
    "Lucia",
    "Mateo",
    "Nadia",
)
LAST = (
    "Silva",
    "Müller",
    "Sharma",
    "Tan",
    "Okafor",
    "García",
    "Smith",
    "Nakamura",
    "Rossi",
    "Kowalski",
    "Iyer",
    "Johnson",
    "Fernandes",
    "Schmidt",
    "Lee",
    "Haddad",
    "Nguyen",
    "Brown",
    "Costa",
    "Patel",
    "Weber",
    "Wilson",
    "Kim",
    "Santos",
    "O'Brien",
    "Mehta",
    "Dubois",
    "Ali",
)
# Local windows people offer; the early and late ones are what makes cross-zone pairs possible.
CORE = ("09:00-11:00", "10:00-12:00", "13:00-15:00", "14:00-16:00", "15:00-17:00", "16:00-18:00")
EDGE = (
    "07:00-08:30",
    "07:30-09:00",
    "08:00-09:30",
    "17:30-19:00",
    "18:00-19:30",
    "19:00-20:30",
    "20:00-21:30",
)
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Mon-Fri", "Tue,Thu", "Mon,Wed", "Mon-Thu", "Wed-Fri")
# Broad hours: long working days on most weekdays (``--hours broad``).
BROAD_DAYS = ("Mon-Fri", "Mon-Fri", "Mon-Fri", "Mon-Thu", "Tue-Fri", "Mon-Wed,Fri")
BROAD_STARTS = ("06:00", "06:30", "07:00", "07:30", "08:00", "08:30", "09:00")
BROAD_ENDS = ("18:00", "18:30", "19:00", "19:30", "20:00", "20:30", "21:00", "21:30", "22:00")
HOURS = ("ordinary", "broad")
CYCLE_START = date(2027, 2, 1)
CYCLE_DAYS = 181


def _weighted(rng: random.Random, items: list[str], cum_weights: list[int], k: int) -> list[str]:
    """``k`` distinct items drawn by weight."""
    chosen: list[str] = []
    while len(chosen) < min(k, len(items)):
        for pick in rng.choices(items, cum_weights=cum_weights, k=k):
            if pick not in chosen and len(chosen) < k:
                chosen.append(pick)
    return chosen


def _availability(rng: random.Random) -> str:
    windows = []
    for _ in range(rng.choice((1, 2, 2, 3))):
        pool = EDGE if rng.random() < 0.45 else CORE
        windows.append(f"{rng.choice(DAYS)} {rng.choice(pool)}")
    return "; ".join(windows)


def _broad_availability(rng: random.Random) -> str:
    return f"{rng.choice(BROAD_DAYS)} {rng.choice(BROAD_STARTS)}-{rng.choice(BROAD_ENDS)}"


def generate_rows(people: int, mentors: int, seed: int = 0, hours: str = "ordinary") -> list[dict[str, str]]:
    """``people`` rows, of which ``mentors`` can mentor (about 6% of those are ``both``).

    Rows hold text cells keyed by the column names of ``docs/interface.md`` §2.1 (empty string: empty cell).
    ``hours``: ``"ordinary"`` (short local windows) or ``"broad"`` (long working days, see the module doc).
    """
    if not 0 <= mentors <= people:
        raise ValueError("need 0 <= mentors <= people")
    if hours not in HOURS:
        raise ValueError(f"unknown hours {hours!r}: use one of {', '.join(HOURS)}")
    availability = _broad_availability if hours == "broad" else _availability
    rng = random.Random(seed)
    zone_names = [z for z, _, _ in ZONES]
    zone_weights = list(itertools.accumulate(w for _, w, _ in ZONES))
    extra_language = {z: lang for z, _, lang in ZONES}
    topics = [t for t, _, _ in TOPICS]
    want = list(itertools.accumulate(w for _, w, _ in TOPICS))
    offer = list(itertools.accumulate(o for _, _, o in TOPICS))
    width = max(5, len(str(people)))
    ids = [f"u{i:0{width}d}" for i in range(1, people + 1)]
    mentor_slots = set(rng.sample(range(people), mentors))
    both_slots = {i for i in mentor_slots if rng.random() < 0.06}
    rows: list[dict[str, str]] = []
    levels: list[int] = []
    departments: list[str] = []
    by_department_level: dict[tuple[str, int], list[int]] = {}
    for i in range(people):
        role = "both" if i in both_slots else "mentor" if i in mentor_slots else "mentee"
        zone = rng.choices(zone_names, cum_weights=zone_weights)[0]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        level = rng.randint(4, 7) if role != "mentee" else rng.randint(1, 4)
        department = rng.choice(DEPARTMENTS)
        languages = ["en"]
        if extra_language[zone] and rng.random() < 0.6:
            languages.append(extra_language[zone])
        if rng.random() < 0.05:
            languages = [extra_language[zone] or "es"]  # a few do not speak the program language
        row = {column: "" for column in COLUMNS}
        row.update(
            id=ids[i],
            name=f"{first} {last}",
            email=f"{first.lower()}.{ids[i]}@example.org",
            role=role,
            timezone=zone,
            availability=availability(rng),
            interests="; ".join(rng.sample(INTERESTS, rng.randint(0, 3))),
            languages="; ".join(languages) if languages != ["en"] or rng.random() < 0.5 else "",
            department=department,
            level=str(level),
        )
        if role in ("mentee", "both"):
            row["goals"] = "; ".join(_weighted(rng, topics, want, rng.choice((1, 2, 2, 3))))
        if role in ("mentor", "both"):
            row["expertise"] = "; ".join(_weighted(rng, topics, offer, rng.randint(2, 5)))
            if rng.random() < 0.5:
                row["capacity"] = str(rng.choice((1, 2, 2, 3, 4)))
        if rng.random() < 0.1:
            row["cadence"] = rng.choice(("weekly", "monthly", "biweekly"))
        if rng.random() < 0.05:
            row["max_meetings_per_week"] = str(rng.choice((1, 2)))
        if rng.random() < 0.15:
            first_day = CYCLE_START + timedelta(days=rng.randrange(CYCLE_DAYS - 20))
            length = rng.choice((0, 2, 4, 6, 13))
            row["unavailable"] = (
                first_day.isoformat() if length == 0 else f"{first_day}..{first_day + timedelta(days=length)}"
            )
        rows.append(row)
        levels.append(level)
        departments.append(department)
        by_department_level.setdefault((department, level), []).append(i)
    # Reporting lines: a manager is someone one to three levels up in the same department (so no
    # cycles); a few managers are not in the program at all.
    for i, row in enumerate(rows):
        if rng.random() < 0.55:
            for up in (1, 2, 3):
                candidates = by_department_level.get((departments[i], levels[i] + up))
                if candidates:
                    row["manager_id"] = ids[rng.choice(candidates)]
                    break
            else:
                if rng.random() < 0.2:
                    row["manager_id"] = f"x{rng.randrange(10**width):0{width}d}"
        if people > 1 and rng.random() < 0.03:
            other = rng.randrange(people)
            if other != i:
                row["avoid"] = ids[other]
        if rows[i]["role"] == "mentee" and mentors and rng.random() < 0.04:
            other = rng.choice(sorted(mentor_slots)) if people < 5000 else rng.randrange(people)
            if other != i and ids[other] != row["avoid"]:
                row["prefer"] = ids[other]
    return rows


def generate_cohort(
    people: int, mentors: int, seed: int = 0, program: Any | None = None, hours: str = "ordinary"
) -> Cohort:
    """The cohort that loading a written ``generate_rows`` file gives, without the file round trip."""
    rows = generate_rows(people, mentors, seed, hours)
    source = f"generated:{people}:{mentors}:{seed}" + ("" if hours == "ordinary" else f":{hours}")
    return Cohort(tuple(people_from_rows(rows, program)), source=source)


def _cell(column: str, text: str) -> Any:
    """A typed spreadsheet/JSON value for a text cell (ints stay ints, lists become lists)."""
    if column in ("level", "capacity", "max_meetings_per_week") and text.lstrip("-").isdigit():
        return int(text)
    return text


def write_rows(rows: list[dict[str, str]], path: str | Path) -> None:
    """Write rows as ``.csv``, ``.xlsx`` or ``.json`` (one object per line, so lines match CSV)."""
    path = Path(path)
    columns = [c for c in COLUMNS if any(row.get(c) for row in rows)] or list(COLUMNS[:6])
    suffix = path.suffix.casefold()
    if suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    elif suffix == ".xlsx":
        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet("participants")
        sheet.append(columns)
        from openpyxl.cell import WriteOnlyCell

        def xlsx_cell(column: str, text: str) -> Any:
            value = _cell(column, text)
            if isinstance(value, str) and value.startswith("="):
                cell = WriteOnlyCell(sheet, value)
                cell.data_type = "s"  # text, not a formula
                return cell
            return value

        for row in rows:
            sheet.append([xlsx_cell(c, row[c]) if row.get(c) else None for c in columns])
        workbook.save(path)
    elif suffix == ".json":
        lines = []
        for row in rows:
            obj: dict[str, Any] = {}
            for column in columns:
                text = row.get(column, "")
                if not text:
                    continue
                if column in LIST_COLUMNS:
                    obj[column] = [item.strip() for item in text.split(";") if item.strip()]
                else:
                    obj[column] = _cell(column, text)
            lines.append(json.dumps(obj, ensure_ascii=False))
        path.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
    else:
        raise ValueError(f"unsupported output type {path.suffix!r}: use .csv, .xlsx or .json")


def rows_from_file(path: str | Path) -> list[dict[str, str]]:
    """The text cells of an existing participants file (for converting between formats)."""
    from cohort.tables import cell_text

    table = read_table(Path(path))
    return [{c: cell_text(cells.get(c)) for c in COLUMNS} for _, cells in table.rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=70)
    parser.add_argument("--mentors", type=int, default=None, help="default: 30%% of --people")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--hours", choices=HOURS, default="ordinary", help="ordinary windows, or broad working days"
    )
    parser.add_argument("--from", dest="source", type=Path, help="convert this file instead of generating")
    parser.add_argument("--out", type=Path, required=True, help="FILE.csv, FILE.xlsx or FILE.json")
    args = parser.parse_args(argv)
    if args.source:
        rows = rows_from_file(args.source)
    else:
        mentors = args.mentors if args.mentors is not None else max(1, round(args.people * 0.3))
        rows = generate_rows(args.people, mentors, args.seed, args.hours)
    write_rows(rows, args.out)
    print(f"wrote {len(rows)} people to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
