"""Stage 2, canonical tables -> the panels and descriptive views the models read."""
