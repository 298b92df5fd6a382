"""People's data: the catalogue covers the schema, export is complete, erase leaves no byte."""

from __future__ import annotations

import asyncio
import csv
import json
import re
import shutil
import sqlite3
from pathlib import Path

import httpx
import icalendar
import pytest
import recurring_ical_events

from server import create_app
from store import Workspace, ended_pairs
from store.privacy import CATALOGUE, LABEL, Kind, pseudonym_of, unclassified
from tests.cli_helpers import invoke, rows

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
PID, NAME, EMAIL = "zed.quill-7", "Zebulon Quillfeather", "zebulon.q@erase.example"
NEEDLES = (PID, NAME, EMAIL)


def roster(path: Path, *, with_subject: bool = True) -> Path:
    """The sample roster with its first mentor renamed to the test's subject (an id, name and
    email that occur nowhere by chance), optionally without them."""
    text = (SAMPLE / "participants.csv").read_text(encoding="utf-8")
    text = re.sub(r"\be1001\b", PID, text)
    text = text.replace("Margaret Okafor", NAME).replace("margaret.okafor@northwind.example", EMAIL)
    if not with_subject:
        text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith(PID + ","))
    path.write_text(text, encoding="utf-8")
    return path


def write_feedback(path: Path, pairs: list[tuple[str, str]], no: set[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "partner_id", "continue", "rating", "comment"])
        for m, e in pairs:
            said = "no" if (m, e) in no else "yes"
            w.writerow([m, e, said, "3", f"about {e}: fine"])
            w.writerow([e, m, "yes", "4", f"{NAME} was kind" if m == PID else ""])
    return path


def move_cycle(ws: Path, start: str) -> None:
    toml = (ws / "program.toml").read_text(encoding="utf-8")
    toml = re.sub(r"^start = \S+", f"start = {start}", toml, flags=re.MULTILINE)
    (ws / "program.toml").write_text(toml, encoding="utf-8")


def served(ws: Path, urls: list[str]) -> dict[str, tuple[int, bytes]]:
    """GET each feed URL from the ASGI app of `serve` (the same code uvicorn runs)."""
    app = create_app(ws)

    async def fetch() -> dict[str, tuple[int, bytes]]:
        out = {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            for url in urls:
                r = await c.get("/feeds/" + url.rsplit("/feeds/", 1)[1])
                out[url] = (r.status_code, r.content)
        return out

    try:
        return asyncio.run(fetch())
    finally:
        app.close()


def unfold(data: bytes) -> str:
    return re.sub(r"\r\n[ \t]", "", data.decode("utf-8"))


def assert_no_needle(data: bytes, where: str) -> None:
    low = data.lower()
    for needle in NEEDLES:
        assert needle.lower().encode() not in low, f"{needle!r} left in {where}"


# --------------------------------------------------------------------------- catalogue


def test_catalogue_classifies_every_table_and_column_of_the_live_schema(tmp_path: Path) -> None:
    with Workspace(tmp_path) as ws:
        assert unclassified(ws.connection) == []
        # the check is real: a new table or column that nobody classified is reported
        ws.connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, person_id TEXT, body TEXT)")
        ws.connection.execute("ALTER TABLE feedback ADD COLUMN mood TEXT")
        problems = unclassified(ws.connection)
    assert "table 'notes' is not in store.privacy.CATALOGUE" in problems
    assert "column feedback.mood is not classified in store.privacy.CATALOGUE" in problems


def test_every_personal_or_private_column_has_a_neutral_value() -> None:
    for spec in CATALOGUE:
        for column, kind in spec.columns.items():
            if kind in (Kind.PERSONAL, Kind.PRIVATE):
                assert column in spec.neutral, f"{spec.name}.{column}"


# --------------------------------------------------------------------------- the story


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Cycle 1 with the subject, who says no to their mentee; cycle 2 without them."""
    ws = tmp_path_factory.mktemp("ws")
    shutil.copy(SAMPLE / "program.toml", ws / "program.toml")
    code, _, err = invoke(ws, "-q", "run", str(roster(ws / "p1.csv")), "--out", "c1")
    assert code == 0, err
    pairs = [(r["mentor_id"], r["mentee_id"]) for r in rows(ws / "c1" / "matches.csv")]
    mine = [p for p in pairs if PID in p]
    assert mine, "the subject must be paired for the test to mean anything"
    code, _, err = invoke(
        ws, "cycle", "close", "--feedback", str(write_feedback(ws / "fb1.csv", pairs, set(mine)))
    )
    assert code == 0, err
    move_cycle(ws, "2027-08-02")
    code, _, err = invoke(ws, "-q", "rematch", str(roster(ws / "p2.csv", with_subject=False)), "--out", "c2")
    assert code == 0, err
    code, out, err = invoke(ws, "person", "export", PID)
    assert code == 0, err
    export = json.loads(out)
    before = {p.name: p.read_bytes() for p in (ws / "c2" / "feeds").glob("*.ics")}
    urls = {r["id"]: r["url"] for r in rows(ws / "c2" / "feeds" / "index.csv")}
    urls_c1 = {r["id"]: r["url"] for r in rows(ws / "c1" / "feeds" / "index.csv")}
    served_before = served(ws, list(urls.values()))
    return {
        "ws": ws,
        "pairs": pairs,
        "mine": mine,
        "export": export,
        "before": before,
        "urls": urls,
        "subject_url": urls_c1[PID],
        "served_before": served_before,
    }


def test_export_holds_every_row_of_the_person_and_no_secret(story: dict) -> None:
    export, ws = story["export"], story["ws"]
    assert export["person_id"] == PID and export["names"] == [NAME] and export["emails"] == [EMAIL]
    con = sqlite3.connect(ws / "mentorsync.db")
    try:
        for spec in CATALOGUE:
            if not spec.exported_by:
                continue
            where = " OR ".join(f"{c} = ?" for c in spec.exported_by)
            n = con.execute(
                f"SELECT count(*) FROM {spec.name} WHERE {where}", [PID] * len(spec.exported_by)
            ).fetchone()[0]
            assert len(export["tables"].get(spec.name, [])) == n, spec.name
        token_hashes = [
            r[0] for r in con.execute("SELECT token_hash FROM feed_tokens WHERE person_id = ?", (PID,))
        ]
    finally:
        con.close()
    tables = export["tables"]
    assert {r["cycle_id"] for r in tables["participants"]} == {1}
    assert tables["participants"][0]["goals"] == [] and tables["participants"][0]["name"] == NAME
    assert {(r["mentor_id"], r["mentee_id"]) for r in tables["pairs"]} == set(story["mine"])
    assert len(tables["series"]) == len(story["mine"]) and tables["events"]
    given = tables["feedback"]
    assert all(r["person_id"] == PID for r in given) and {r["comment"] for r in given} >= {
        f"about {story['mine'][0][1]}: fine"
    }
    assert tables["feed_tokens"] and "token_hash" not in tables["feed_tokens"][0]
    text = json.dumps(export)
    token = story["subject_url"].rsplit("/", 1)[1].removesuffix(".ics")
    assert token not in text and not any(h in text for h in token_hashes)
    assert f"{NAME} was kind" not in text  # what others said about them is theirs
    assert [c["id"] for c in export["cycles"]] == [1]
    # stable: the same document twice, keys sorted
    code, out, _ = invoke(ws, "person", "export", PID, "--out", str(ws / "export.json"))
    assert code == 0
    again = json.loads((ws / "export.json").read_text(encoding="utf-8"))
    assert {k: v for k, v in again.items() if k != "exported_at"} == {
        k: v for k, v in export.items() if k != "exported_at"
    }
    assert list(again) == sorted(again)


@pytest.fixture(scope="module")
def erased(story: dict) -> dict:
    ws = story["ws"]
    code, _, err = invoke(ws, "person", "erase", PID)  # no --yes: asks, and "no" on empty input
    assert code == 1 and "Aborted" in err
    code, out, err = invoke(ws, "person", "erase", PID, "--yes", "--json", "--out", "c1", "--out", "c2")
    assert code == 0, err
    return {**story, "result": json.loads(out)}


def test_erase_leaves_no_byte_in_database_wal_outputs_or_served_feeds(erased: dict) -> None:
    ws = erased["ws"]
    for f in ws.iterdir():
        if f.name.startswith("mentorsync.db"):
            assert_no_needle(f.read_bytes(), f.name)
    assert (ws / "mentorsync.db-wal").stat().st_size == 0 if (ws / "mentorsync.db-wal").exists() else True
    for f in sorted(ws.rglob("*")):
        if f.is_file() and f.parts[len(ws.parts)] in ("c1", "c2"):
            assert_no_needle(f.read_bytes(), str(f.relative_to(ws)))
    answers = served(ws, [*erased["urls"].values(), erased["subject_url"]])
    for url, (_status, body) in answers.items():
        assert_no_needle(body, url)
    assert answers[erased["subject_url"]][0] == 404
    code, _, err = invoke(ws, "person", "export", PID)
    assert code == 2 and "nothing is held" in err


def test_others_feeds_change_only_in_the_label_and_stay_valid(erased: dict) -> None:
    ws, before = erased["ws"], erased["before"]
    after = {p.name: p.read_bytes() for p in (ws / "c2" / "feeds").glob("*.ics")}
    assert set(after) == set(before)  # same people, same addresses
    changed = 0
    for name, old in before.items():
        expected = unfold(old).replace(f"{NAME} <{EMAIL}>", LABEL).replace(NAME, LABEL)
        assert unfold(after[name]) == expected, name
        changed += after[name] != old
        meetings = [
            sorted(
                str(e["DTSTART"].dt)
                for e in recurring_ical_events.of(cal).between((2027, 1, 1), (2028, 6, 1))
            )
            for cal in (icalendar.Calendar.from_ical(old), icalendar.Calendar.from_ical(after[name]))
        ]
        assert meetings[1] == meetings[0], name  # the same meetings, still expandable
    assert changed >= 2  # the subject's former mentee and the coordinator
    partner = erased["mine"][0][1]
    feed = served(ws, [erased["urls"][partner]])[erased["urls"][partner]]
    assert feed[0] == 200 and f"with {LABEL}".encode() in unfold(feed[1]).encode()
    # the served documents are the re-published files
    for _url, (status, body) in served(ws, list(erased["urls"].values())).items():
        assert status == 200
        assert body in after.values()


def test_erasing_again_only_vacuums(erased: dict) -> None:
    """(Runs before the re-join test below, which brings the id back.)"""
    code, out, err = invoke(erased["ws"], "person", "erase", PID, "--yes")
    assert code == 0, err
    assert "already erased" in out
    code, _, err = invoke(erased["ws"], "person", "erase", "nobody-here", "--yes")
    assert code == 2 and "nothing is held about 'nobody-here'" in err


def test_a_no_boundary_with_the_erased_person_holds_when_they_rejoin(erased: dict) -> None:
    ws, mine = erased["ws"], erased["mine"]
    with Workspace(ws) as con:
        secret = con.connection.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0]
        pseudo = pseudonym_of(secret, PID)
        assert all(
            (pseudo if m == PID else m, pseudo if e == PID else e) in ended_pairs(con) for m, e in mine
        )
        assert set(mine) <= ended_pairs(con, [PID, "someone"])
        assert not set(mine) & ended_pairs(con)
    pairs2 = [(r["mentor_id"], r["mentee_id"]) for r in rows(ws / "c2" / "matches.csv")]
    code, _, err = invoke(
        ws, "cycle", "close", "--feedback", str(write_feedback(ws / "fb2.csv", pairs2, set()))
    )
    assert code == 0, err
    move_cycle(ws, "2028-02-07")
    # They re-join with their former mentee as the only other person: the rules allow the pair
    # (it passed them in cycle 1 and is a candidate again), only the stored "no" forbids it.
    partner = mine[0][1]
    lines = roster(ws / "all.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (ws / "p3.csv").write_text(
        lines[0] + "".join(x for x in lines[1:] if x.split(",")[0] in (PID, partner)), encoding="utf-8"
    )
    code, _, err = invoke(ws, "-q", "rematch", str(ws / "p3.csv"), "--out", "c3")
    assert code == 0, err
    assert (PID, partner) in {(r["mentor_id"], r["mentee_id"]) for r in rows(ws / "c3" / "candidates.csv")}
    assert rows(ws / "c3" / "matches.csv") == []
    assert [r["id"] for r in rows(ws / "c3" / "unmatched.csv") if r["role"] == "mentee"] == [partner]
    urls3 = {r["id"]: r["url"] for r in rows(ws / "c3" / "feeds" / "index.csv")}
    assert urls3[PID] != erased["subject_url"]  # an erased address never comes back
    # erasing someone whose meetings are planned in the open cycle is refused, nothing changes
    db = (ws / "mentorsync.db").read_bytes()
    code, _, err = invoke(ws, "person", "erase", PID, "--yes")
    assert code == 2 and "open cycle" in err and "--mid-cycle" in err
    assert (ws / "mentorsync.db").read_bytes() == db


def test_erase_after_a_mid_cycle_departure(tmp_path: Path) -> None:
    """Someone who left mid-cycle lives on in a run record (their row and cut series): erased too."""
    ws = tmp_path
    shutil.copy(SAMPLE / "program.toml", ws / "program.toml")
    move_cycle(ws, "2026-10-05")  # started before today, so the departure cuts met meetings
    code, _, err = invoke(ws, "-q", "run", str(roster(ws / "p1.csv")), "--out", "out")
    assert code == 0, err
    mine = [(r["mentor_id"], r["mentee_id"]) for r in rows(ws / "out" / "matches.csv") if PID in r.values()]
    assert mine
    code, _, err = invoke(
        ws, "-q", "rematch", str(roster(ws / "p2.csv", with_subject=False)), "--mid-cycle", "--out", "out"
    )
    assert code == 0, err
    partner_url = {r["id"]: r["url"] for r in rows(ws / "out" / "feeds" / "index.csv")}[mine[0][1]]
    feed = served(ws, [partner_url])[partner_url][1]
    assert NAME.encode() in unfold(feed).encode()  # history: the meetings they had
    code, out, err = invoke(ws, "person", "export", PID)
    assert code == 0, err
    assert json.loads(out)["records"]["runs"]  # the departure record is part of the export
    code, out, err = invoke(ws, "person", "erase", PID, "--yes")  # the last output directory: out
    assert code == 0, err
    for f in sorted(ws.rglob("*")):
        if f.is_file() and f.name not in ("p1.csv", "p2.csv"):  # the coordinator's own input files
            assert_no_needle(f.read_bytes(), str(f.relative_to(ws)))
    status, body = served(ws, [partner_url])[partner_url]
    assert status == 200 and f"with {LABEL}".encode() in unfold(body).encode()
    assert_no_needle(body, "served feed")
    cal = icalendar.Calendar.from_ical(body)
    assert list(recurring_ical_events.of(cal).between((2026, 10, 1), (2027, 6, 1)))


def test_scrub_replaces_whole_tokens_only() -> None:
    from store.privacy import Subject, scrub_text

    s = Subject("ann", "erased-0123", ("Ann Li",), ("Ann.Li@Example.org",))
    text = "Ann Li <ann.li@example.org> (ann) meets anna, ann.b and Joann; ann li in lower case"
    assert scrub_text(text, s) == (
        f"{LABEL} <> (erased-0123) meets anna, ann.b and Joann; {LABEL.lower()} in lower case"
    )


def test_a_namesake_keeps_their_name_and_references_become_the_pseudonym(tmp_path: Path) -> None:
    from cohort.program import Program
    from store import import_cohort, load_cohort
    from store.privacy import erase_person, residue
    from tests.factories import make_cohort, make_person

    cohort = make_cohort(
        make_person("ann.b", "mentor", name="Ann Bell", email="ann@x.example"),
        make_person(
            "ann.c",
            "mentee",
            name="Ann Bell",
            email="ann.c@x.example",
            avoid=frozenset({"ann.b"}),
            manager_id="ann.b",
        ),
    )
    with Workspace(tmp_path) as ws:
        import_cohort(ws, cohort, Program())
        report = erase_person(ws, "ann.b")
        assert residue(ws, report.subject) == []
        people = {p.id: p for p in load_cohort(ws, 1).people}
    pseudo = report.subject.pseudonym
    assert set(people) == {pseudo, "ann.c"}
    assert people[pseudo].name == LABEL and people[pseudo].email == "" and not people[pseudo].goals
    assert people["ann.c"].name == "Ann Bell"  # someone else's name is theirs
    assert people["ann.c"].avoid == frozenset({pseudo}) and people["ann.c"].manager_id == pseudo
