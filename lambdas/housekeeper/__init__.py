"""ECR Housekeeper: env tags on deploy, lifecycle policies in step with one central config."""
