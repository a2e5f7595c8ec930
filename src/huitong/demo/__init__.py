"""Demo data: a few synthetic patients so a new user sees Huitong working at once."""
