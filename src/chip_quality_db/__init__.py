"""chip_quality_db: the runtime services import beside the generated query package."""
