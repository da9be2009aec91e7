//! A bundle re-signed by an attacker's fresh key that claims the real signer's name, with the
//! attacker's public key in place of the real one and every manifest recomputed: only the
//! recipient's own trust file can tell, and without one there is no VERIFIED and no exit 0.

use evidentia::archive::key_file_name;
use evidentia::core::note::SignedNote;
use evidentia::keyfile;

use super::*;

/// Re-signs the bundle's checkpoint with `impostor.key` and swaps the carried public keys.
fn resign_as_impostor(ws: &Workspace, bundle: &Path) {
    let (code, _, stderr) = run(
        ws,
        &[
            "key",
            "generate",
            "--out",
            "impostor",
            "--signer",
            "signer",
            "--unencrypted",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let impostor = keyfile::load(
        &ws.path("impostor.key"),
        || -> evidentia::Result<keyfile::Passphrase> { panic!("test keys are unencrypted") },
    )
    .expect("load key");
    assert_eq!(impostor.name, "signer");
    let checkpoint = bundle.join("data/checkpoint");
    let note = SignedNote::parse(&fs::read_to_string(&checkpoint).expect("read checkpoint"))
        .expect("parse checkpoint");
    fs::write(
        &checkpoint,
        SignedNote::sign(&note.text, &[&impostor]).render(),
    )
    .expect("write checkpoint");
    for entry in fs::read_dir(bundle.join("data/keys")).expect("list keys") {
        fs::remove_file(entry.expect("entry").path()).expect("remove real key");
    }
    let public = impostor.verifier();
    fs::write(
        bundle.join("data/keys").join(key_file_name(&public)),
        format!("{public}\n"),
    )
    .expect("plant impostor key");
    rebag(bundle);
}

#[test]
fn bundle_resigned_by_an_impostor_claiming_the_signers_name() {
    let (ws, bundle, _) = exported();
    resign_as_impostor(&ws, &bundle);

    // The recipient's trust file holds the real key: the impostor's signature counts for
    // nothing.
    let (code, report) = verify_json(&ws, &bundle, &TRUST);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["verdict"], "failed", "{report}");
    assert_eq!(Workspace::problem_codes(&report), ["signature-missing"]);
    assert_eq!(
        report["checkpoint"]["signatures"][0]["status"], "unknown-key",
        "{report}"
    );
    differential::assert_script_agrees(&ws, &bundle, 1, &Workspace::problem_codes(&report));

    // Integrity only: the bundle is intact under the keys it carries, which says nothing
    // about who signed: exit 3, never 0, never VERIFIED.
    let (code, report) = verify_json(&ws, &bundle, &["--integrity-only"]);
    assert_eq!(code, 3, "{report}");
    assert_eq!(report["verdict"], "intact-unauthenticated", "{report}");
    let (code, text) = verify_text(&ws, &bundle, &["--integrity-only"]);
    assert_eq!(code, 3, "{text}");
    assert!(!text.contains("VERIFIED"), "{text}");
    assert!(
        text.contains("INTACT BUT SIGNER NOT AUTHENTICATED"),
        "{text}"
    );

    // Neither option: refused as bad usage, the bundle not judged.
    let (code, text) = verify_text(&ws, &bundle, &[]);
    assert_eq!(code, 2, "{text}");
}
