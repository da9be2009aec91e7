//! `evidentia title`, and the case-title lines `verify` and `log` print.

use anyhow::Result;
use serde_json::json;

use evidentia::archive::case::{self, CaseState};
use evidentia::archive::Archive;

/// Shows the title, or logs a new one.
pub fn run(archive: &Archive, title: Option<&str>, json: bool) -> Result<()> {
    if let Some(title) = title {
        let id = case::set_title(archive, "title", title)?;
        errln!("case title recorded as sha256:{id}; not sealed yet: `evidentia seal` covers it");
    }
    let state = case::state(archive)?;
    if json {
        let value = json!({"origin": archive.origin(), "case": state});
        super::json::print_report("evidentia-title/1", value)?;
    } else {
        for line in lines(&state, archive.origin()) {
            outln!("{line}");
        }
    }
    Ok(())
}

/// What is known of the case title: the sealed one, a later unsealed one, or that none is
/// recorded (then the origin names the case).
pub fn lines(state: &CaseState, origin: &str) -> Vec<String> {
    let mut out = Vec::new();
    match &state.sealed {
        Some(t) => out.push(format!("case \"{}\" (record #{}, sealed)", t.title, t.index)),
        None if state.unsealed.is_none() => out.push(format!(
            "case title: none recorded (`evidentia title \"...\"` sets one); the origin {origin} names the case"
        )),
        None => {}
    }
    if let Some(t) = &state.unsealed {
        out.push(format!(
            "case \"{}\" (record #{}) is not sealed yet: run `evidentia seal` to cover it",
            t.title, t.index
        ));
    }
    out
}
