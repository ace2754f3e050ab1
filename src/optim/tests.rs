//! Unit tests of grouping, stepping, state snapshots and resumption.
