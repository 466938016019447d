"""Stage 6, result objects -> what a reader sees: tables, figures, words, site, citation.
Never estimates: it imports no model, inference or study module."""
