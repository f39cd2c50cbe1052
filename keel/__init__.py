"""The `keel` command: one entry point over the packages' own command groups."""
