"""program.toml: defaults, unknown keys with suggestions, wrong types with how to write them, the
advanced [solver] section and the old keys it replaces."""

from __future__ import annotations

import dataclasses
import tomllib
import warnings
from datetime import date
from pathlib import Path

import pytest

from cohort.errors import InputError
from cohort.program import Program, ProgramWarning, example_toml, load_program
from tests.cli_helpers import invoke

ROOT = Path(__file__).parent.parent


def _problems(tmp_path: Path, text: str) -> list:
    path = tmp_path / "program.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_program(path)
    return info.value.problems


def test_default_and_example_agree():
    data = tomllib.loads(example_toml())
    assert data["cycle"]["weeks"] == 26 and data["rules"]["default_capacity"] == 2


def test_example_loads_back_to_the_defaults(tmp_path):
    path = tmp_path / "program.toml"
    path.write_text(example_toml(), encoding="utf-8")
    assert load_program(path) == Program()


def test_unknown_key_with_suggestion_and_line(tmp_path):
    (problem,) = _problems(tmp_path, "[cycle]\nstart = 2027-02-01\nweks = 10\n")
    assert problem.column == "cycle.weks" and problem.line == 3
    assert "did you mean 'weeks'?" in problem.hint


def test_unknown_section_with_suggestion(tmp_path):
    (problem,) = _problems(tmp_path, "[rule]\nmin_level_gap = 1\n")
    assert problem.column == "rule" and "did you mean 'rules'?" in problem.hint and problem.line == 1


def test_wrong_types_are_reported_with_key_path_all_at_once(tmp_path):
    problems = _problems(
        tmp_path, '[cycle]\nweeks = "ten"\nstart = "2027-02-01"\n[rules]\ncommon_language = "yes"\n'
    )
    by_path = {p.column: p for p in problems}
    assert set(by_path) == {"cycle.weeks", "cycle.start", "rules.common_language"}
    assert "whole number" in by_path["cycle.weeks"].hint and by_path["cycle.weeks"].line == 2
    assert "date" in by_path["cycle.start"].hint
    assert (
        "true or false" in by_path["rules.common_language"].hint
        and by_path["rules.common_language"].line == 5
    )
    assert str(by_path["cycle.weeks"]).startswith(f"{tmp_path / 'program.toml'}:2: column 'cycle.weeks':")


def test_weeks_and_end_together_is_an_error(tmp_path):
    problems = _problems(tmp_path, "[cycle]\nweeks = 10\nend = 2027-05-01\n")
    assert [p.column for p in problems] == ["cycle.end"]
    assert "keep only one" in problems[0].hint


def test_end_instead_of_weeks_sets_last_day(tmp_path):
    path = tmp_path / "program.toml"
    path.write_text("[cycle]\nstart = 2027-02-01\nend = 2027-03-01\n", encoding="utf-8")
    assert load_program(path).cycle.last_day == date(2027, 3, 1)


def test_choices_and_ranges(tmp_path):
    problems = _problems(tmp_path, '[cycle]\ncadence = "daily"\nduration_minutes = 1\n')
    assert {p.column for p in problems} == {"cycle.cadence", "cycle.duration_minutes"}


def test_sample_program_loads():
    program = load_program(ROOT / "sample_data" / "program.toml")
    assert program.cycle.start == date(2027, 2, 1) and program.cycle.weeks == 26
    assert program.cycle.cadence == "biweekly" and program.cycle.duration_minutes == 45
    assert program.cycle.holidays


# --------------------------------------------------------------------------- [solver] and old keys

OLD_KEYS = """[matching]
time_limit_seconds = 20
workers = 1
seed = 7
deterministic = true
lns_seconds = 0.5
max_candidates_per_mentee = 40
[schedule]
options_per_pair = 6
time_limit_seconds = 10
"""
NEW_KEYS = """[solver]
match_seconds = 20
workers = 1
seed = 7
deterministic = true
search_seconds = 0.5
candidates_per_mentee = 40
slot_options_per_pair = 6
schedule_seconds = 10
"""


def _load(tmp_path: Path, text: str, name: str = "program.toml") -> tuple[Program, list[str]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ProgramWarning)
        program = load_program(path)
    return program, [str(w.message) for w in caught if issubclass(w.category, ProgramWarning)]


def test_old_keys_still_read_with_a_warning_naming_the_new_key(tmp_path):
    old, said = _load(tmp_path, OLD_KEYS, "old.toml")
    new, quiet = _load(tmp_path, NEW_KEYS, "new.toml")
    assert old == new  # the solvers read the same settings: the same plan, byte for byte
    assert quiet == [] and old != Program()
    assert old.matching.lns_seconds == 0.5 and old.schedule.options_per_pair == 6
    file = tmp_path / "old.toml"
    assert (
        f"{file}:6: column 'matching.lns_seconds': warning: an old key, still read (write it in the "
        "advanced section: [solver] search_seconds = 0.5)" in said
    )
    assert (
        f"{file}:9: column 'schedule.options_per_pair': warning: an old key, still read (write it in "
        "the advanced section: [solver] slot_options_per_pair = 6)" in said
    )
    assert len(said) == 8  # one per old key


def test_candidate_pruning_is_one_knob(tmp_path):
    auto, _ = _load(tmp_path, '[solver]\ncandidates_per_mentee = "auto"\n')
    assert auto == Program()
    every, _ = _load(tmp_path, "[solver]\ncandidates_per_mentee = 0\n")
    assert every.matching.max_candidates_per_mentee == 0 and every.matching.auto_limit_pairs > 10**15
    best, _ = _load(tmp_path, "[solver]\ncandidates_per_mentee = 30\n")
    assert best.matching.max_candidates_per_mentee == 30
    old, said = _load(tmp_path, "[matching]\nauto_limit_pairs = 1000\nauto_candidates_per_mentee = 20\n")
    assert (old.matching.auto_limit_pairs, old.matching.auto_candidates_per_mentee) == (1000, 20)
    assert all("replaced by [solver] candidates_per_mentee" in w for w in said) and len(said) == 2
    (problem,) = _problems(tmp_path, '[solver]\ncandidates_per_mentee = "all"\n')
    assert str(problem).endswith(
        """:2: column 'solver.candidates_per_mentee': "all" is not allowed (write "auto" or a whole """
        "number: candidates_per_mentee = 100)"
    )


def test_an_old_key_and_its_new_key_together_is_an_error(tmp_path):
    problems = _problems(
        tmp_path,
        "[matching]\nlns_seconds = 1\nauto_limit_pairs = 9\n[solver]\n"
        "search_seconds = 3\ncandidates_per_mentee = 5\n",
    )
    assert [(p.line, p.column) for p in problems] == [
        (2, "matching.lns_seconds"),
        (3, "matching.auto_limit_pairs"),
    ]
    assert problems[0].message == "set twice: here and as [solver] search_seconds"
    assert problems[1].hint == "keep only [solver] candidates_per_mentee"


def test_solver_keys_are_checked_like_the_settings_they_set(tmp_path):
    problems = _problems(tmp_path, '[solver]\nworkers = 0\nsearch_seconds = "2"\nseeed = 1\n')
    shown = [str(p).split(": ", 1)[1] for p in problems]
    assert shown == [
        "column 'solver.workers': 0 is too small (at least 1)",
        "column 'solver.search_seconds': '2' is text, not a number (write numbers without quotes: "
        "search_seconds = 2)",
        "column 'solver.seeed': unknown key (did you mean 'seed'?)",
    ]


def test_init_lists_every_solver_key_in_the_advanced_section_only():
    text = example_toml()
    solver = text[text.index("[solver]") :]
    for key in (
        "deterministic",
        "workers",
        "seed",
        "match_seconds",
        "schedule_seconds",
        "search_seconds",
        "slot_options_per_pair",
        "candidates_per_mentee",
    ):
        assert f"\n{key} = " in solver, key
    coordinator = text[: text.index("[solver]")]
    for old in (
        "lns_seconds",
        "auto_limit_pairs",
        "max_candidates_per_mentee",
        "options_per_pair",
        "time_limit_seconds",
        "workers",
        "deterministic",
    ):
        assert f"\n{old} = " not in coordinator, old
    assert "Spent only above 3,000 candidate pairs" in solver  # the search budget says when it counts


@pytest.mark.parametrize(
    "matching",
    [
        {"max_candidates_per_mentee": 25},
        {"auto_limit_pairs": 2**62},
        {"auto_limit_pairs": 1000, "auto_candidates_per_mentee": 7},  # only the old keys say this
        {"lns_seconds": 0.0, "workers": 3, "seed": 5, "deterministic": False},
    ],
)
def test_the_example_of_any_program_loads_back_to_it(tmp_path, matching):
    program = Program(matching=dataclasses.replace(Program().matching, **matching))
    loaded, _ = _load(tmp_path, example_toml(program))
    assert loaded == program


# --------------------------------------------------------------------------- how to write a value


@pytest.mark.parametrize(
    "text, column, expected",
    [
        (
            '[cycle]\nstart = "2027-02-01"\n',
            "cycle.start",
            "'2027-02-01' is text, not a date (write dates without quotes: start = 2027-02-01)",
        ),
        (
            '[cycle]\nweeks = "26"\n',
            "cycle.weeks",
            "'26' is text, not a number (write numbers without quotes: weeks = 26)",
        ),
        (
            '[cycle]\nholidays = ["2027-03-26", 2027-03-29]\n',
            "cycle.holidays",
            "the dates are text (write dates without quotes: holidays = [2027-03-26, 2027-03-29])",
        ),
        (
            "[cycle]\nholidays = 2027-03-26\n",
            "cycle.holidays",
            "2027-03-26 is not a list (write a list in brackets: holidays = [2027-03-26])",
        ),
        (
            "[cycle]\nstart = 2027-02-01T09:00:00\n",
            "cycle.start",
            "2027-02-01 09:00:00 has a time of day (write the date alone: start = 2027-02-01)",
        ),
        (
            '[rules]\ncommon_language = "yes"\n',
            "rules.common_language",
            "'yes' is text (write true or false without quotes: common_language = true)",
        ),
        (
            "[rules]\ncommon_language = 1\n",
            "rules.common_language",
            "1 is a number (write true or false: common_language = true)",
        ),
        (
            "[program]\nname = 2027\n",
            "program.name",
            '2027 is not text (write text in quotes: name = "2027")',
        ),
        (
            "[cycle]\nweeks = 2.5\n",
            "cycle.weeks",
            "2.5 is not a whole number (write a whole number: weeks = 2)",
        ),
        (
            "[program]\nname = Northwind\n",
            "program.name",
            'not valid TOML: Invalid value (at line 2, column 8) (write text in quotes: name = "Northwind")',
        ),
        (
            "[rules]\ncommon_language = True\n",
            "rules.common_language",
            "not valid TOML: Invalid value (at line 2, column 19) (write true or false in lower case: "
            "common_language = true)",
        ),
        (
            "[cycle]\nstart = 2027-02-30\n",
            "cycle.start",
            "not valid TOML: Invalid date or datetime (at line 2, column 9) (write a real date as "
            "YYYY-MM-DD, without quotes: start = 2027-02-01)",
        ),
        (
            "[cycle]\nweeks = 2\nweeks = 3\n",
            "cycle.weeks",
            "not valid TOML: Cannot overwrite a value (at line 3, column 10) (each key once per section: "
            "`weeks` is given again)",
        ),
        (
            "[cycle]\nholidays = [2027-03-26 2027-03-29]\n",
            "cycle.holidays",
            "not valid TOML: Unclosed array (at line 2, column 24) (separate list items with commas: "
            "holidays = [2027-03-26, 2027-03-29])",
        ),
    ],
)
def test_a_toml_mistake_says_how_to_write_the_value(tmp_path, text, column, expected):
    (problem,) = _problems(tmp_path, text)
    line = text.count("\n") if "weeks = 3" in text else 2
    assert str(problem) == f"{tmp_path / 'program.toml'}:{line}: column '{column}': {expected}"


def test_a_section_that_is_not_a_table_names_its_line(tmp_path):
    (problem,) = _problems(tmp_path, '# settings\n\ncycle = "soon"\n')
    assert problem.line == 3 and problem.column == "cycle" and problem.hint == "write [cycle]"


def test_the_cli_prints_each_old_key_warning_once(tmp_path):
    (tmp_path / "program.toml").write_text("[matching]\nlns_seconds = 1.5\n", encoding="utf-8")
    code, _, err = invoke(tmp_path, "validate", str(ROOT / "sample_data" / "participants.csv"))
    assert code == 0, err
    expected = (
        "program.toml:2: column 'matching.lns_seconds': warning: an old key, still read "
        "(write it in the advanced section: [solver] search_seconds = 1.5)"
    )
    assert err.splitlines().count(expected) == 1
