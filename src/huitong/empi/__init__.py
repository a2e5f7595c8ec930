"""Master patient index: one person across every source system."""
