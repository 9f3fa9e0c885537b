"""The rules of the gateway: entities, errors, services and the ports they need.

Nothing here knows about GraphQL, HTTP or the ORM.
"""
