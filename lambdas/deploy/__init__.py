"""Deploy function: puts an Approved model package behind the endpoint and publishes its drift baseline."""
