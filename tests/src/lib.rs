//! Helpers for multi-process integration tests.
