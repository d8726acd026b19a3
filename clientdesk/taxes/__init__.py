"""Tax rules: which tax a customer's country implies, from when, and who is exempt."""
