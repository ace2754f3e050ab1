//! Unit tests of the schedule runtime.
