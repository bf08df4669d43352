"""68-point facial landmarks: detectors, alignment and index maps."""
