//! Declarations: what an API module tells the engine about itself. An API is data
//! (base path, resources, schemas, state machines) plus a few domain hooks.
//!
//! The plain data is defined in `model`; the declarations that hold hooks over the
//! engine (`ApiDecl`, `ResourceDecl`, `Hooks`, `View`) in `kernel`, beside the engine
//! they refer to. This module gathers them under one name.

pub use crate::events::Events;
pub use crate::kernel::{
    ApiDecl, HookFuture, Hooks, Observe, Observer, ResourceDecl, View, ViewFuture,
};
pub use crate::model::{NewJob, Operations, Reference, StateMachine, WriteKind};
