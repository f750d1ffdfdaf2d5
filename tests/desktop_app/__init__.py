"""Tests of the window, through pytest-qt (offscreen)."""
