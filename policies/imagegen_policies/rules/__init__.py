"""The policies, one module per concern; ``imagegen_policies.pack`` collects them in registry order."""
