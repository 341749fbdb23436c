"""An example service on chip_quality_db: see app.py, and `make serve` to run it."""
