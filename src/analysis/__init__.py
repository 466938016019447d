"""Kyrgyz-Tajik border violence study: data sources, panels, hypotheses and reports."""

__version__ = "0.1.0"
