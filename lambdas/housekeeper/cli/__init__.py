"""The operator CLI, `housekeeper`."""
