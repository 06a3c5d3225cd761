"""Stacks: each composes constructs and wires their permissions; no resource logic lives here."""
