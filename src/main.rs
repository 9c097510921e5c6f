//! The `igauth` binary. The command line lives in the library (`igauth::commands`), so each
//! command can use what it needs without widening the library's interface.

fn main() -> std::process::ExitCode {
    igauth::commands::main()
}
