"""High-level APIs: inference on images."""
