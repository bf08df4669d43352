"""68-point facial landmark detectors."""
