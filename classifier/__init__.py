"""Classify: jieba + TF-IDF + a calibrated linear model, hardened against evasion."""

LABELS = ("call_bomber", "caller_id_spoof", "sms_bomber", "modem_pool", "voice_gateway", "benign")
HARMFUL = LABELS[:-1]
