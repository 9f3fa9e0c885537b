"""The adapter of the domain's ``IdentityProviders`` port: OpenID Connect providers by discovery."""
