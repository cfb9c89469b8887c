"""Data: read sources, snapshot, split and profile datasets."""
