"""The webhook adapter: signs events (Standard Webhooks) and POSTs them to the operator's endpoints."""
