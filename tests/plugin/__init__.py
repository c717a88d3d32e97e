"""Docker plugin protocol: wire codecs, discovery, the HTTP client and the plugin server."""
