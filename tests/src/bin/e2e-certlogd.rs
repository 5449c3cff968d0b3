//! `certlogd`, built as a target of the end-to-end tests (see Cargo.toml), with the allocator
//! certlogd has.

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    certlog_server::cli::main()
}
