"""Stage 5, the registered claims: registry, engine, verdicts, robustness, comparison, and
the results store the reports read."""
