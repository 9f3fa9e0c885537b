"""What the test suite and the bench share: real processes, an SMTP sink, throwaway
PostgreSQL databases, a GraphQL client of the gateway and the settings tests start it with.

Nothing here is a test; every module is importable without pytest's fixtures.
"""
