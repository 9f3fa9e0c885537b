"""Everything that sees an HTTP request: the app factory, the GraphQL view and GraphiQL,
the middleware, the routes (forward auth, health, JWK Set and discovery, metrics), the
refresh-cookie transport and the logging of requests."""
