//! The top of report.html: who wrote the page (the sender, at export), what the reader must run
//! to verify it, and the sender's own check shown as such, never as a verdict.

use crate::bundle::verify::BundleReport;
use crate::core::checkpoint::Checkpoint;
use crate::verdict::Verdict;

use super::{bullet_list, esc, mono, table_head, tr};

/// The command a reader runs to verify this bundle for themselves.
pub(super) fn verify_command(cp: &Checkpoint) -> String {
    format!(
        "evidentia verify <bundle> --trust <your trust file> --checkpoint-hash {}",
        cp.text_hash().to_hex()
    )
}

/// First on the page: who wrote it, and that only the reader's own check is a verdict. The
/// sender computed everything below; a forger who alters the bundle rewrites this page too.
pub(super) fn written_by_the_sender(out: &mut String, cp: &Checkpoint) {
    put!(
        out,
        "<section class=\"verdict sender\" id=\"verdict\">\n\
         <p class=\"state\">Written by the sender: this page is not a verification</p>\n\
         <p>The sender's software wrote this page when it exported the bundle. Whoever can alter \
         the bundle can alter this page too, so nothing on it proves who signed the evidence or \
         that it is unaltered. To verify, obtain the signers' public keys from them directly \
         (your trust file) and run, offline:</p>\n<p><code>{}</code></p>\n\
         <p>Then confirm with the sender, by another channel (telephone, in person), the \
         checkpoint hash (SHA-256 of the checkpoint text) <span class=\"mono\">{}</span>.</p>\n\
         </section>\n",
        esc(&verify_command(cp)),
        cp.text_hash().to_hex()
    );
}

/// The sender's own check at export, shown as such: never as a verdict.
pub(super) fn self_check(out: &mut String, v: &BundleReport) {
    const PASSED: &str = "The sender's software checked the bundle when it wrote it, against \
        the keys the bundle itself carries. This is the sender's statement, not a verdict: it \
        does not show who signed.";
    const PENDING: &str = "This page was written before the bundle was checked.";
    const FAILED: &str =
        "The bundle did not pass the sender's own checks when it was written: do not rely on it.";
    // A report not yet decided (pending) still says FAILED, with no problem found.
    let v = &v.core;
    let (class, state, lede) = match (v.verdict, v.ok()) {
        (Verdict::Failed, true) => ("wait", "not yet run", PENDING),
        (Verdict::Failed, false) => ("bad", "FAILED", FAILED),
        _ => ("self", "every check passed", PASSED),
    };
    put!(
        out,
        "<section class=\"verdict {class}\" id=\"self-check\">\n\
         <p class=\"state\">Sender's self-check at export: {state}</p>\n<p>{lede} See \
         <a href=\"#how-to-verify\">How to verify</a>.</p>\n"
    );
    bullet_list(out, "What the sender's check found", &v.proven);
    bullet_list(out, "What it does not show", &v.not_proven);
    if !v.ok() {
        put!(out, "<h4>Problems ({})</h4>\n", v.problem_count());
        table_head(out, "", &["Item", "Code", "Detail"]);
        for p in v.problems() {
            tr(out, &[esc(&p.item), mono(p.code), esc(&p.detail)]);
        }
        out.push_str("</tbody></table>\n");
    }
    let warnings: Vec<String> = v.warnings().map(|w| w.detail.clone()).collect();
    bullet_list(out, "Warnings", &warnings);
    out.push_str("</section>\n");
}
