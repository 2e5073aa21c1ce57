//! The store's integration suite, one test binary (each binary links on its own):
//! `writes` (concurrent transactions and the job queue) and `transfer`, sharing
//! `common` (a fresh database on either backend).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod transfer;
mod writes;
