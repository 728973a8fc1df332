"""Errors, money, time and progress: the stdlib-only base every layer may import."""
