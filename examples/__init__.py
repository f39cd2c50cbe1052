"""Small services that show keel in use; not part of the installed distribution."""
