"""Ways to run keel: the local broker and registry, and (later) images and manifests."""
