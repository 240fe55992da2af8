//! Tests of the public API against the examples verified with kubectl.
