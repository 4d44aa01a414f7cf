"""HTTP glue: the only package besides app/main.py that imports FastAPI."""
