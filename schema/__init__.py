"""The GraphQL face of the gateway.

``types``, ``context`` and ``errors`` are the vocabulary that resolvers speak;
``root`` assembles Query and Mutation from the resolvers, and ``view`` serves the
schema over HTTP.
"""
