"""The imagegen Pulumi program: typed stack settings, one component per concern, offline preview."""
