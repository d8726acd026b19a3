"""The resources library: downloads, packages, release notes and articles per software level."""
