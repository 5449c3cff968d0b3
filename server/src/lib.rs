//! certlogd, the certlog log service: certifiers publish product security certificates and
//! their status changes over gRPC into an append-only Merkle log; everyone reads it back, with
//! proofs, over gRPC and the C2SP tlog-tiles HTTP API.
//!
//! | module | what it is |
//! |---|---|
//! | [`storage`] | the storage trait, its sled and in-memory backends |
//! | [`sequencer`] | the write path: batching, rules, atomic durable commits, checkpoints |
//! | [`log`] | the log as front ends see it: submissions and reads with proofs |
//! | [`grpc`], [`http`] | the certlog.v1 gRPC services and the tile API |
//! | [`keys`], [`history`] | the keys, and the record of the largest tree the log key signed |
//! | [`server`] | wiring and the listener |
//! | [`tls`] | TLS and client certificates on the listener |
//!
//! Every format and algorithm comes from `certlog-verifier`.

pub mod cli;
pub mod config;
pub mod cosigner;
pub mod grpc;
pub mod history;
pub mod http;
pub mod keys;
pub mod limits;
pub mod log;
pub mod metrics;
pub mod rate_limit;
pub mod reader;
pub mod sequencer;
pub mod server;
pub mod status_map;
pub mod storage;
pub mod tls;
