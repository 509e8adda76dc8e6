"""Pure core: config, compiler, policy validation, exact lifecycle evaluator, resolution, guard. No boto3 here."""
