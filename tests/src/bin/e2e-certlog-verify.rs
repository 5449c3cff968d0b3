//! `certlog-verify`, built as a target of the end-to-end tests (see Cargo.toml).

fn main() -> std::process::ExitCode {
    certlog_verify::main()
}
