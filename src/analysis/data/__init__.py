"""Stage 1, raw files -> the canonical tables in data/ (build, load, contracts, readers)."""
