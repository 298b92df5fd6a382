"""Who meets whom, and when: the plan that matching and scheduling make together.

``plan(cohort, program, continuity, uid_salt=..., progress=...)`` is the one entry point: it
builds one ``planner.instance.PlanInstance`` (the slot-aware candidates, seats, bans, protected
pairs, limits) and runs the named steps of ``planner.plan`` on it: the matching, the schedule, the
repair (joint model or forbid-and-rematch rounds, ``planner.repair``), the final pass, the search
and the explanations. ``Continuity`` carries what earlier runs and cycles impose, and
``planner.continuity`` builds it from the history. ``planner`` sits above
``matcher`` and ``scheduler`` (which import neither each other nor ``planner``) and below the
pipeline, which loads, plans, stores and writes.
"""

from planner.continuity import Continuity
from planner.plan import Plan, plan

__all__ = ["Continuity", "Plan", "plan"]
