//! The `evidentia` command: parses arguments, calls the library, maps outcomes to exit codes
//! (0 good, 1 a verification found a problem, 2 bad usage or unreadable input, 3 and 4 from
//! the verdict, 130 stopped by Ctrl-C or SIGTERM: see cli/progress.rs).
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) if e.use_stderr() => {
            // A usage error quotes the user's arguments: shown plain and escaped, like every
            // other message (an argument may carry an escape sequence).
            eprint!("{}", evidentia::term::escape_text(&e.render().to_string()));
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "evidentia: error: {}",
                evidentia::term::escape_text(&e.to_string())
            );
            let integrity = e
                .downcast_ref::<evidentia::Error>()
                .is_some_and(evidentia::Error::is_integrity_failure);
            ExitCode::from(if integrity { 1 } else { 2 })
        }
    }
}

/// `evidentia ls | head` closes the pipe early; that is the reader's choice, not an error, so
/// leave quietly (as ripgrep does) instead of reporting a panic.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
