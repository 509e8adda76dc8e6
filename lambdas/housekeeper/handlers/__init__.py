"""Lambda entry points: Powertools decorators, parsing, one call into logic."""
