"""Per-sample data transforms."""
