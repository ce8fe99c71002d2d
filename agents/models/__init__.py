"""Model operations: catalog, discovery, comparison, routing, fallback chains and retries."""
