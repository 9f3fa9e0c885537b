"""Adapters for the domain's cryptographic ports: bcrypt password hashing, JOSE access
tokens (joserfc) and the signing-key formats (PEM, JWK) they are read from."""
