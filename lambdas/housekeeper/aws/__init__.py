"""One gateway per AWS service: boto3 clients with adaptive retries, paginators, project exceptions."""
