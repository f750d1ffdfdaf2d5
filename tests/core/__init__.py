"""Tests of core, one module per part of the engine."""
