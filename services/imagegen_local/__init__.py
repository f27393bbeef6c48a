"""The local platform: the pieces that stand in for a deployed stack on one machine."""
