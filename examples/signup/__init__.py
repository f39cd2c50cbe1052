"""A sign-up service that enqueues a welcome email as a keel job."""
