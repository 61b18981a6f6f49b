"""Bundled local platforms Sweep crawls on a fresh machine: a marketplace, an app store and a forum."""
