"""Use cases that combine the core with gateways; shared by the handlers and the CLI."""
