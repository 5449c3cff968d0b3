//! `certlogd`: runs a certlog log (see `certlogd --help`).

/// jemalloc serves certlogd's many short-lived buffers (requests, batches, storage blocks)
/// with less CPU than glibc's allocator: on two cores, 15,200 to 19,000 fresh appends/s against
/// 12,900 to 14,600, and a fifth to a third more proofs and bundles read per second at 13.5
/// million entries (README, Performance). `.cargo/config.toml` sets how soon it returns memory.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    certlog_server::cli::main()
}
