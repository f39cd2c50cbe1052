"""The signup service: a sign-up endpoint, and a worker that sends the welcome email."""
