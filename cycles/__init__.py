"""Cycles: what changed between one mentoring cycle and the next, and the program over time.

``cycles.diff`` compares two cycle snapshots; ``cycles.changes`` words the result for one person,
in their own local time; ``cycles.history`` gives the figures of the program over all its cycles
and ``cycles.introductions`` the introductions at a cycle's end. All are pure: the store and the
CLI feed them and render their output.
"""
