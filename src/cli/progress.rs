//! The terminal side of long commands: a progress bar drawn from the library's
//! [`evidentia::progress`] reports, and Ctrl-C / SIGTERM turned into a stop at the command's
//! next safe point, with a line saying what was kept (exit code 130).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use evidentia::progress::{self, Progress, Unit};
use evidentia::Error;

use super::Command;

/// The exit code of a command stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells use).
pub const INTERRUPTED: u8 = 130;

/// A command that may run long: it gets a progress bar and stops cleanly on an interrupt.
pub struct LongCommand {
    name: &'static str,
    json: bool,
    /// What an interrupt keeps, when the CLI knows better than the library (which stops the
    /// same way inside export's or diff's verification as in `verify`).
    kept: Option<String>,
}

impl LongCommand {
    pub fn of(command: &Command) -> Option<LongCommand> {
        let (name, json, kept) = match command {
            Command::Add(_) => ("add", false, None),
            Command::Verify { json, .. } => ("verify", *json, None),
            Command::Export(args) => (
                "export",
                false,
                Some(format!(
                    "nothing written at {}",
                    evidentia::term::escape(&args.out().to_string_lossy())
                )),
            ),
            Command::Diff { json, .. } => (
                "diff",
                *json,
                Some("diff not finished — no verdict".to_string()),
            ),
            Command::Mirror { json, .. } => ("mirror", *json, None),
            _ => return None,
        };
        Some(LongCommand { name, json, kept })
    }

    /// Draws progress on a terminal (never when stderr is piped, never with --json), and
    /// catches SIGINT and SIGTERM.
    pub fn start(&self) {
        if !self.json && std::io::stderr().is_terminal() {
            progress::set_reporter(Box::new(Bar::default()));
        }
        stop_on_signals();
    }

    /// The command's outcome, after an interrupt: the line saying what was kept, exit 130.
    pub fn finish(&self, outcome: anyhow::Result<ExitCode>) -> anyhow::Result<ExitCode> {
        progress::finish();
        let stopped = match outcome {
            Err(e) => match e.downcast::<Error>() {
                Ok(Error::Interrupted { kept }) => self.kept.clone().unwrap_or(kept),
                Ok(other) => return Err(other.into()),
                Err(e) => return Err(e),
            },
            // The interrupt came after the last point where stopping was possible.
            Ok(_) if progress::interrupted() => format!(
                "{} had already committed its work, shown above; nothing of it was undone",
                self.name
            ),
            Ok(code) => return Ok(code),
        };
        errln!("interrupted: {stopped}");
        Ok(ExitCode::from(INTERRUPTED))
    }
}

/// The first signal asks the command to stop at its next safe point; a second one stops at
/// once, which the archive survives as it survives a crash (docs/RELIABILITY.md).
fn stop_on_signals() {
    let installed = ctrlc::set_handler(|| {
        if progress::interrupted() {
            eprintln!("interrupted again: stopped at once; the archive stays as after a crash (run `evidentia verify`), a temporary output may be left beside the one asked for");
            std::process::exit(i32::from(INTERRUPTED));
        }
        progress::interrupt();
    });
    // Without the handler the default applies: the process stops at once, which is safe too.
    let _ = installed;
}

/// An indicatif bar for the stage in progress; a new bar per stage.
#[derive(Default)]
struct Bar {
    current: Mutex<Option<ProgressBar>>,
}

impl Progress for Bar {
    fn stage(&self, label: &str, total: u64, unit: Unit) {
        let template = match unit {
            Unit::Bytes => {
                "{spinner} {msg} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left) {wide_bar}"
            }
            Unit::Items => "{spinner} {msg} {pos}/{len} ({per_sec}, {eta} left) {wide_bar}",
        };
        // stderr's target draws at most 20 times a second, so per-file updates cost little.
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(label.to_string());
        if let Ok(mut current) = self.current.lock() {
            if let Some(old) = current.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn advance(&self, done: u64) {
        if let Ok(current) = self.current.lock() {
            if let Some(bar) = current.as_ref() {
                bar.inc(done);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut current) = self.current.lock() {
            if let Some(bar) = current.take() {
                bar.finish_and_clear();
            }
        }
    }
}

/// `evidentia completions SHELL`: the completion script, on standard output.
pub fn completions(shell: clap_complete::Shell) {
    use clap::CommandFactory;
    let mut command = super::Cli::command();
    clap_complete::generate(shell, &mut command, "evidentia", &mut std::io::stdout());
}

/// `evidentia man --out DIR`: one page per command and subcommand (evidentia.1,
/// evidentia-add.1, evidentia-key-generate.1 …), each a new file unless `--force`.
pub fn man_pages(
    out: &std::path::Path,
    existing: evidentia::archive::output::Existing,
) -> anyhow::Result<Vec<PathBuf>> {
    use clap::CommandFactory;
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    let mut root = super::Cli::command();
    root.build();
    let mut pages = Vec::new();
    collect_pages(&root, "evidentia", &mut pages);
    let mut rendered = Vec::new();
    for (name, command) in pages {
        let mut page = Vec::new();
        clap_mangen::Man::new(command.display_name(name.clone())).render(&mut page)?;
        rendered.push((out.join(format!("{name}.1")), page));
    }
    // All or nothing: a page already there is refused before any page is written.
    let taken = rendered
        .iter()
        .find(|(path, _)| path.symlink_metadata().is_ok());
    let mut order: Vec<&(PathBuf, Vec<u8>)> = taken.into_iter().collect();
    order.extend(&rendered);
    for (path, page) in order {
        let shared = evidentia::archive::output::SHARED;
        evidentia::archive::output::write_new(path, page, shared, existing)?;
    }
    Ok(rendered.into_iter().map(|(path, _)| path).collect())
}

fn collect_pages(command: &clap::Command, name: &str, pages: &mut Vec<(String, clap::Command)>) {
    pages.push((name.to_string(), command.clone()));
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        collect_pages(sub, &format!("{name}-{}", sub.get_name()), pages);
    }
}
