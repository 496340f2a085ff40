//! A deterministic simulation of the workflow: the real state machine
//! definition (`statemachine/export.asl.json`), interpreted for the subset of
//! ASL it uses, driving the real use cases over the in-memory ports on a
//! manual clock. Executions can be interleaved step by step, killed, and
//! faults injected, so property tests and the chaos run exercise the same
//! transitions the deployed workflow takes.

pub mod asl;
pub mod chaos;
pub mod invariants;
pub mod world;

pub use asl::{Execution, Finish, TaskError};
pub use world::World;
