"""CDK stacks and constructs for the fraud-detection MLOps platform (one Stage per environment)."""
