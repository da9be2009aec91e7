//! The `evidentia` command: parses arguments, calls the library, maps outcomes to exit codes
//! (0 good, 1 a verification found a problem, 2 bad usage or unreadable input).
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("evidentia: error: {e}");
            let integrity = e
                .downcast_ref::<evidentia::Error>()
                .is_some_and(evidentia::Error::is_integrity_failure);
            ExitCode::from(if integrity { 1 } else { 2 })
        }
    }
}
