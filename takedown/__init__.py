"""Takedowns: evidence, reports through channels, rechecks, escalation and relist detection.

Inside the package imports point down too (no cycles, counting imports in functions):

    reports (the filing step) → outbox, delivery, withdrawals → platforms → policy → channels/
    recheck → relist, page_check, platforms, policy, escalation        (never the outbox)
    evidence → archive, screenshot, files, fetch_policy
    channels/ adapters → channels.base, channels.text, page_check, files (never an orchestrator)
"""
