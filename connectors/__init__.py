"""Source connectors: the interface, the registry, and one package per ad platform."""
