"""Mail delivery adapters for the domain's ``Mailer`` port."""
