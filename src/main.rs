use std::process::ExitCode;

fn main() -> ExitCode {
    kfpx::main_entry()
}
