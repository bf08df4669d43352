"""Feature encoders."""
