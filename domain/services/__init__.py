"""Stateless services: each receives its collaborators and owns one use case."""
