"""Who meets whom, and when: the plan above the matcher and the scheduler."""
