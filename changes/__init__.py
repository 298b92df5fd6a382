"""Changes: what changed between one mentoring cycle and the next (pairs, slots, people).

``changes.diff`` compares two cycle snapshots; ``changes.wording`` words the result for one person,
in their own local time. Both are pure: the store and the CLI feed them and render their output.
"""
