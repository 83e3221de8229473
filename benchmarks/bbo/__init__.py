"""The bayesmark black-box optimisation benchmark: problems, methods, scoring, runner."""
