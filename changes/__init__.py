"""Cycles: what changed between one mentoring cycle and the next (pairs, slots, people).

``cycles.diff`` compares two cycle snapshots; ``cycles.changes`` words the result for one person,
in their own local time. Both are pure: the store and the CLI feed them and render their output.
"""
