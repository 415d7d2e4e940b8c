"""Results: a lazy table model over the core ResultSet, and the tab that shows it."""
