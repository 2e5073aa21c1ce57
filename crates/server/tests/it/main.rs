//! Integration tests: the real server on a free loopback port over a real SQLite file,
//! driven over HTTP. One test binary (modules below) keeps link time down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod process;
mod support;

mod assurance_cluster;
mod catalog;
mod catalog_changes;
mod chain;
mod cli;
mod cluster;
mod correlation;
mod crash;
mod crud;
mod demo;
mod errors;
mod events;
mod form_query;
mod formats;
mod hostile;
mod impact;
mod inventory;
mod jobs;
mod openapi;
mod ops;
mod order_events;
mod order_validation;
mod ordering;
mod outage;
mod patch;
mod pools;
mod qualification;
mod query;
mod readme;
mod service_problem;
mod service_quality;
mod startup;
mod ticket_close;
mod together;
mod trouble_ticket;
