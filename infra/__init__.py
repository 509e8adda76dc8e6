"""The CDK app of ECR Housekeeper: one stack of small, purpose-named constructs (see infra/stack.py)."""
