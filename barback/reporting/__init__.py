"""Reports: HTML/PDF/PNG session reports, the history report, and CSV/JSON export."""
