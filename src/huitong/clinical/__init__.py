"""Clinical workflows that span resources: critical-value alerts and their acknowledgement (a closed loop)."""
