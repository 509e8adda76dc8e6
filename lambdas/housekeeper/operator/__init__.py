"""Operator-only code (the CLI's report and native preview). Not shipped in the Lambda asset."""
