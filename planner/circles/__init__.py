"""Group mentoring circles, planned in one place: who meets in which circle, when, and across cycles.

* ``model``: the circle plan's types (``Circle``, ``CirclePlan``, ``CircleContinuity``, ...).
* ``pool``: who asks for a circle, who may join one after the pairs, and each leader's circles.
* ``forming``: the circle rules (the catalogue's pair rules of ``cohort.rules`` between any two
  people of a circle), candidate circles by depth-first search, the CP-SAT set packing and the
  slotting around everyone's pair meetings (``form_circles``, ``plan_circles``).
* ``slots``: a common recurring slot for k people, the scheduler's pair slot test generalised.
* ``continuity``: which circles of the last cycle continue, and the boundaries feedback sets.
* ``outputs``: what circles add to a run: ``circles.csv``, circle rows of ``unmatched.csv``,
  ``summary.json``'s figures, the stored records and ``explain``'s circle lines.

The store keeps circles in ``store.circles``, ``report.circles`` draws the report's section and
``pipeline.circles`` writes a run's circle files.
"""
