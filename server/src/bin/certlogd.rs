//! `certlogd`: runs a certlog log (see `certlogd --help`).

fn main() -> std::process::ExitCode {
    certlog_server::cli::main()
}
