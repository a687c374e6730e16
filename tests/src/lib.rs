//! End-to-end tests live in `tests/`; this library only hosts shared helpers.
