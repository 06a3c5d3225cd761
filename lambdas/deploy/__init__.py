"""Deploy function: puts an Approved model package behind the environment's endpoint."""
