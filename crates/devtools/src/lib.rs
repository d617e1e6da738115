//! Dev-only tools for benchmarks and plan checks: the `filmlog-dev` binary and the data generator it
//! runs. Kept out of the production `filmlog` binary: nothing here belongs on a server.

pub mod datagen;
