"""Code shared by the functions: event models, settings, dispatch, AWS adapters, clock and text."""
