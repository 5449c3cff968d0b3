//! `certlog`: the certlog client's command line (see `certlog --help`).

fn main() -> std::process::ExitCode {
    certlog_client::cli::main()
}
