//! `certlog`: the certlog client's command line (see `certlog --help`).

/// jemalloc, as certlogd: `certlog load --read` spent a sixth of its CPU in glibc's allocator.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    certlog_client::cli::main()
}
