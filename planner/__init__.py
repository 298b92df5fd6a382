"""Who meets whom, and when: the plan that matching and scheduling make together.

``plan(cohort, program, continuity, uid_salt=..., progress=...)`` is the one entry point: the
slot-aware candidate build, the matching, the schedule, the repair (joint model or
forbid-and-rematch rounds) and the explanations. ``Continuity`` carries what earlier runs and
cycles impose, and ``planner.continuity`` builds it from the history. ``planner`` sits above
``matcher`` and ``scheduler`` (which import neither each other nor ``planner``) and below the
pipeline, which loads, plans, stores and writes.
"""

from planner.continuity import Continuity
from planner.plan import Plan, plan

__all__ = ["Continuity", "Plan", "plan"]
