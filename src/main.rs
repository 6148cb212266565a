//! The `reims-verify` binary: parse arguments, run, map the outcome to an exit code.

/// See [`reims_verify::allocator`].
#[global_allocator]
static ALLOCATOR: reims_verify::allocator::Allocator = reims_verify::allocator::Allocator;

fn main() {
    reims_verify::allocator::tune();
    std::process::exit(reims_verify::run_cli());
}
