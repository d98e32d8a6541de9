"""Detectors that apply everywhere: contact, finance, network, person, location, secrets, demographics, text."""
