"""Tests against a real Docker Engine: a private dockerd, libnet drivers served as plugins."""
