"""Optimization: pricing catalog, rightsizing, idle and waste, commitments (issue #5)."""
