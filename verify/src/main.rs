//! `certlog-verify`: checks certlog proofs, checkpoints and proof bundles offline.

fn main() -> std::process::ExitCode {
    certlog_verify::main()
}
