//! The `reims-verify` binary: parse arguments, run, map the outcome to an exit code.

fn main() {
    std::process::exit(reims_verify::run_cli());
}
