//! The shipped docs/verify-bundle.py must reach the verdict evidentia reaches: the helpers of
//! this module tree call [`assert_script_agrees`] on every bundle they verify, honest or forged,
//! so each adversarial case is also a case for the script. Plus the cases where the script was
//! once weaker than the tool.

use std::collections::BTreeSet;

use super::*;
use crate::common::{hand_check, hand_check_codes, script_tools_present};

/// Runs the script on `bundle` with the workspace key trusted and asserts the same exit code
/// and the same set of problem codes as evidentia's (`rust_exit`, `rust_codes`). A tar bundle
/// is skipped with a notice: the script reads directories only.
pub(crate) fn assert_script_agrees(
    ws: &Workspace,
    bundle: &Path,
    rust_exit: i32,
    rust_codes: &[String],
) {
    if !script_tools_present() {
        return;
    }
    if !fs::symlink_metadata(bundle).is_ok_and(|m| m.is_dir()) {
        eprintln!(
            "NOTICE: {} is not a directory; verify-bundle.py not run",
            bundle.display()
        );
        return;
    }
    let (exit, text) = hand_check(bundle, &ws.path("signer.pub"), None);
    let ours: BTreeSet<String> = hand_check_codes(&text).into_iter().collect();
    let theirs: BTreeSet<String> = rust_codes.iter().cloned().collect();
    assert_eq!(
        (exit, &ours),
        (rust_exit, &theirs),
        "verify-bundle.py and evidentia disagree on {} (left: the script):\n{text}",
        bundle.display()
    );
}
