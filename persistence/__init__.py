"""Tortoise ORM models, the repositories that turn rows into domain entities,
the unit of work and the migrations."""
