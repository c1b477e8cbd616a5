//! No library code: the suites live in `tests/` (see `tests/common/mod.rs` for the helpers).
