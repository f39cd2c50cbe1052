"""Helpers shared by the test suites: where the cluster is, and names for throwaway topics."""
