"""The reviewers' floor: the review queue, accounts and the web UI over the store."""
