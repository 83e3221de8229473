"""Per-suggestion overhead of dialed samplers beside Optuna's."""
