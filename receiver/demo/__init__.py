"""Generated demo data: a realistic population of installations sending weekly payloads (`demo-data`)."""
