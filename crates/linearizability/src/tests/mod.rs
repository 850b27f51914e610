//! Unit tests: hand-written histories, randomized histories (with a brute-force oracle),
//! the recorder, and a performance sanity check.

mod basic;
mod random;
mod recorder;
mod support;
