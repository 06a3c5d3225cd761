"""Code shared by the approval and deploy functions: event model, settings, AWS adapters."""
