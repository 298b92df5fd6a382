"""Who meets whom: candidates, scores, the optimal assignment and its explanations."""
